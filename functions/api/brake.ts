import { HttpProblem } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { brakeEngagementView, brakeView } from '../../shared/api/views.ts';
import { BrakeNotEngagedError, getBrakeStatus, releaseBrakeNow } from '../../shared/usecases/operator/brake.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandler, type RouteHandler } from './middleware.ts';

/** The brake use cases' dependencies as the API uses them. */
function brakeDeps(deps: ApiDeps) {
  return {
    config: deps.config,
    store: deps.store,
    clock: deps.clock,
    ...(deps.notifier ? { notifier: deps.notifier } : {}),
    ...(deps.log ? { log: (message: string, extra: Record<string, unknown>) => deps.log!.error(message, extra) } : {}),
  };
}

/** `GET /v1/brake` */
export const getBrake = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('getBrake'), deps, async () => ({
    status: 200,
    body: brakeView(await getBrakeStatus(brakeDeps(deps))),
  }));

/** `POST /v1/brake/release` */
export const releaseBrake = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('releaseBrake'), deps, async ({ body, principal }) => {
    try {
      const out = await releaseBrakeNow(brakeDeps(deps), { by: principal.name, reason: body.reason });
      return {
        status: 200,
        body: { brake: brakeView(out.status), released: brakeEngagementView(out.engagement), alert: out.alert },
      };
    } catch (error) {
      if (!(error instanceof BrakeNotEngagedError)) throw error;
      throw new HttpProblem(409, error.message, {
        code: error.why === 'disabled' ? 'brake-disabled' : 'brake-not-engaged',
        brake: brakeView(error.status),
      });
    }
  });
