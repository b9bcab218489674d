import type { ApiRouteSpec } from '../shared/api/routes.ts';
import type { Transition } from '../shared/domain/model.ts';
import type { ApiDeps } from '../functions/api/deps.ts';
import { apiHandler } from '../functions/api/middleware.ts';
import { invokeLocally } from '../shared/api/http-route.ts';
import type { EventStreamRoute } from './http-server.ts';

/**
 * What the local runtime tells the dashboard as it happens. `transition`: a site changed mode, link, override,
 * maintenance or incident (the `/v1/sites/{id}` and incident views changed); `state`: a decision wrote the site's
 * state without a transition (fresh check results, counters, verdicts). Both only name what to fetch again: the
 * data itself is read through the API, as in the cloud, where the dashboard polls instead.
 */
export type LiveEvent =
  | {
      readonly type: 'transition';
      readonly site: string;
      readonly seq: number;
      readonly kind: string;
      readonly to: string;
      readonly toLink: string;
      readonly at: string;
    }
  | { readonly type: 'state'; readonly site: string; readonly at: string };

/** The local-only route of the event stream: not in API_ROUTES (API Gateway cannot stream), read key needed. */
export const EVENTS_ROUTE = {
  operationId: 'streamEvents',
  method: 'GET',
  path: '/v1/events',
  tag: 'meta',
  summary: 'Server-sent events of the local runtime: which site changed, as it happens (local runtime only)',
  auth: 'read',
  responses: { 200: { description: 'A text/event-stream of `transition` and `state` events.' } },
} as const satisfies ApiRouteSpec;

/** Fan-out of {@link LiveEvent}s to the connected streams. */
export class LiveEvents {
  readonly #listeners = new Set<(event: LiveEvent) => void>();

  /** Streams connected now. */
  get listeners(): number {
    return this.#listeners.size;
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: LiveEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  transition(t: Transition): void {
    const at = new Date(t.at).toISOString();
    this.publish({ type: 'transition', site: t.site, seq: t.seq, kind: t.kind, to: t.to, toLink: t.toLink, at });
  }

  state(site: string, at: number): void {
    this.publish({ type: 'state', site, at: new Date(at).toISOString() });
  }

  /** `GET /v1/events` behind the API's middleware (API key with read scope, problem details). */
  route(api: ApiDeps): EventStreamRoute {
    const accept = apiHandler(EVENTS_ROUTE, api, async () => ({ status: 200, body: {} }));
    return {
      path: EVENTS_ROUTE.path,
      accept: (event) => invokeLocally(accept, event, 'failover-events'),
      subscribe: (send) => this.subscribe((e) => send(e.type, e)),
    };
  }
}
