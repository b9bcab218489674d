import type { Clock } from '../../ports/clock.ts';
import type { WebhookStore } from '../../ports/webhook-store.ts';
import { WebhookNotFoundError } from './errors.ts';
import { viewOf, type SubscriptionView } from './subscription-view.ts';

/** Every subscription, oldest first, without secrets. */
export async function listSubscriptions(deps: { readonly store: WebhookStore }): Promise<SubscriptionView[]> {
  return (await deps.store.listSubscriptions()).map(viewOf);
}

/** One subscription without secrets; WebhookNotFoundError when there is none. */
export async function getSubscription(
  deps: { readonly store: WebhookStore },
  input: { readonly id: string },
): Promise<SubscriptionView> {
  const subscription = await deps.store.getSubscription(input.id);
  if (!subscription) throw new WebhookNotFoundError(`subscription ${input.id}`);
  return viewOf(subscription);
}

/**
 * Deletes a subscription: nothing more is sent to it (attempts still scheduled find it gone and are cancelled);
 * its delivery log expires with its retention. WebhookNotFoundError when there is none.
 */
export async function deleteSubscription(
  deps: { readonly store: WebhookStore },
  input: { readonly id: string },
): Promise<void> {
  if (!(await deps.store.deleteSubscription(input.id))) throw new WebhookNotFoundError(`subscription ${input.id}`);
}

/**
 * Enables a subscription (after its receiver answered 410, once it is back) or disables it by hand. Deliveries
 * cancelled while it was disabled are not sent again; use redeliver for those that matter.
 */
export async function setSubscriptionEnabled(
  deps: { readonly store: WebhookStore; readonly clock: Clock },
  input: { readonly id: string; readonly enabled: boolean; readonly reason?: string },
): Promise<SubscriptionView> {
  const reason = input.enabled ? null : (input.reason ?? 'disabled by an operator');
  if (!(await deps.store.setSubscriptionEnabled(input.id, input.enabled, reason, deps.clock.now())))
    throw new WebhookNotFoundError(`subscription ${input.id}`);
  return getSubscription(deps, input);
}
