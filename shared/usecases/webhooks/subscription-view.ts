import type { WebhookSubscription } from '../../ports/webhook-store.ts';

/** A subscription as the API shows it: everything but the sealed secrets. */
export type SubscriptionView = Omit<WebhookSubscription, 'sealed'>;

/** The view of a stored subscription. */
export function viewOf(subscription: WebhookSubscription): SubscriptionView {
  const { sealed: _sealed, ...view } = subscription;
  return view;
}
