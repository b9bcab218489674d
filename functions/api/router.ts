import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { HttpProblem, problemResponse } from '../../shared/api/problem.ts';
import { findRoute } from '../../shared/api/route-match.ts';
import { API_ROUTES, type OperationId } from '../../shared/api/routes.ts';
import { getBrake, releaseBrake } from './brake.ts';
import type { ApiDeps } from './deps.ts';
import { getCheckHistory, getSiteUptime, getStatusBadge, getStatusPage } from './history.ts';
import { acknowledgeIncident, getIncident, listIncidents } from './incidents.ts';
import { createMaintenance, deleteMaintenance, listMaintenance } from './maintenance.ts';
import { getOpenApi } from './meta.ts';
import type { RouteHandler } from './middleware.ts';
import { failbackSite, failoverSite, getSite, listSites, overrideSite } from './sites.ts';
import {
  createWebhook,
  deleteWebhook,
  disableWebhook,
  enableWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  receiveHook,
  redeliverWebhook,
} from './webhooks.ts';

/** The handler of every operation of the route table (a missing one is a compile error). */
const HANDLERS: Record<OperationId, (deps: ApiDeps) => RouteHandler> = {
  getOpenApi,
  listSites,
  getSite,
  overrideSite,
  failoverSite,
  failbackSite,
  getBrake,
  releaseBrake,
  getCheckHistory,
  getSiteUptime,
  getStatusPage,
  getStatusBadge,
  listIncidents,
  getIncident,
  acknowledgeIncident,
  listMaintenance,
  createMaintenance,
  deleteMaintenance,
  createWebhook,
  listWebhooks,
  getWebhook,
  deleteWebhook,
  enableWebhook,
  disableWebhook,
  listWebhookDeliveries,
  redeliverWebhook,
  receiveHook,
};

/** Every route's handler, keyed by API Gateway route key (`GET /v1/sites/{id}`). */
export function apiHandlers(deps: ApiDeps): Map<string, RouteHandler> {
  return new Map(API_ROUTES.map((r) => [`${r.method} ${r.path}`, HANDLERS[r.operationId](deps)]));
}

/**
 * The Lambda entry's router: the handler of the event's route key; for `$default` (a path or method no route has),
 * a 404 or 405 problem, as the local server answers.
 */
export function routeEvent(
  handlers: ReadonlyMap<string, RouteHandler>,
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { method, path } = event.requestContext.http;
  const lookup = findRoute(API_ROUTES, method, event.rawPath ?? path);
  const key = lookup.found ? `${lookup.found.route.method} ${lookup.found.route.path}` : event.routeKey;
  const handler = handlers.get(key);
  if (handler) {
    // $default carries no path parameters: take them from the match.
    const params = lookup.found?.params ?? {};
    const routed =
      Object.keys(params).length > 0 && !event.pathParameters ? { ...event, pathParameters: params } : event;
    return handler({ ...routed, routeKey: key }, context);
  }
  const problem =
    lookup.found || lookup.allowed.length === 0
      ? new HttpProblem(404, `no route ${path}`, { code: 'no-route' })
      : new HttpProblem(405, `${method} is not allowed on ${path}`, { headers: { allow: lookup.allowed.join(', ') } });
  return Promise.resolve(problemResponse(problem, { instance: path, requestId: event.requestContext.requestId }));
}
