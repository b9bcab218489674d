import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { windowView } from '../../shared/api/views.ts';
import { cancelMaintenanceWindow, openMaintenanceWindow } from '../../shared/usecases/operator/maintenance-windows.ts';
import { knownSite, operatorDeps, renderDecision, windowsOf } from './common.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

/** `GET /v1/maintenance` */
export const listMaintenance = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listMaintenance'), deps, async ({ query }) => {
    const sites = query.site === undefined ? deps.config.sites : [knownSite(deps, query.site, 'query.site')];
    const now = deps.clock.now();
    const windows = (await Promise.all(sites.map((s) => windowsOf(deps, s, now)))).flat();
    windows.sort((a, b) => a.window.startMs - b.window.startMs || a.window.id.localeCompare(b.window.id));
    return { status: 200, body: { items: windows.map((w) => windowView(w, now)) } };
  });

/** `POST /v1/maintenance` */
export const createMaintenance = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('createMaintenance'), deps, async ({ body, principal }) => {
    const site = knownSite(deps, body.site, 'body.site');
    const { window, decision } = await openMaintenanceWindow(operatorDeps(deps), {
      site: site.id,
      start: body.start,
      end: body.end,
      timezone: body.timezone ?? 'UTC',
      reason: body.reason,
      ticket: body.ticket ?? null,
      by: principal.name,
    });
    const { transitions } = await renderDecision(deps, site, decision);
    return {
      status: 201,
      body: { window: windowView({ source: 'api', window }, deps.clock.now()), transitions },
      headers: { location: `/v1/maintenance/${encodeURIComponent(window.id)}` },
    };
  });

/** `DELETE /v1/maintenance/{id}` */
export const deleteMaintenance = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('deleteMaintenance'), deps, async ({ params, principal }) => {
    const { window, cancelled, decision } = await cancelMaintenanceWindow(operatorDeps(deps), {
      id: params.id,
      by: principal.name,
    });
    if (!cancelled) throw new HttpProblem(404, `no maintenance window "${params.id}"`, { code: 'unknown-window' });
    const site = deps.config.sites.find((s) => s.id === window.site);
    const transitions = site && decision ? (await renderDecision(deps, site, decision)).transitions : [];
    return { status: 200, body: { window: windowView({ source: 'api', window }, deps.clock.now()), transitions } };
  });
