import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { incidentView, transitionView } from '../../shared/api/views.ts';
import { commandNow, knownSite, siteOr404 } from './common.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

/** The longest timeline an incident shows (reminders every 30 min for three weeks). */
const TIMELINE_MAX = 1000;

/** `GET /v1/incidents` */
export const listIncidents = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listIncidents'), deps, async ({ query, event }) => {
    if (query.site !== undefined) knownSite(deps, query.site, 'query.site');
    const page = await deps.store.listIncidents({
      ...(query.site !== undefined ? { site: query.site } : {}),
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.since !== undefined ? { since: Date.parse(query.since) } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    const next = page.cursor ?? null;
    const headers: Record<string, string> = {};
    if (next !== null) {
      const params = new URLSearchParams(event.rawQueryString);
      params.set('cursor', next);
      headers.link = `<${event.rawPath}?${params.toString()}>; rel="next"`;
    }
    return { status: 200, body: { items: page.items.map(incidentView), next }, headers };
  });

/** `GET /v1/incidents/{id}` */
export const getIncident = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getIncident'), deps, async ({ params }) => {
    const incident = await deps.store.getIncident(params.id);
    if (!incident) throw new HttpProblem(404, `no incident "${params.id}"`, { code: 'unknown-incident' });
    const timeline = await deps.store.listTransitions(incident.site, {
      fromSeq: incident.openedSeq,
      toSeq: incident.lastSeq,
      limit: TIMELINE_MAX,
    });
    return { status: 200, body: { ...incidentView(incident), timeline: timeline.map(transitionView) } };
  });

/** `POST /v1/incidents/{id}/acknowledge` */
export const acknowledgeIncident = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('acknowledgeIncident'), deps, async ({ params, principal }) => {
    const incident = await deps.store.getIncident(params.id);
    if (!incident) throw new HttpProblem(404, `no incident "${params.id}"`, { code: 'unknown-incident' });
    const site = siteOr404(deps, incident.site);
    const open = (await deps.store.load(site.id))?.incident;
    if (incident.status === 'resolved' || open?.id !== incident.id) {
      throw new HttpProblem(409, `incident ${incident.id} is resolved`, { code: 'incident-resolved' });
    }
    return { status: 200, body: await commandNow(deps, site, { type: 'acknowledge', by: principal.name }) };
  });
