import type { Page } from '../../ports/state-store.ts';
import type { DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookStore } from '../../ports/webhook-store.ts';
import {
  attempt,
  attemptRecord,
  classify,
  disableGone,
  GONE_REASON,
  settle,
  withAttempt,
  type DeliverDeps,
} from './deliver-webhook.ts';
import { SubscriptionDisabledError, WebhookNotFoundError } from './errors.ts';

/** A subscription's deliveries with their attempt logs, newest first; WebhookNotFoundError for no subscription. */
export async function listDeliveries(
  deps: { readonly store: WebhookStore },
  input: {
    readonly subscriptionId: string;
    readonly status?: DeliveryStatus;
    readonly limit?: number;
    readonly cursor?: string;
  },
): Promise<Page<WebhookDelivery>> {
  if (!(await deps.store.getSubscription(input.subscriptionId)))
    throw new WebhookNotFoundError(`subscription ${input.subscriptionId}`);
  return deps.store.listDeliveries(input.subscriptionId, {
    ...(input.status ? { status: input.status } : {}),
    ...(input.limit !== undefined ? { limit: input.limit } : {}),
    ...(input.cursor !== undefined ? { cursor: input.cursor } : {}),
  });
}

/** One delivery with its attempt log; WebhookNotFoundError when there is none. */
export async function getDelivery(
  deps: { readonly store: WebhookStore },
  input: { readonly subscriptionId: string; readonly deliveryId: string },
): Promise<WebhookDelivery> {
  const delivery = await deps.store.getDelivery(input.subscriptionId, input.deliveryId);
  if (!delivery) throw new WebhookNotFoundError(`delivery ${input.deliveryId}`);
  return delivery;
}

export interface RedeliverOutput {
  readonly delivery: WebhookDelivery;
  readonly attempt: DeliveryAttempt;
}

/**
 * Sends a past delivery again, now, whatever its status: same `webhook-id` (receivers deduplicate by it), fresh
 * timestamp and signature, the current secret and format of its subscription. The attempt is logged as a
 * redelivery. Success marks the delivery delivered (ending any scheduled retries); 410 disables the subscription;
 * another failure leaves the status as it was (a pending delivery keeps its schedule). Refused with
 * SubscriptionDisabledError while the subscription is disabled.
 */
export async function redeliver(
  deps: Pick<DeliverDeps, 'store' | 'secretBox' | 'clock' | 'timeoutMs' | 'onAttempt'>,
  input: { readonly subscriptionId: string; readonly deliveryId: string },
): Promise<RedeliverOutput> {
  const subscription = await deps.store.getSubscription(input.subscriptionId);
  if (!subscription) throw new WebhookNotFoundError(`subscription ${input.subscriptionId}`);
  if (!subscription.enabled) throw new SubscriptionDisabledError(subscription.id, subscription.disabledReason);
  const delivery = await getDelivery(deps, input);

  const result = await attempt(deps, subscription, delivery);
  const now = deps.clock.now();
  const classified = classify(result);
  const outcome = classified === 'retry' ? 'failed' : classified;
  if (outcome === 'gone') await disableGone(deps, subscription.id, now);
  let record: DeliveryAttempt | undefined;
  const saved = await settle(deps.store, delivery, (d) => {
    record = attemptRecord(d, result, outcome, true, now);
    const next = withAttempt(d, record);
    if (outcome === 'ok') return { ...next, status: 'delivered', statusReason: null, nextAttemptAt: null };
    if (outcome === 'gone')
      return { ...next, status: 'failed', statusReason: `${GONE_REASON}; subscription disabled`, nextAttemptAt: null };
    return next;
  });
  if (!saved || !record) throw new WebhookNotFoundError(`delivery ${input.deliveryId}`);
  deps.onAttempt?.(saved, record);
  return { delivery: saved, attempt: record };
}
