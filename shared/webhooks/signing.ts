import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The prefix of Standard Webhooks secrets; the rest is the base64 of the HMAC key. */
export const SECRET_PREFIX = 'whsec_';

/** Headers are looked up in lower case; Node and API Gateway v2 already deliver them so. */
export type HeaderMap = Readonly<Record<string, string | undefined>>;

/** Why a signed request was refused; `code` tells the signature from the clock apart. */
export class SignatureCheckError extends Error {
  readonly reason: 'missing' | 'malformed' | 'mismatch' | 'stale';

  constructor(reason: SignatureCheckError['reason'], message: string) {
    super(message);
    this.name = 'SignatureCheckError';
    this.reason = reason;
  }
}

/** A new Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret; throws on anything else. */
export function standardWebhookKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new RangeError('expected a secret starting with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 16) throw new RangeError('expected a whsec_ secret of at least 16 bytes');
  return key;
}

/**
 * The `webhook-signature` of a message per the Standard Webhooks spec: `v1,` and the base64 HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` keyed with the secret's bytes. `timestamp` is in epoch seconds.
 */
export function signStandardWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', standardWebhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of a message. */
export function standardWebhookHeaders(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(secret, id, timestamp, body),
  };
}

export interface VerifyOptions {
  /** Epoch milliseconds. */
  readonly now: number;
  /** How far the timestamp may be from `now`, either way. @default 300 */
  readonly toleranceSeconds?: number;
}

/**
 * A verified message: its id (the replay key) and its timestamp (epoch seconds). The id is always made of what the
 * signature covers, so that a captured request cannot be made new by changing an unsigned header.
 */
export interface VerifiedMessage {
  readonly id: string;
  readonly timestamp: number;
}

/**
 * Verifies a Standard Webhooks request: the three headers are present, the timestamp is within the tolerance, and
 * one of the space-separated `v1,<base64>` signatures matches (several are sent while a secret is rotated).
 * The replay key is `webhook-id`, which the signature covers (a retry keeps it). Throws SignatureCheckError otherwise.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: HeaderMap,
  body: string,
  options: VerifyOptions,
): VerifiedMessage {
  const id = headers['webhook-id'];
  const stamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (!id || !stamp || !signature)
    throw new SignatureCheckError('missing', 'missing webhook-id, webhook-timestamp or webhook-signature');
  const timestamp = epochSeconds(stamp);
  checkSkew(timestamp, options);
  const expected = signStandardWebhook(secret, id, timestamp, body).slice(3);
  const candidates = signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  if (!candidates.some((c) => safeEqual(c, expected)))
    throw new SignatureCheckError('mismatch', 'no webhook-signature matches');
  return { id, timestamp };
}

/** Zendesk's signature: base64 HMAC-SHA256 of `<timestamp><body>`, keyed with the signing secret's text. */
export function signZendesk(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}${body}`).digest('base64');
}

/**
 * Verifies a Zendesk webhook (`x-zendesk-webhook-signature` over `x-zendesk-webhook-signature-timestamp`, an
 * ISO 8601 time, and the body). The replay key is the timestamp and the signature: `x-zendesk-webhook-invocation-id`
 * is not signed, so anyone holding a captured request could send it again under a new one.
 */
export function verifyZendesk(
  secret: string,
  headers: HeaderMap,
  body: string,
  options: VerifyOptions,
): VerifiedMessage {
  const signature = headers['x-zendesk-webhook-signature'];
  const stamp = headers['x-zendesk-webhook-signature-timestamp'];
  if (!signature || !stamp)
    throw new SignatureCheckError(
      'missing',
      'missing x-zendesk-webhook-signature or x-zendesk-webhook-signature-timestamp',
    );
  const timestamp = epochSeconds(stamp);
  checkSkew(timestamp, options);
  if (!safeEqual(signature, signZendesk(secret, stamp, body)))
    throw new SignatureCheckError('mismatch', 'x-zendesk-webhook-signature does not match');
  return { id: `sig:${timestamp}:${signature}`, timestamp };
}

/** A Stripe-style signature header: `t=<epoch seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signStripeStyle(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${stripeMac(secret, timestamp, body)}`;
}

/**
 * Verifies a Stripe-style signature header (`header`, default `stripe-signature`): `t=` within the tolerance and
 * one of its `v1=` values matching. The replay key is the body's top-level `id` (Stripe's event id) when it has
 * one, else the timestamp and signature.
 */
export function verifyStripeStyle(
  secret: string,
  headers: HeaderMap,
  body: string,
  options: VerifyOptions & { readonly header?: string },
): VerifiedMessage {
  const name = (options.header ?? 'stripe-signature').toLowerCase();
  const value = headers[name];
  if (!value) throw new SignatureCheckError('missing', `missing ${name}`);
  const parts = value.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const stamps = parts.filter(([k]) => k === 't').map(([, v]) => v ?? '');
  const macs = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v!);
  if (stamps.length !== 1 || macs.length === 0)
    throw new SignatureCheckError('malformed', `${name} needs one t= and at least one v1=`);
  const timestamp = epochSeconds(stamps[0]!);
  checkSkew(timestamp, options);
  const expected = stripeMac(secret, timestamp, body);
  const match = macs.find((m) => safeEqual(m, expected));
  if (!match) throw new SignatureCheckError('mismatch', `no v1 signature in ${name} matches`);
  return { id: bodyId(body) ?? `sig:${timestamp}:${match}`, timestamp };
}

function stripeMac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Epoch seconds of a header value: digits (seconds) or an ISO 8601 time. */
function epochSeconds(value: string): number {
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new SignatureCheckError('malformed', `unreadable timestamp "${value.slice(0, 40)}"`);
  return Math.floor(ms / 1000);
}

function checkSkew(timestamp: number, options: VerifyOptions): void {
  const tolerance = options.toleranceSeconds ?? 300;
  const skew = timestamp - Math.floor(options.now / 1000);
  if (Math.abs(skew) > tolerance)
    throw new SignatureCheckError(
      'stale',
      `timestamp is ${Math.abs(skew)} s ${skew < 0 ? 'old' : 'in the future'}; at most ${tolerance} s allowed`,
    );
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function bodyId(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const id = (parsed as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : undefined;
  } catch {
    return undefined;
  }
}
