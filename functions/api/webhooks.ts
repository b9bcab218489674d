import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { iso } from '../../shared/api/views.ts';
import { FailoverError } from '../../shared/errors.ts';
import type { DeliveryAttempt, WebhookDelivery } from '../../shared/ports/webhook-store.ts';
import { createSubscription } from '../../shared/usecases/webhooks/create-subscription.ts';
import { InvalidSubscriptionError, WEBHOOK_ERROR_STATUS } from '../../shared/usecases/webhooks/errors.ts';
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

/**
 * Runs a webhook use case with its errors as problems: their codes map to statuses (WEBHOOK_ERROR_STATUS), an
 * invalid subscription lists every problem under `body.`, an unreadable secret is a 503; others pass through.
 */
async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof InvalidSubscriptionError) {
      const errors = error.problems.map((p) => {
        const i = p.indexOf(': ');
        return i === -1 ? { path: 'body', message: p } : { path: `body.${p.slice(0, i)}`, message: p.slice(i + 2) };
      });
      throw new HttpProblem(400, error.problems.join('; '), { code: 'invalid-request', errors, cause: error });
    }
    if (!(error instanceof FailoverError)) throw error;
    if (error.code === 'SECRET_UNAVAILABLE') {
      throw new HttpProblem(503, 'a secret this request needs cannot be read now', {
        code: 'unavailable',
        headers: { 'retry-after': '30' },
        cause: error,
      });
    }
    const status = WEBHOOK_ERROR_STATUS[error.code];
    if (status === undefined || status >= 500) throw error;
    throw new HttpProblem(status, error.message, {
      code: error.code.toLowerCase().replace(/_/g, '-'),
      ...(error.code === 'BAD_CURSOR' ? { errors: [{ path: 'query.cursor', message: error.message }] } : {}),
      cause: error,
    });
  }
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
    const out = await mapped(() =>
      createSubscription(
        {
          store: webhooks.store,
          secretBox: webhooks.secretBox,
          clock: deps.clock,
          config: deps.config,
          ...(webhooks.allowPrivateUrls !== undefined ? { allowPrivateUrls: webhooks.allowPrivateUrls } : {}),
        },
        body,
      ),
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
    const items = await mapped(() => listSubscriptions(webhooksOf(deps)));
    return { status: 200, body: { items: items.map(subscriptionBody) } };
  });

/** `GET /v1/webhooks/{id}` */
export const getWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getWebhook'), deps, async ({ params }) => {
    const view = await mapped(() => getSubscription(webhooksOf(deps), { id: params.id }));
    return { status: 200, body: subscriptionBody(view) };
  });

/** `DELETE /v1/webhooks/{id}` */
export const deleteWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('deleteWebhook'), deps, async ({ params }) => {
    await mapped(() => deleteSubscription(webhooksOf(deps), { id: params.id }));
    return { status: 204 };
  });

/** `POST /v1/webhooks/{id}/enable` */
export const enableWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('enableWebhook'), deps, async ({ params }) => {
    const { store } = webhooksOf(deps);
    const view = await mapped(() =>
      setSubscriptionEnabled({ store, clock: deps.clock }, { id: params.id, enabled: true }),
    );
    return { status: 200, body: subscriptionBody(view) };
  });

/** `POST /v1/webhooks/{id}/disable` */
export const disableWebhook = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('disableWebhook'), deps, async ({ params, body, principal }) => {
    const { store } = webhooksOf(deps);
    const reason = `disabled by ${principal.name}${body.reason ? `: ${body.reason}` : ''}`;
    const view = await mapped(() =>
      setSubscriptionEnabled({ store, clock: deps.clock }, { id: params.id, enabled: false, reason }),
    );
    return { status: 200, body: subscriptionBody(view) };
  });

/** `GET /v1/webhooks/{id}/deliveries` */
export const listWebhookDeliveries = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listWebhookDeliveries'), deps, async ({ params, query, event }) => {
    const page = await mapped(() =>
      listDeliveries(webhooksOf(deps), {
        subscriptionId: params.id,
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      }),
    );
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
    const out = await mapped(() =>
      redeliver(
        {
          store: webhooks.store,
          secretBox: webhooks.secretBox,
          clock: deps.clock,
          ...(webhooks.timeoutMs !== undefined ? { timeoutMs: webhooks.timeoutMs } : {}),
          ...(webhooks.onAttempt ? { onAttempt: webhooks.onAttempt } : {}),
        },
        { subscriptionId: params.id, deliveryId: params.deliveryId },
      ),
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
    const result = await mapped(() =>
      handleInboundHook(hookDeps, { source: params.source, headers: event.headers, body: bodyText(event) }),
    );
    return { status: 200, body: { ...result, transitions: [...result.transitions] } };
  });
