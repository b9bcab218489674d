import { openApiDocument } from '../../shared/api/openapi.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

/** `GET /v1/openapi.json`: public. */
export const getOpenApi = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getOpenApi'), deps, async () => ({
    status: 200,
    body: openApiDocument(),
    headers: { 'cache-control': 'public, max-age=300' },
  }));
