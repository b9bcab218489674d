import type { Clock } from '../../ports/clock.ts';
import {
  DeliveryConflictError,
  type DeliveryAttempt,
  type DeliveryQueue,
  type DeliveryTicket,
  type SubscriptionSecrets,
  type WebhookDelivery,
  type WebhookStore,
  type WebhookSubscription,
} from '../../ports/webhook-store.ts';
import type { WebhookEnvelope } from '../../webhooks/events.ts';
import { deliveryUrl, renderBody } from '../../webhooks/formats.ts';
import { postWebhook, type PostResult } from '../../webhooks/http-post.ts';
import { SealedSecretError, type SecretBox } from '../../webhooks/secret-box.ts';
import { standardWebhookHeaders } from '../../webhooks/signing.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Waits before each retry: after attempt n fails, attempt n+1 comes `DELIVERY_SCHEDULE_MS[n-1]` later (10% jitter
 * either way). Ten attempts in all; the last comes about 27.7 h after the first (at least 24.9 h with the jitter),
 * so a receiver gets more than a day to come back before the delivery is given up.
 */
export const DELIVERY_SCHEDULE_MS: readonly number[] = [
  30_000,
  2 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  12 * HOUR,
];

/** How long a receiver has to answer one attempt, body included. */
export const DELIVERY_TIMEOUT_MS = 15_000;

export const USER_AGENT = 'failover-webhooks/1';

export interface DeliverDeps {
  readonly store: WebhookStore;
  readonly queue: DeliveryQueue;
  readonly secretBox: SecretBox;
  readonly clock: Clock;
  /** @default DELIVERY_SCHEDULE_MS */
  readonly schedule?: readonly number[];
  /** @default DELIVERY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** For the jitter; `() => 0.5` makes the schedule exact. @default Math.random */
  readonly random?: () => number;
  /** Told about every attempt, for logs and metrics. */
  readonly onAttempt?: (delivery: WebhookDelivery, attempt: DeliveryAttempt) => void;
}

/** How long a worker holds its claim on an attempt beyond the request's timeout. */
export const LEASE_MARGIN_MS = 30_000;

export type DeliverOutcome =
  | { readonly type: 'skipped'; readonly reason: string }
  /** Another worker holds the attempt until `retryAt`: ask again after that (its ticket may be stale by then). */
  | { readonly type: 'busy'; readonly retryAt: number }
  | { readonly type: 'cancelled'; readonly delivery: WebhookDelivery }
  | { readonly type: 'attempted'; readonly delivery: WebhookDelivery; readonly attempt: DeliveryAttempt };

/**
 * Makes the scheduled attempt a ticket asks for: renders the delivery in its subscription's format, signs it
 * (Standard Webhooks headers), POSTs it with a 15 s timeout, and records the attempt in the delivery log. A 2xx
 * delivers it; 410 Gone disables the subscription (nothing more is sent to it); anything else schedules the next
 * attempt on the queue, until the schedule is used up and the delivery is given up as failed. A ticket for a
 * delivery that is no longer pending, or that another ticket already advanced, is skipped; a disabled or deleted
 * subscription cancels the delivery without a request. Before the request, the worker claims the attempt with a
 * conditional write (a lease of the timeout plus 30 s), so that duplicate tickets (SQS delivers at least once) do not
 * send it twice; a ticket that finds the attempt claimed answers `busy`.
 */
export async function deliverWebhook(deps: DeliverDeps, ticket: DeliveryTicket): Promise<DeliverOutcome> {
  const found = await deps.store.getDelivery(ticket.subscriptionId, ticket.deliveryId);
  if (!found) return { type: 'skipped', reason: 'no such delivery' };
  const subscription = await deps.store.getSubscription(ticket.subscriptionId);
  if (!subscription?.enabled) {
    const reason = subscription
      ? `subscription disabled: ${subscription.disabledReason ?? ''}`
      : 'subscription deleted';
    const cancelled = await settle(deps.store, found, (d) =>
      d.status === 'pending' && (d.leaseUntil ?? 0) <= deps.clock.now()
        ? { ...d, status: 'cancelled', statusReason: reason, nextAttemptAt: null, leaseUntil: null }
        : null,
    );
    return cancelled ? { type: 'cancelled', delivery: cancelled } : { type: 'skipped', reason: 'not pending' };
  }
  const claim = await claimAttempt(deps, found, ticket);
  if (claim.type !== 'claimed') return claim;
  const delivery = claim.delivery;

  let result: PostResult;
  try {
    result = await attempt(deps, subscription, delivery);
  } catch (error) {
    if (!(error instanceof SealedSecretError)) throw error;
    // The subscription's secrets no longer open (its key left the ring): no attempt can ever be signed.
    const reason = `cannot open the subscription's secrets: ${error.message}`;
    const cancelled = await settle(deps.store, delivery, (d) => ({
      ...d,
      status: 'cancelled',
      statusReason: reason,
      nextAttemptAt: null,
      leaseUntil: null,
    }));
    return cancelled ? { type: 'cancelled', delivery: cancelled } : { type: 'skipped', reason };
  }
  const schedule = deps.schedule ?? DELIVERY_SCHEDULE_MS;
  const now = deps.clock.now();
  const n = delivery.scheduledAttempts + 1;
  const classified = classify(result);
  const delay = classified === 'retry' && n <= schedule.length ? jittered(schedule[n - 1]!, deps.random) : null;
  const outcome = classified === 'retry' && delay === null ? 'failed' : classified;
  if (outcome === 'gone') await disableGone(deps, subscription.id, now);

  let record: DeliveryAttempt | undefined;
  let scheduled = false;
  const saved = await settle(deps.store, delivery, (d) => {
    record = attemptRecord(d, result, outcome, false, now);
    // A redelivery may have settled the delivery meanwhile: log the attempt, keep what it decided.
    if (d.status !== 'pending') return { ...withAttempt(d, record), scheduledAttempts: n, leaseUntil: null };
    scheduled = outcome === 'retry';
    return {
      ...withAttempt(d, record),
      scheduledAttempts: n,
      leaseUntil: null,
      ...statusAfter(outcome, n, schedule, now, delay),
    };
  });
  if (!saved || !record) return { type: 'skipped', reason: 'changed meanwhile' };
  deps.onAttempt?.(saved, record);
  if (scheduled && saved.nextAttemptAt !== null)
    await deps.queue.enqueue({
      subscriptionId: saved.subscriptionId,
      deliveryId: saved.id,
      attempt: n,
      notBefore: saved.nextAttemptAt,
    });
  return { type: 'attempted', delivery: saved, attempt: record };
}

/**
 * Claims the attempt a ticket asks for: a conditional write of a lease on the delivery, which only one of several
 * workers holding the same ticket wins. A lease left by a worker that died expires.
 */
async function claimAttempt(
  deps: DeliverDeps,
  found: WebhookDelivery,
  ticket: DeliveryTicket,
): Promise<
  Exclude<DeliverOutcome, { type: 'cancelled' | 'attempted' }> | { type: 'claimed'; delivery: WebhookDelivery }
> {
  let delivery: WebhookDelivery | null = found;
  for (let tries = 0; tries < 5 && delivery; tries++) {
    const now = deps.clock.now();
    if (delivery.status !== 'pending') return { type: 'skipped', reason: `already ${delivery.status}` };
    if (delivery.scheduledAttempts !== ticket.attempt)
      return { type: 'skipped', reason: `stale ticket (attempt ${ticket.attempt}, now ${delivery.scheduledAttempts})` };
    if (delivery.leaseUntil !== null && delivery.leaseUntil > now)
      return { type: 'busy', retryAt: delivery.leaseUntil };
    const leaseUntil = now + (deps.timeoutMs ?? DELIVERY_TIMEOUT_MS) + LEASE_MARGIN_MS;
    const claimed = { ...delivery, leaseUntil, version: delivery.version + 1 };
    try {
      await deps.store.updateDelivery(claimed);
      return { type: 'claimed', delivery: claimed };
    } catch (error) {
      if (!(error instanceof DeliveryConflictError)) throw error;
      delivery = await deps.store.getDelivery(ticket.subscriptionId, ticket.deliveryId);
    }
  }
  return { type: 'skipped', reason: delivery ? 'kept changing' : 'no such delivery' };
}

/** Renders, signs and POSTs one attempt of a delivery; never throws for the receiver's sake. */
export async function attempt(
  deps: Pick<DeliverDeps, 'secretBox' | 'clock' | 'timeoutMs'>,
  subscription: WebhookSubscription,
  delivery: WebhookDelivery,
): Promise<PostResult> {
  const secrets = JSON.parse(await deps.secretBox.open(subscription.sealed, subscription.id)) as SubscriptionSecrets;
  const envelope = JSON.parse(delivery.envelope) as WebhookEnvelope;
  const body = renderBody(subscription.format, envelope, subscription.options, secrets);
  const timestamp = Math.floor(deps.clock.now() / 1000);
  const headers = {
    ...secrets.headers,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    ...standardWebhookHeaders(secrets.secret, delivery.id, timestamp, body),
  };
  const url = deliveryUrl(subscription.format, subscription.url, envelope);
  return postWebhook(url, body, headers, deps.timeoutMs ?? DELIVERY_TIMEOUT_MS, () => deps.clock.now());
}

/** ok: 2xx; gone: 410; retry: anything else, including no answer. */
export function classify(result: PostResult): 'ok' | 'gone' | 'retry' {
  if (result.status !== null && result.status >= 200 && result.status < 300) return 'ok';
  return result.status === 410 ? 'gone' : 'retry';
}

/** The log entry of an attempt. */
export function attemptRecord(
  delivery: WebhookDelivery,
  result: PostResult,
  outcome: DeliveryAttempt['outcome'],
  redelivery: boolean,
  at: number,
): DeliveryAttempt {
  const error = result.error ?? (outcome === 'ok' ? null : `HTTP ${result.status}`);
  return {
    n: delivery.attemptCount + 1,
    at,
    durationMs: result.durationMs,
    status: result.status,
    outcome,
    error,
    response: result.response,
    redelivery,
  };
}

/** The delivery with one more attempt in its log. */
export function withAttempt(delivery: WebhookDelivery, record: DeliveryAttempt): WebhookDelivery {
  return { ...delivery, attempts: [...delivery.attempts, record], attemptCount: delivery.attemptCount + 1 };
}

export const GONE_REASON = 'receiver answered 410 Gone';

/** Disables a subscription whose receiver answered 410. */
export async function disableGone(deps: Pick<DeliverDeps, 'store'>, subscriptionId: string, at: number): Promise<void> {
  await deps.store.setSubscriptionEnabled(subscriptionId, false, GONE_REASON, at);
}

function statusAfter(
  outcome: DeliveryAttempt['outcome'],
  n: number,
  schedule: readonly number[],
  now: number,
  delay: number | null,
): Pick<WebhookDelivery, 'status' | 'statusReason' | 'nextAttemptAt'> {
  switch (outcome) {
    case 'ok':
      return { status: 'delivered', statusReason: null, nextAttemptAt: null };
    case 'gone':
      return { status: 'failed', statusReason: `${GONE_REASON}; subscription disabled`, nextAttemptAt: null };
    case 'retry':
      return { status: 'pending', statusReason: null, nextAttemptAt: now + (delay ?? 0) };
    case 'failed': {
      const hours = schedule.reduce((sum, ms) => sum + ms, 0) / HOUR;
      return {
        status: 'failed',
        statusReason: `gave up after ${n} attempts over ${hours.toFixed(1)} h`,
        nextAttemptAt: null,
      };
    }
  }
}

function jittered(ms: number, random: (() => number) | undefined): number {
  return Math.round(ms * (0.9 + 0.2 * (random ?? Math.random)()));
}

/**
 * Writes `change(delivery)` with the delivery's version as the condition, re-reading and re-applying the change
 * after a conflict. `change` returns null when, on the latest delivery, there is nothing to write. Returns the
 * delivery as written, or null.
 */
export async function settle(
  store: WebhookStore,
  delivery: WebhookDelivery,
  change: (latest: WebhookDelivery) => WebhookDelivery | null,
): Promise<WebhookDelivery | null> {
  let latest: WebhookDelivery | null = delivery;
  for (let attempt = 0; attempt < 10 && latest; attempt++) {
    const next = change(latest);
    if (!next) return null;
    const written = { ...next, version: latest.version + 1 };
    try {
      await store.updateDelivery(written);
      return written;
    } catch (error) {
      if (!(error instanceof DeliveryConflictError)) throw error;
      latest = await store.getDelivery(delivery.subscriptionId, delivery.id);
    }
  }
  if (latest) throw new DeliveryConflictError(delivery.id);
  return null;
}
