import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  signStandardWebhook,
  SignatureCheckError,
  standardWebhookHeaders,
  verifyStandardWebhook,
  verifyStripeStyle,
  verifyZendesk,
} from '../../shared/webhooks/signing.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const SECONDS = Math.floor(NOW / 1000);
const BODY = '{"type":"failover.started","data":{"site":"store-12"}}';

function reason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureCheckError);
    return (error as SignatureCheckError).reason;
  }
  throw new Error('expected a SignatureCheckError');
}

describe('Standard Webhooks', () => {
  const secret = generateWebhookSecret();

  it('generates whsec_ secrets of 32 random bytes that the reference library accepts', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
    expect(() => new Webhook(secret)).not.toThrow();
  });

  it('signs exactly as the reference library does', () => {
    for (const body of [BODY, '', 'ünïcødé ✓', '{"a":"b\\n"}'])
      expect(signStandardWebhook(secret, 'msg_1', SECONDS, body)).toBe(
        new Webhook(secret).sign('msg_1', new Date(NOW), body),
      );
  });

  it('verifies what the reference library signs, among several signatures', () => {
    const signature = new Webhook(secret).sign('msg_2', new Date(NOW), BODY);
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(SECONDS),
      'webhook-signature': `v1,Zm9vYmFyYmF6 v2,ignored ${signature}`,
    };
    expect(verifyStandardWebhook(secret, headers, BODY, { now: NOW })).toEqual({ id: 'msg_2', timestamp: SECONDS });
  });

  it('refuses a changed body, another id, a missing header and a timestamp out of tolerance', () => {
    const headers = standardWebhookHeaders(secret, 'msg_3', SECONDS, BODY);
    expect(reason(() => verifyStandardWebhook(secret, headers, `${BODY} `, { now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyStandardWebhook(secret, { ...headers, 'webhook-id': 'msg_4' }, BODY, { now: NOW }))).toBe(
      'mismatch',
    );
    expect(
      reason(() => verifyStandardWebhook(secret, { ...headers, 'webhook-signature': undefined }, BODY, { now: NOW })),
    ).toBe('missing');
    expect(reason(() => verifyStandardWebhook(secret, headers, BODY, { now: NOW + 301_000 }))).toBe('stale');
    expect(reason(() => verifyStandardWebhook(secret, headers, BODY, { now: NOW - 301_000 }))).toBe('stale');
    expect(verifyStandardWebhook(secret, headers, BODY, { now: NOW + 299_000 }).id).toBe('msg_3');
    expect(
      reason(() => verifyStandardWebhook(secret, { ...headers, 'webhook-timestamp': 'soon' }, BODY, { now: NOW })),
    ).toBe('malformed');
  });
});

describe('Zendesk', () => {
  const secret = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
  const timestamp = '2026-06-01T12:00:00Z';
  const signature = createHmac('sha256', secret)
    .update(timestamp + BODY)
    .digest('base64');
  const headers = {
    'x-zendesk-webhook-signature': signature,
    'x-zendesk-webhook-signature-timestamp': timestamp,
    'x-zendesk-webhook-invocation-id': '8350205582',
  };

  it('verifies base64 HMAC-SHA256 of timestamp + body, keyed with the secret text; the signed parts are the key', () => {
    const key = `sig:${SECONDS}:${signature}`;
    expect(verifyZendesk(secret, headers, BODY, { now: NOW })).toEqual({ id: key, timestamp: SECONDS });
    // The invocation id is not signed: another one, or none, is the same message.
    const { 'x-zendesk-webhook-invocation-id': _id, ...noId } = headers;
    expect(verifyZendesk(secret, noId, BODY, { now: NOW }).id).toBe(key);
    const other = { ...headers, 'x-zendesk-webhook-invocation-id': '8350205599' };
    expect(verifyZendesk(secret, other, BODY, { now: NOW }).id).toBe(key);
  });

  it('refuses another body, another secret, and an old timestamp', () => {
    expect(reason(() => verifyZendesk(secret, headers, '{}', { now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyZendesk('other', headers, BODY, { now: NOW }))).toBe('mismatch');
    expect(reason(() => verifyZendesk(secret, headers, BODY, { now: NOW + 360_000 }))).toBe('stale');
  });
});

describe('Stripe-style', () => {
  const secret = 'whsec_stripe_style_secret';
  const mac = (s: string, t: number) => createHmac('sha256', s).update(`${t}.${BODY}`).digest('hex');

  it('verifies t=,v1= with hex HMAC-SHA256 of "t.body", any v1 matching (secret rotation)', () => {
    const header = `t=${SECONDS},v1=${mac('old-secret', SECONDS)},v1=${mac(secret, SECONDS)},v0=whatever`;
    const out = verifyStripeStyle(secret, { 'stripe-signature': header }, BODY, { now: NOW });
    expect(out.timestamp).toBe(SECONDS);
    expect(out.id).toBe(`sig:${SECONDS}:${mac(secret, SECONDS)}`);
  });

  it('uses the body’s event id as the replay key, and a header of the source’s choosing', () => {
    const body = '{"id":"evt_123","action":"failover"}';
    const v1 = createHmac('sha256', secret).update(`${SECONDS}.${body}`).digest('hex');
    const out = verifyStripeStyle(secret, { 'x-crm-signature': `t=${SECONDS},v1=${v1}` }, body, {
      now: NOW,
      header: 'X-CRM-Signature',
    });
    expect(out.id).toBe('evt_123');
  });

  it('refuses a missing or malformed header, a wrong signature, an old timestamp', () => {
    expect(reason(() => verifyStripeStyle(secret, {}, BODY, { now: NOW }))).toBe('missing');
    expect(
      reason(() => verifyStripeStyle(secret, { 'stripe-signature': `v1=${mac(secret, SECONDS)}` }, BODY, { now: NOW })),
    ).toBe('malformed');
    expect(
      reason(() =>
        verifyStripeStyle(secret, { 'stripe-signature': `t=${SECONDS},v1=${mac('x', SECONDS)}` }, BODY, { now: NOW }),
      ),
    ).toBe('mismatch');
    const old = SECONDS - 360;
    expect(
      reason(() =>
        verifyStripeStyle(secret, { 'stripe-signature': `t=${old},v1=${mac(secret, old)}` }, BODY, { now: NOW }),
      ),
    ).toBe('stale');
  });
});
