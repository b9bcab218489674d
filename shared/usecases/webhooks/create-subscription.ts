import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import * as z from 'zod/mini';
import '../../contracts/zod-english.ts';
import { Id } from '../../config/names.ts';
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS } from '../../contracts/vocabulary.ts';
import type { FailoverConfig } from '../../config/model.ts';
import type { Clock } from '../../ports/clock.ts';
import { type SubscriptionSecrets, type WebhookStore, type WebhookSubscription } from '../../ports/webhook-store.ts';
import type { SecretBox } from '../../webhooks/secret-box.ts';
import { generateWebhookSecret } from '../../webhooks/signing.ts';
import { InvalidSubscriptionError } from './errors.ts';
import { viewOf, type SubscriptionView } from './subscription-view.ts';

/** Headers a subscription may not set: the signature, the body's framing, the hop. */
const RESERVED_HEADERS = /^(webhook-.*|content-type|content-length|host|connection|transfer-encoding|user-agent)$/i;

export const FormatOptionsInput = z.strictObject({
  source: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  projectKey: z.optional(
    z.string().check(z.regex(/^[A-Z][A-Z0-9_]{1,254}$/, 'expected a Jira project key such as OPS')),
  ),
  issueType: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  assignmentGroup: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  callerId: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  category: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  closeCode: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(255))),
  groupId: z.optional(z.int().check(z.positive())),
  tags: z.optional(z.array(z.string().check(z.minLength(1)).check(z.maxLength(80))).check(z.maxLength(20))),
});

/** The body of a subscription request (the API's `POST /v1/webhooks`). */
export const CreateSubscriptionInput = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).check(z.maxLength(2048)),
  format: z._default(z.enum(WEBHOOK_FORMATS), 'generic'),
  /** Empty: every event. */
  events: z._default(z.array(z.enum(WEBHOOK_EVENTS)), []),
  /** Empty: every site. */
  sites: z._default(z.array(Id), []),
  description: z._default(z.string().check(z.maxLength(500)), ''),
  options: z._default(FormatOptionsInput, {}),
  /** Extra request headers, sealed like the secret (e.g. `authorization` for a ticketing API). */
  headers: z.optional(
    z.record(
      z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'expected a header name')),
      z.string().check(z.maxLength(4096)),
    ),
  ),
  /** PagerDuty's Events v2 routing key (integration key); required for the pagerduty format. */
  routingKey: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(128))),
});
export type CreateSubscriptionInput = z.input<typeof CreateSubscriptionInput>;

export interface CreateSubscriptionDeps {
  readonly store: WebhookStore;
  readonly secretBox: SecretBox;
  readonly clock: Clock;
  /** When given, `sites` must name sites it knows. */
  readonly config?: FailoverConfig;
  /**
   * Accept http:// URLs and private, loopback or link-local hosts (the local runtime, tests). Off in the cloud: a
   * subscription must not turn the delivery worker against internal addresses.
   * @default false
   */
  readonly allowPrivateUrls?: boolean;
}

export interface CreateSubscriptionOutput {
  readonly subscription: SubscriptionView;
  /** The `whsec_` signing secret: shown this once, stored only sealed. */
  readonly secret: string;
}

/**
 * Creates a subscription: validates the request (listing every problem), generates its Standard Webhooks secret,
 * seals the secret with the routing key and extra headers, and stores it. The secret is returned once.
 */
export async function createSubscription(
  deps: CreateSubscriptionDeps,
  input: CreateSubscriptionInput,
): Promise<CreateSubscriptionOutput> {
  const parsed = CreateSubscriptionInput.safeParse(input);
  if (!parsed.success)
    throw new InvalidSubscriptionError(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`));
  const request = parsed.data;
  const problems = [
    ...urlProblems(request.url, deps.allowPrivateUrls ?? false),
    ...(request.format === 'pagerduty' && !request.routingKey ? ['routingKey: required for the pagerduty format'] : []),
    ...(request.format !== 'pagerduty' && request.routingKey ? ['routingKey: only the pagerduty format uses it'] : []),
    ...(request.format === 'jira' && !request.options.projectKey ? ['options.projectKey: required for jira'] : []),
    ...(request.format === 'opsgenie' && !/^GenieKey \S+$/.test(headerOf(request.headers, 'authorization') ?? '')
      ? ['headers.authorization: required for opsgenie, as "GenieKey <API key of an API integration>"']
      : []),
    ...Object.keys(request.headers ?? {})
      .filter((name) => RESERVED_HEADERS.test(name))
      .map((name) => `headers.${name}: set by the sender itself`),
    ...request.sites
      .filter((site) => deps.config && !deps.config.sites.some((s) => s.id === site))
      .map((site) => `sites: unknown site "${site}"`),
  ];
  if (problems.length > 0) throw new InvalidSubscriptionError(problems);

  const id = `sub_${randomBytes(12).toString('hex')}`;
  const secret = generateWebhookSecret();
  const secrets: SubscriptionSecrets = {
    secret,
    ...(request.headers ? { headers: lowerCaseKeys(request.headers) } : {}),
    ...(request.routingKey ? { routingKey: request.routingKey } : {}),
  };
  const subscription: WebhookSubscription = {
    id,
    url: request.url,
    format: request.format,
    events: [...new Set(request.events)],
    sites: [...new Set(request.sites)],
    description: request.description,
    options: request.options,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    createdAt: deps.clock.now(),
    sealed: await deps.secretBox.seal(JSON.stringify(secrets), id),
  };
  await deps.store.createSubscription(subscription);
  return { subscription: viewOf(subscription), secret };
}

function headerOf(headers: Readonly<Record<string, string>> | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Why a URL may not receive deliveries in the cloud: not https, or a local or private address. */
export function urlProblems(url: string, allowPrivate: boolean): string[] {
  if (allowPrivate) return [];
  const u = new URL(url);
  const problems: string[] = [];
  if (u.protocol !== 'https:') problems.push('url: expected https://');
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const family = isIP(host);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  const isPrivate =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.internal') ||
    (mapped !== undefined && PRIVATE.check(mapped, 'ipv4')) ||
    (family === 4 && PRIVATE.check(host, 'ipv4')) ||
    (family === 6 && PRIVATE.check(host, 'ipv6'));
  if (isPrivate) problems.push(`url: ${host} is a local or private address`);
  return problems;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
