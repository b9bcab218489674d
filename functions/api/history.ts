import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import type { HistoryStore } from '../../shared/ports/history-store.ts';
import {
  checkHistory,
  historyRange,
  HistoryRangeError,
  siteUptime,
} from '../../shared/usecases/history/read-history.ts';
import { pageUptime, statusPage, statusPageConfig, uptimeBadge } from '../../shared/usecases/history/status-page.ts';
import { siteOr404 } from './common.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

function historyOf(deps: ApiDeps): HistoryStore {
  if (!deps.history) {
    throw new HttpProblem(503, 'history is not kept on this control plane', { code: 'history-unavailable' });
  }
  return deps.history;
}

/** The same 404 for every page that is not configured: it says nothing of what exists. */
const NO_PAGE = () => new HttpProblem(404, 'no such status page', { code: 'no-status-page' });

/** `GET /v1/sites/{id}/checks/{check}/history` */
export const getCheckHistory = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getCheckHistory'), deps, async ({ params, query }) => {
    const site = siteOr404(deps, params.id);
    if (!site.checks.some((c) => c.id === params.check))
      throw new HttpProblem(404, `site "${site.id}" has no check "${params.check}"`, { code: 'unknown-check' });
    let range;
    try {
      range = historyRange(deps.clock.now(), query);
    } catch (error) {
      if (!(error instanceof HistoryRangeError)) throw error;
      throw new HttpProblem(400, `query.${error.field}: ${error.message}`, {
        code: 'invalid-request',
        errors: [{ path: `query.${error.field}`, message: error.message }],
      });
    }
    return { status: 200, body: await checkHistory(historyOf(deps), site, params.check, range) };
  });

/** `GET /v1/sites/{id}/uptime` */
export const getSiteUptime = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getSiteUptime'), deps, async ({ params, query }) => {
    const site = siteOr404(deps, params.id);
    return { status: 200, body: await siteUptime(historyOf(deps), site, deps.clock.now(), query.days ?? 90) };
  });

/** `GET /v1/status/{page}`: public. */
export const getStatusPage = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getStatusPage'), deps, async ({ params, query }) => {
    const page = statusPageConfig(deps.config, params.page);
    if (!page) throw NO_PAGE();
    const body = await statusPage(
      { config: deps.config, store: deps.store, history: historyOf(deps) },
      page,
      deps.clock.now(),
      query.days ?? 90,
    );
    return { status: 200, body, headers: { 'cache-control': 'public, max-age=30' } };
  });

/** `GET /v1/status/{page}/badge.svg`: public. */
export const getStatusBadge = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getStatusBadge'), deps, async ({ params, query }) => {
    const page = statusPageConfig(deps.config, params.page);
    if (!page) throw NO_PAGE();
    const uptime = await pageUptime(
      { config: deps.config, store: deps.store, history: historyOf(deps) },
      page,
      deps.clock.now(),
      query.days ?? 30,
      query.component,
    );
    if (uptime === undefined)
      throw new HttpProblem(400, `query.component: not a component of this page`, {
        code: 'invalid-request',
        errors: [{ path: 'query.component', message: 'not a component of this page' }],
      });
    return {
      status: 200,
      text: uptimeBadge(query.label ?? 'uptime', uptime),
      headers: { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'public, max-age=300' },
    };
  });
