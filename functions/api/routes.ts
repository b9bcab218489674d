import { invokeLocally, type HttpRoute } from '../../shared/api/http-route.ts';
import { API_ROUTES } from '../../shared/api/routes.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandlers } from './router.ts';

/** The API's routes for the local HTTP server (startHttpServer), each handler run as Lambda would run it. */
export function apiRoutes(deps: ApiDeps): HttpRoute[] {
  const handlers = apiHandlers(deps);
  return API_ROUTES.map((r) => {
    const handler = handlers.get(`${r.method} ${r.path}`)!;
    return { method: r.method, path: r.path, handler: (event) => invokeLocally(handler, event, 'failover-api') };
  });
}
