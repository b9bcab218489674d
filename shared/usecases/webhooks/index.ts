/**
 * Webhooks, outbound and inbound: the use cases the API routes, the dispatcher and the delivery worker call.
 *
 * Subscriptions (deps: { store: WebhookStore, secretBox: SecretBox, clock, config?, allowPrivateUrls? }):
 * - createSubscription(deps, input: CreateSubscriptionInput) -> { subscription: SubscriptionView, secret }
 *   POST /v1/webhooks. `secret` (whsec_...) is shown once. InvalidSubscriptionError (400) lists every problem.
 * - listSubscriptions({ store }) -> SubscriptionView[]                                   GET /v1/webhooks
 * - getSubscription({ store }, { id }) -> SubscriptionView                               GET /v1/webhooks/{id}
 * - deleteSubscription({ store }, { id }) -> void                                        DELETE /v1/webhooks/{id}
 * - setSubscriptionEnabled({ store, clock }, { id, enabled, reason? }) -> SubscriptionView (re-enable after 410)
 * Deliveries:
 * - listDeliveries({ store }, { subscriptionId, status?, limit?, cursor? }) -> Page<WebhookDelivery>
 *   GET /v1/webhooks/{id}/deliveries, newest first, each with its attempt log.
 * - getDelivery({ store }, { subscriptionId, deliveryId }) -> WebhookDelivery
 * - redeliver({ store, secretBox, clock }, { subscriptionId, deliveryId }) -> { delivery, attempt }
 *   POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver: one attempt now, same webhook-id.
 * Dispatcher and delivery:
 * - webhookHandler({ store, queue, clock }): ActionHandler<WebhookAction>  (DispatchDeps.webhooks)
 * - publishWebhookEvent(deps, action) -> { deliveries, detail }: the handler's body (fan-out, idempotent)
 * - deliverWebhook({ store, queue, secretBox, clock, schedule?, timeoutMs? }, ticket) -> DeliverOutcome: one
 *   scheduled attempt (the SQS worker and the local scheduler call it)
 * - startLocalWebhookDelivery(deps) -> { queue, resume(), idle(), close() }: the local runtime's scheduler
 * Inbound (deps: { config, secrets: SecretResolver, clock, replay: ReplayGuard, decide: DecideSiteDeps,
 * maintenanceStore, onDecided? }):
 * - verifyInbound(deps, { source, headers, body }) -> { source, id, timestamp }
 * - handleInboundHook(deps, { source, headers, body }) -> InboundHookResult               POST /v1/hooks/{source}
 *   `body` is the raw request body (the signature covers its bytes); headers as received.
 * Errors are FailoverErrors; functions/shared/problems.ts maps their codes to HTTP statuses.
 */
export * from './errors.ts';
export * from './create-subscription.ts';
export * from './manage-subscriptions.ts';
export * from './subscription-view.ts';
export * from './redeliver.ts';
export * from './publish-webhook-event.ts';
export * from './deliver-webhook.ts';
export * from './local-delivery.ts';
export * from './handle-inbound-hook.ts';
