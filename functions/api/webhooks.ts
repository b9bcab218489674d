import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { iso } from '../../shared/api/views.ts';
import type { DeliveryAttempt, WebhookDelivery } from '../../shared/ports/webhook-store.ts';
import { createSubscription } from '../../shared/usecases/webhooks/create-subscription.ts';
import { handleInboundHook, type InboundHookDeps } from '../../shared/usecases/webhooks/handle-inbound-hook.ts';
import {
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  setSubscriptionEnabled,
} from '../../shared/usecases/webhooks/manage-subscriptions.ts';
import { listDeliveries, redeliver } from '../../shared/usecases/webhooks/redeliver.ts';
import type { SubscriptionView } from '../../shared/usecases/webhooks/subscription-view.ts';
import { decideDeps, type ApiDeps } from './deps.ts';
import { apiHandler, bodyText, type RouteHandler } from './middleware.ts';
import type { WebhookApiDeps } from './webhook-deps.ts';

function webhooksOf(deps: ApiDeps): WebhookApiDeps {
  if (!deps.webhooks) {
    throw new HttpProblem(503, 'webhooks are not set up on this control plane', { code: 'webhooks-unavailable' });
  }
  return deps.webhooks;
}

function subscriptionBody(view: SubscriptionView) {
  return {
    id: view.id,
    url: view.url,
    format: view.format,
    events: [...view.events],
    sites: [...view.sites],
    description: view.description,
    options: { ...view.options, ...(view.options.tags ? { tags: [...view.options.tags] } : {}) },
    enabled: view.enabled,
    disabledReason: view.disabledReason,
    disabledAt: view.disabledAt === null ? null : iso(view.disabledAt),
    createdAt: iso(view.createdAt),
  };
}

function attemptBody(a: DeliveryAttempt) {
  return {
    n: a.n,
    at: iso(a.at),
    durationMs: a.durationMs,
    status: a.status,
    outcome: a.outcome,
    error: a.error,
    response: a.response,
    redelivery: a.redelivery,
  };
}

function deliveryBody(d: WebhookDelivery) {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    event: d.event,
    site: d.site,
    incidentId: d.incidentId,
    createdAt: iso(d.createdAt),
    status: d.status,
    statusReason: d.statusReason,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt),
    attempts: d.attempts.map(attemptBody),
  };
}

/** `POST /v1/webhooks` */
export const createWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('createWebhook'), deps, async ({ body }) => {
    const webhooks = webhooksOf(deps);
    const out = await createSubscription(
      {
        store: webhooks.store,
        secretBox: webhooks.secretBox,
        clock: deps.clock,
        config: deps.config,
        ...(webhooks.allowPrivateUrls !== undefined ? { allowPrivateUrls: webhooks.allowPrivateUrls } : {}),
      },
      body,
    );
    return {
      status: 201,
      body: { ...subscriptionBody(out.subscription), secret: out.secret },
      headers: { location: `/v1/webhooks/${encodeURIComponent(out.subscription.id)}` },
    };
  });

/** `GET /v1/webhooks` */
export const listWebhooks = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listWebhooks'), deps, async () => {
    const items = await listSubscriptions(webhooksOf(deps));
    return { status: 200, body: { items: items.map(subscriptionBody) } };
  });

/** `GET /v1/webhooks/{id}` */
export const getWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getWebhook'), deps, async ({ params }) => {
    const view = await getSubscription(webhooksOf(deps), { id: params.id });
    return { status: 200, body: subscriptionBody(view) };
  });

/** `DELETE /v1/webhooks/{id}` */
export const deleteWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('deleteWebhook'), deps, async ({ params }) => {
    await deleteSubscription(webhooksOf(deps), { id: params.id });
    return { status: 204 };
  });

/** `POST /v1/webhooks/{id}/enable` */
export const enableWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('enableWebhook'), deps, async ({ params }) => {
    const { store } = webhooksOf(deps);
    const view = await setSubscriptionEnabled({ store, clock: deps.clock }, { id: params.id, enabled: true });
    return { status: 200, body: subscriptionBody(view) };
  });

/** `POST /v1/webhooks/{id}/disable` */
export const disableWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('disableWebhook'), deps, async ({ params, body, principal }) => {
    const { store } = webhooksOf(deps);
    const reason = `disabled by ${principal.name}${body.reason ? `: ${body.reason}` : ''}`;
    const view = await setSubscriptionEnabled({ store, clock: deps.clock }, { id: params.id, enabled: false, reason });
    return { status: 200, body: subscriptionBody(view) };
  });

/** `GET /v1/webhooks/{id}/deliveries` */
export const listWebhookDeliveries = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listWebhookDeliveries'), deps, async ({ params, query, event }) => {
    const page = await listDeliveries(webhooksOf(deps), {
      subscriptionId: params.id,
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    const next = page.cursor ?? null;
    const headers: Record<string, string> = {};
    if (next !== null) {
      const search = new URLSearchParams(event.rawQueryString);
      search.set('cursor', next);
      headers.link = `<${event.rawPath}?${search.toString()}>; rel="next"`;
    }
    return { status: 200, body: { items: page.items.map(deliveryBody), next }, headers };
  });

/** `POST /v1/webhooks/{id}/deliveries/{deliveryId}/redeliver` */
export const redeliverWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('redeliverWebhook'), deps, async ({ params }) => {
    const webhooks = webhooksOf(deps);
    const out = await redeliver(
      {
        store: webhooks.store,
        secretBox: webhooks.secretBox,
        clock: deps.clock,
        ...(webhooks.timeoutMs !== undefined ? { timeoutMs: webhooks.timeoutMs } : {}),
        ...(webhooks.onAttempt ? { onAttempt: webhooks.onAttempt } : {}),
      },
      { subscriptionId: params.id, deliveryId: params.deliveryId },
    );
    return { status: 202, body: { delivery: deliveryBody(out.delivery), attempt: attemptBody(out.attempt) } };
  });

/** `POST /v1/hooks/{source}`: no API key; the source's signature over the raw body authenticates it. */
export const receiveHook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('receiveHook'), deps, async ({ params, event }) => {
    if (!deps.hooks) {
      throw new HttpProblem(404, `no inbound source "${params.source}" is configured`, { code: 'hook-unknown-source' });
    }
    const hookDeps: InboundHookDeps = {
      config: deps.config,
      secrets: deps.hooks.secrets,
      clock: deps.clock,
      replay: deps.hooks.replay,
      decide: decideDeps(deps),
      maintenanceStore: deps.maintenance,
      onDecided: async (_site, out) => {
        await deps.onDecision?.(out);
      },
    };
    const result = await handleInboundHook(hookDeps, {
      source: params.source,
      headers: event.headers,
      body: bodyText(event),
    });
    return { status: 200, body: { ...result, transitions: [...result.transitions] } };
  });
