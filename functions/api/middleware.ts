import type { ApiRouteSpec } from '../../shared/api/routes.ts';
import {
  routeHandler,
  type ApiCall,
  type ApiReply,
  type RouteHandler,
  type RouteLog,
} from '../shared/route-handler.ts';
import type { ApiDeps } from './deps.ts';

export type { ApiCall, ApiReply, RouteHandler };
export { bodyText } from '../shared/route-handler.ts';

const consoleLog: RouteLog = { error: (message, ...extra) => console.error(message, ...extra) };

/** An API route's handler (routeHandler) with the API's key store, log and body limit. */
export function apiHandler<S extends ApiRouteSpec>(
  spec: S,
  deps: ApiDeps,
  fn: (call: ApiCall<S>) => Promise<ApiReply>,
): RouteHandler {
  return routeHandler(
    spec,
    {
      log: deps.log ?? consoleLog,
      keys: { store: deps.apiKeys, pepper: deps.pepper, clock: deps.clock },
      ...(deps.maxBodyBytes !== undefined ? { maxBodyBytes: deps.maxBodyBytes } : {}),
    },
    fn,
  );
}
