import * as z from 'zod/mini';
import '../contracts/zod-english.ts';
import {
  BrakeReleaseResult,
  BrakeView,
  CommandResult,
  DeliveryPage,
  DeliveryQuery,
  DisableWebhookRequest,
  InboundHookResult,
  RedeliverResult,
  WebhookSubscriptionCreated,
  WebhookSubscriptionList,
  WebhookSubscriptionRequest,
  WebhookSubscriptionView,
  IncidentDetail,
  IncidentPage,
  IncidentQuery,
  MaintenanceList,
  MaintenanceQuery,
  MaintenanceRequest,
  MaintenanceResult,
  FailoverRequest,
  OperatorRequest,
  OverrideRequest,
  SiteDetail,
  SiteList,
} from '../contracts/api.ts';
import {
  BadgeQuery,
  CheckHistory,
  HistoryQuery,
  SiteUptime,
  StatusPage,
  StatusPageQuery,
  UptimeQuery,
} from '../contracts/history.ts';

/** Who may call a route: anyone, a read or write API key, or a sender whose signature the route checks itself. */
export type RouteAuth = 'public' | 'read' | 'write' | 'signature';

/** A response of a route, as the OpenAPI document describes it. */
export interface RouteResponse {
  readonly description: string;
  /** The JSON body; absent for an empty body (204) or a body of another media type (`contentType`). */
  readonly schema?: z.ZodMiniType;
  /** The media type of a body that is not JSON, e.g. `image/svg+xml`. */
  readonly contentType?: string;
  /** Response headers worth naming, with their descriptions. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One route of the API: the single source of the local server's routes, the Lambda's route keys, the API Gateway
 * routes in CDK and the OpenAPI document's paths.
 */
export interface ApiRouteSpec {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway path template, e.g. `/v1/sites/{id}`. */
  readonly path: string;
  readonly tag: 'sites' | 'brake' | 'history' | 'status' | 'incidents' | 'maintenance' | 'webhooks' | 'hooks' | 'meta';
  readonly summary: string;
  readonly description?: string;
  readonly auth: RouteAuth;
  readonly params?: z.ZodMiniObject;
  readonly query?: z.ZodMiniObject;
  /** A JSON body (`application/json`), validated; 415 for another media type, 400 when invalid. */
  readonly body?: z.ZodMiniType;
  /** The body is handed over as it came (any media type): the route verifies a signature over the raw bytes. */
  readonly rawBody?: true;
  readonly responses: Readonly<Record<number, RouteResponse>>;
  /** Problem statuses beyond those auth, body and parameters imply (see problemStatuses). */
  readonly problems?: readonly number[];
}

const Id = z.object({ id: z.string() });
const WebhookDeliveryPath = z.object({ id: z.string(), deliveryId: z.string() });
const Source = z.object({ source: z.string() });
const SiteCheck = z.object({
  id: z.string(),
  check: z
    .string()
    .check(z.describe('The check id; a dependency check as `<preset>/<check>`, percent-encoded (`%2F`).')),
});
const Page = z.object({ page: z.string() });

const ok = <S extends z.ZodMiniType>(description: string, schema: S) => ({ description, schema });

/** Every route of `/v1`, in the order the OpenAPI document lists them. */
export const API_ROUTES = [
  {
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/v1/openapi.json',
    tag: 'meta',
    summary: 'This API as an OpenAPI 3.1 document',
    description: 'Public: no API key needed.',
    auth: 'public',
    responses: { 200: { description: 'The OpenAPI document.' } },
  },
  {
    operationId: 'listSites',
    method: 'GET',
    path: '/v1/sites',
    tag: 'sites',
    summary: 'Every configured site: mode, active link, override, maintenance, open incident',
    auth: 'read',
    responses: { 200: ok('The sites, in configuration order.', SiteList) },
  },
  {
    operationId: 'getSite',
    method: 'GET',
    path: '/v1/sites/{id}',
    tag: 'sites',
    summary: "A site's state: links, each check's latest result per vantage, vantages, damping, pending actions",
    auth: 'read',
    params: Id,
    responses: { 200: ok('The site.', SiteDetail) },
    problems: [404],
  },
  {
    operationId: 'overrideSite',
    method: 'POST',
    path: '/v1/sites/{id}/override',
    tag: 'sites',
    summary: 'Pin the site to its primary or backup link (automation frozen), or clear the pin',
    description:
      'A pin to the other side while one is in force is a conflict (409): clear it first. Pinning again to the same ' +
      'side replaces the reason and expiry. A request that meets a change made after it read the state (another ' +
      'command, an automatic switch) is refused with 409 `command-conflict`; every 409 carries `current`.',
    auth: 'write',
    params: Id,
    body: OverrideRequest,
    responses: { 200: ok('The site after the command, and the transitions it caused.', CommandResult) },
    problems: [404, 409],
  },
  {
    operationId: 'failoverSite',
    method: 'POST',
    path: '/v1/sites/{id}/failover',
    tag: 'sites',
    summary: "Fail over to the best backup link now, on an operator's word; it holds until a failback or `until`",
    description:
      'On a `failback: auto` site the failover holds: no automatic failback until an operator fails back or `until` ' +
      'passes, and then only once the hold-down, counted from the switch, is over. Refused (409 with `current`): ' +
      'already on a backup, pinned, no usable backup, or a change made after the request read the state.',
    auth: 'write',
    params: Id,
    body: FailoverRequest,
    responses: { 200: ok('The site after the command, and the transitions it caused.', CommandResult) },
    problems: [404, 409],
  },
  {
    operationId: 'failbackSite',
    method: 'POST',
    path: '/v1/sites/{id}/failback',
    tag: 'sites',
    summary: "Fail back to the primary link now, on an operator's word (refused while the primary is down)",
    auth: 'write',
    params: Id,
    body: OperatorRequest,
    responses: { 200: ok('The site after the command, and the transitions it caused.', CommandResult) },
    problems: [404, 409],
  },
  {
    operationId: 'getBrake',
    method: 'GET',
    path: '/v1/brake',
    tag: 'brake',
    summary: "The mass-failover brake: the window's count, the engagement in force, the latest operator's release",
    auth: 'read',
    responses: { 200: ok('The brake now.', BrakeView) },
  },
  {
    operationId: 'releaseBrake',
    method: 'POST',
    path: '/v1/brake/release',
    tag: 'brake',
    summary: 'Release the engagement in force: every automatic failover goes ahead for one window',
    description:
      'The held sites still down fail over on their next decision (within one probe interval); they count in the ' +
      'window, and the brake cannot engage again until one window after the release (`release.until`). Recorded on ' +
      'the fleet item (who, when, why) and announced once, in a critical `[BRAKE RELEASED]` alert. Nothing engaged ' +
      '(never, its window emptied, already released, or the brake disabled) is a conflict (409 `brake-not-engaged` ' +
      'or `brake-disabled`, with the brake in `brake`): of two releases at once, one releases and the other gets ' +
      'that 409.',
    auth: 'write',
    body: OperatorRequest,
    responses: { 200: ok('The brake after the release, the engagement released, and its alert.', BrakeReleaseResult) },
    problems: [409],
  },
  {
    operationId: 'getCheckHistory',
    method: 'GET',
    path: '/v1/sites/{id}/checks/{check}/history',
    tag: 'history',
    summary: "A check's outcomes and latency over time, in buckets of 5 minutes, an hour or a day",
    description:
      'Every vantage together (probe regions and the site agent). Buckets start on UTC boundaries; `from` is rounded ' +
      'down and `to` up to the step. 5-minute buckets are kept 3 days, hourly ones 35 days, daily ones 400 days: ' +
      'older buckets come back empty. A span longer than the step allows is a 400 naming `query.from`.',
    auth: 'read',
    params: SiteCheck,
    query: HistoryQuery,
    responses: { 200: ok('The buckets of [from, to).', CheckHistory) },
    problems: [404],
  },
  {
    operationId: 'getSiteUptime',
    method: 'GET',
    path: '/v1/sites/{id}/uptime',
    tag: 'history',
    summary: 'Uptime per UTC day: the site as its users see it (served on any link), and each of its checks',
    auth: 'read',
    params: Id,
    query: UptimeQuery,
    responses: { 200: ok('One entry per day, oldest first, today last.', SiteUptime) },
    problems: [404],
  },
  {
    operationId: 'getStatusPage',
    method: 'GET',
    path: '/v1/status/{page}',
    tag: 'status',
    summary: 'A public status page of `statusPages:`: current status, uptime per day, incidents (public terms only)',
    description:
      'Public: no API key. Only the sites the page lists, by their public names: no link, address, check, vantage ' +
      'or explanation. A page that is not configured is a 404 that says nothing more.',
    auth: 'public',
    params: Page,
    query: StatusPageQuery,
    responses: {
      200: {
        ...ok('The page.', StatusPage),
        headers: { 'cache-control': '`public, max-age=30`.' },
      },
    },
    problems: [404, 503],
  },
  {
    operationId: 'getStatusBadge',
    method: 'GET',
    path: '/v1/status/{page}/badge.svg',
    tag: 'status',
    summary: 'An SVG uptime badge of a public status page (or of one of its components)',
    description: 'Public: no API key. `image/svg+xml`; a page that is not configured is a 404.',
    auth: 'public',
    params: Page,
    query: BadgeQuery,
    responses: {
      200: {
        description:
          'The badge: "uptime | 99.95%", green at 99.9 % and over, yellow from 99 %, red below, grey with no data.',
        contentType: 'image/svg+xml',
        headers: { 'cache-control': '`public, max-age=300`.' },
      },
    },
    problems: [404, 503],
  },
  {
    operationId: 'listIncidents',
    method: 'GET',
    path: '/v1/incidents',
    tag: 'incidents',
    summary: 'Incidents, newest first, one page at a time',
    auth: 'read',
    query: IncidentQuery,
    responses: {
      200: {
        ...ok('A page of incidents.', IncidentPage),
        headers: { link: 'The next page: `<...?cursor=...>; rel="next"` (absent on the last page).' },
      },
    },
  },
  {
    operationId: 'getIncident',
    method: 'GET',
    path: '/v1/incidents/{id}',
    tag: 'incidents',
    summary: 'An incident and its timeline of transitions, with their explanations',
    auth: 'read',
    params: Id,
    responses: { 200: ok('The incident.', IncidentDetail) },
    problems: [404],
  },
  {
    operationId: 'acknowledgeIncident',
    method: 'POST',
    path: '/v1/incidents/{id}/acknowledge',
    tag: 'incidents',
    summary: 'Acknowledge the open incident: no more reminders',
    description: 'No body. Acknowledging an acknowledged incident changes nothing; a resolved one is a conflict (409).',
    auth: 'write',
    params: Id,
    responses: { 200: ok('The site after the command, and the transitions it caused.', CommandResult) },
    problems: [404, 409],
  },
  {
    operationId: 'listMaintenance',
    method: 'GET',
    path: '/v1/maintenance',
    tag: 'maintenance',
    summary: 'Maintenance windows that have not ended, from the API and from sites.yaml',
    auth: 'read',
    query: MaintenanceQuery,
    responses: { 200: ok('The windows, by start time.', MaintenanceList) },
  },
  {
    operationId: 'createMaintenance',
    method: 'POST',
    path: '/v1/maintenance',
    tag: 'maintenance',
    summary: 'Schedule a maintenance window: alerts suppressed (recorded) and automation frozen while it lasts',
    description:
      'A window that has started takes effect at once. A site already down when the window starts does not alert ' +
      'again when it ends, unless it is still down then.',
    auth: 'write',
    body: MaintenanceRequest,
    responses: {
      201: {
        ...ok('The window, and the transitions it caused at once.', MaintenanceResult),
        headers: { location: 'The window, under /v1/maintenance/{id}.' },
      },
    },
  },
  {
    operationId: 'deleteMaintenance',
    method: 'DELETE',
    path: '/v1/maintenance/{id}',
    tag: 'maintenance',
    summary: 'Cancel a maintenance window (one in force ends at once)',
    auth: 'write',
    params: Id,
    responses: { 200: ok('The cancelled window, and the transitions it caused at once.', MaintenanceResult) },
    problems: [404, 409],
  },
  {
    operationId: 'createWebhook',
    method: 'POST',
    path: '/v1/webhooks',
    tag: 'webhooks',
    summary: 'Subscribe a URL to events; the signing secret is in this answer and never again',
    auth: 'write',
    body: WebhookSubscriptionRequest,
    responses: {
      201: {
        ...ok('The subscription with its signing secret.', WebhookSubscriptionCreated),
        headers: { location: 'The subscription, under /v1/webhooks/{id}.' },
      },
    },
  },
  {
    operationId: 'listWebhooks',
    method: 'GET',
    path: '/v1/webhooks',
    tag: 'webhooks',
    summary: 'Every webhook subscription (without secrets)',
    auth: 'read',
    responses: { 200: ok('The subscriptions, oldest first.', WebhookSubscriptionList) },
  },
  {
    operationId: 'getWebhook',
    method: 'GET',
    path: '/v1/webhooks/{id}',
    tag: 'webhooks',
    summary: 'A webhook subscription (without secrets)',
    auth: 'read',
    params: Id,
    responses: { 200: ok('The subscription.', WebhookSubscriptionView) },
    problems: [404],
  },
  {
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/v1/webhooks/{id}',
    tag: 'webhooks',
    summary: 'Delete a webhook subscription',
    auth: 'write',
    params: Id,
    responses: { 204: { description: 'Deleted.' } },
    problems: [404],
  },
  {
    operationId: 'enableWebhook',
    method: 'POST',
    path: '/v1/webhooks/{id}/enable',
    tag: 'webhooks',
    summary: 'Enable a subscription again (after its receiver answered 410 Gone, once it is back)',
    description: 'No body. Deliveries cancelled while it was disabled are not sent again; redeliver those that matter.',
    auth: 'write',
    params: Id,
    responses: { 200: ok('The subscription.', WebhookSubscriptionView) },
    problems: [404],
  },
  {
    operationId: 'disableWebhook',
    method: 'POST',
    path: '/v1/webhooks/{id}/disable',
    tag: 'webhooks',
    summary: 'Stop sending to a subscription without deleting it',
    auth: 'write',
    params: Id,
    body: DisableWebhookRequest,
    responses: { 200: ok('The subscription.', WebhookSubscriptionView) },
    problems: [404],
  },
  {
    operationId: 'listWebhookDeliveries',
    method: 'GET',
    path: '/v1/webhooks/{id}/deliveries',
    tag: 'webhooks',
    summary: "A subscription's delivery log, newest first, with every attempt",
    auth: 'read',
    params: Id,
    query: DeliveryQuery,
    responses: {
      200: {
        ...ok('A page of deliveries.', DeliveryPage),
        headers: { link: 'The next page: `<...?cursor=...>; rel="next"` (absent on the last page).' },
      },
    },
    problems: [404],
  },
  {
    operationId: 'redeliverWebhook',
    method: 'POST',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    tag: 'webhooks',
    summary: 'Send a delivery again now (same webhook-id, a fresh signature)',
    auth: 'write',
    params: WebhookDeliveryPath,
    responses: { 202: ok('The delivery, with the new attempt when it was made at once.', RedeliverResult) },
    problems: [404, 409],
  },
  {
    operationId: 'receiveHook',
    method: 'POST',
    path: '/v1/hooks/{source}',
    tag: 'hooks',
    summary: 'Inbound webhook from a configured integration (its signature, not an API key, authenticates it)',
    auth: 'signature',
    params: Source,
    rawBody: true,
    responses: { 200: ok('What the hook did.', InboundHookResult) },
    problems: [401, 403, 404, 409, 422],
  },
] as const satisfies readonly ApiRouteSpec[];

export type ApiRoute = (typeof API_ROUTES)[number];
export type OperationId = ApiRoute['operationId'];

/** The spec of `operationId`. */
export function routeSpec<Id extends OperationId>(operationId: Id): Extract<ApiRoute, { operationId: Id }> {
  return API_ROUTES.find((r) => r.operationId === operationId) as Extract<ApiRoute, { operationId: Id }>;
}

/** Every problem status a route may answer, from its auth, body, parameters and own list; sorted. */
export function problemStatuses(spec: ApiRouteSpec): number[] {
  // 400 everywhere: every route refuses an unknown query parameter (and a body that is not UTF-8).
  const statuses = new Set<number>([400, 500, ...(spec.problems ?? [])]);
  if (spec.auth === 'read' || spec.auth === 'write') statuses.add(401);
  if (spec.auth === 'write') statuses.add(403);
  if (spec.body || spec.rawBody) statuses.add(413);
  if (spec.body) statuses.add(415);
  if (spec.auth !== 'public') statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}
