import type { WebhookAction } from '../../domain/model.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DeliveryQueue, WebhookDelivery, WebhookStore, WebhookSubscription } from '../../ports/webhook-store.ts';
import { envelopeOf } from '../../webhooks/events.ts';
import { formatCarries } from '../../webhooks/formats.ts';
import type { ActionHandler } from '../dispatch.ts';

export interface PublishDeps {
  readonly store: WebhookStore;
  readonly queue: DeliveryQueue;
  readonly clock: Clock;
}

export interface PublishOutput {
  /** Ids of the deliveries this event has (made now or by an earlier run). */
  readonly deliveries: readonly string[];
  readonly detail: string;
}

/** Whether a subscription wants an event: enabled, the event and site in its filters, and its format carries it. */
export function wants(subscription: WebhookSubscription, action: WebhookAction): boolean {
  return (
    subscription.enabled &&
    (subscription.events.length === 0 || subscription.events.includes(action.event)) &&
    (subscription.sites.length === 0 || subscription.sites.includes(action.site)) &&
    formatCarries(subscription.format, { type: action.event })
  );
}

/**
 * Fans a webhook action out to the subscriptions that want it: one delivery per subscription, id
 * `<action id>:<subscription id>`, created with a conditional write and queued for its first attempt. Running it
 * twice for the same action creates nothing new; a delivery made by a run that died before queueing it is queued
 * again (a duplicate message is ignored by deliverWebhook). Delivery itself happens later, in deliverWebhook.
 */
export async function publishWebhookEvent(deps: PublishDeps, action: WebhookAction): Promise<PublishOutput> {
  const subscriptions = (await deps.store.listSubscriptions()).filter((s) => wants(s, action));
  if (subscriptions.length === 0) return { deliveries: [], detail: `${action.event}: no subscription wants it` };
  const envelope = JSON.stringify(envelopeOf(action));
  const now = deps.clock.now();
  const outcomes = await Promise.all(
    subscriptions.map(async (subscription) => {
      const delivery: WebhookDelivery = {
        id: `${action.id}:${subscription.id}`,
        subscriptionId: subscription.id,
        actionId: action.id,
        event: action.event,
        site: action.site,
        incidentId: action.incidentId,
        createdAt: action.at,
        envelope,
        status: 'pending',
        statusReason: null,
        attempts: [],
        attemptCount: 0,
        scheduledAttempts: 0,
        nextAttemptAt: now,
        leaseUntil: null,
        version: 1,
      };
      let queue = await deps.store.createDelivery(delivery);
      if (!queue) {
        const existing = await deps.store.getDelivery(subscription.id, delivery.id);
        queue = existing?.status === 'pending' && existing.scheduledAttempts === 0;
      }
      if (queue)
        await deps.queue.enqueue({
          subscriptionId: subscription.id,
          deliveryId: delivery.id,
          attempt: 0,
          notBefore: now,
        });
      return { id: delivery.id, queued: queue };
    }),
  );
  const queued = outcomes.filter((o) => o.queued).length;
  return {
    deliveries: outcomes.map((o) => o.id),
    detail: `${action.event}: ${queued} of ${outcomes.length} deliver${outcomes.length === 1 ? 'y' : 'ies'} queued`,
  };
}

/**
 * The dispatcher's handler of webhook actions (DispatchDeps.webhooks): publishWebhookEvent. Store and queue
 * outages are TransientError (StoreUnavailableError is one), which the dispatcher retries. Retries of the deliveries
 * themselves, over a day, belong to the delivery queue, not to the dispatcher.
 */
export function webhookHandler(deps: PublishDeps): ActionHandler<WebhookAction> {
  return async (action) => ({ detail: (await publishWebhookEvent(deps, action)).detail });
}
