import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { siteDetail, siteSummary } from '../../shared/api/views.ts';
import { MAX_FAILOVER_HOLD_MS, type OperatorCommand } from '../../shared/domain/model.ts';
import { decideNow, siteOr404, windowsOf } from './common.ts';
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

/** `until` of a request body as epoch ms: 400 naming `body.until` when it is not in the future, or beyond `maxMs`. */
function untilOf(deps: ApiDeps, until: string | undefined, maxMs?: number): number | undefined {
  if (until === undefined) return undefined;
  const at = Date.parse(until);
  const now = deps.clock.now();
  const problem =
    at <= now
      ? 'must be in the future'
      : maxMs !== undefined && at > now + maxMs
        ? `must be at most ${maxMs / 86_400_000} days ahead`
        : undefined;
  if (problem)
    throw new HttpProblem(400, `body.until: ${problem}`, {
      code: 'invalid-request',
      errors: [{ path: 'body.until', message: problem }],
    });
  return at;
}

/** `POST /v1/sites/{id}/override` */
export const overrideSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('overrideSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    let command: OperatorCommand;
    if ('clear' in body) {
      command = { type: 'clear-override', reason: body.reason, by: principal.name };
    } else {
      const until = untilOf(deps, body.until);
      command = {
        type: 'override',
        pin: body.pin,
        reason: body.reason,
        by: principal.name,
        ...(until ? { until } : {}),
      };
    }
    return { status: 200, body: await decideNow(deps, site, [command]) };
  });

/** `POST /v1/sites/{id}/failover` */
export const failoverSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('failoverSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    const until = untilOf(deps, body.until, MAX_FAILOVER_HOLD_MS);
    const command: OperatorCommand = {
      type: 'failover',
      reason: body.reason,
      by: principal.name,
      ...(until ? { until } : {}),
    };
    return { status: 200, body: await decideNow(deps, site, [command]) };
  });

/** `POST /v1/sites/{id}/failback` */
export const failbackSite = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('failbackSite'), deps, async ({ params, body, principal }) => {
    const site = siteOr404(deps, params.id);
    const command: OperatorCommand = { type: 'failback', reason: body.reason, by: principal.name };
    return { status: 200, body: await decideNow(deps, site, [command]) };
  });
