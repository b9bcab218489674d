import { routeSpec } from '../../shared/api/routes.ts';
import { siteDetail, siteSummary } from '../../shared/api/views.ts';
import type { OperatorRequest } from '../../shared/usecases/operator/command-site.ts';
import { commandNow, siteOr404, windowsOf } from './common.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

/** `GET /v1/sites` */
export const listSites = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('listSites'), deps, async () => {
    const now = deps.clock.now();
    const items = await Promise.all(
      deps.config.sites.map(async (site) => {
        const state = await deps.store.load(site.id);
        return siteSummary(site, state, state?.maintenance ? await windowsOf(deps, site, now) : []);
      }),
    );
    return { status: 200, body: { items } };
  });

/** `GET /v1/sites/{id}` */
export const getSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getSite'), deps, async ({ params }) => {
    const site = siteOr404(deps, params.id);
    const now = deps.clock.now();
    const [state, windows] = await Promise.all([deps.store.load(site.id), windowsOf(deps, site, now)]);
    return { status: 200, body: siteDetail(site, state, deps.config.regions.probe, now, windows) };
  });

/** `POST /v1/sites/{id}/override` */
export const overrideSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('overrideSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    const by = principal.name;
    const request: OperatorRequest =
      'clear' in body
        ? { type: 'clear-override', reason: body.reason, by }
        : { type: 'override', pin: body.pin, reason: body.reason, by, until: body.until };
    return { status: 200, body: await commandNow(deps, site, request) };
  });

/** `POST /v1/sites/{id}/failover` */
export const failoverSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('failoverSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    const request: OperatorRequest = { type: 'failover', reason: body.reason, by: principal.name, until: body.until };
    return { status: 200, body: await commandNow(deps, site, request) };
  });

/** `POST /v1/sites/{id}/failback` */
export const failbackSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('failbackSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    const request: OperatorRequest = { type: 'failback', reason: body.reason, by: principal.name };
    return { status: 200, body: await commandNow(deps, site, request) };
  });
