import type { HttpRoute } from '../shared/api/http-route.ts';
import { WEB_ROUTES, type WebAssets } from '../shared/api/web-assets.ts';

/** The dashboard, the status pages (`statusPages` ids, in order) and their assets as routes of the local server. */
export function webRoutes(assets: WebAssets, statusPages: readonly string[] = []): HttpRoute[] {
  return WEB_ROUTES.map((r) => ({
    method: r.method,
    path: r.path,
    handler: async (event) => assets.respond(event.rawPath, event.headers, statusPages),
  }));
}
