import { randomBytes } from 'node:crypto';
import { HttpProblem, type ProblemIssue } from '../../shared/api/problem.ts';
import { routeSpec } from '../../shared/api/routes.ts';
import { windowView, type AnyWindow } from '../../shared/api/views.ts';
import { isTimeZone, zonedTimeToEpoch } from '../../shared/config/zoned-time.ts';
import type { StoredMaintenanceWindow } from '../../shared/ports/maintenance-store.ts';
import { decideNow, knownSite, windowsOf } from './common.ts';
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
    const timezone = body.timezone ?? 'UTC';
    const now = deps.clock.now();
    const issues: ProblemIssue[] = [];
    if (!isTimeZone(timezone)) {
      issues.push({
        path: 'body.timezone',
        message: `unknown time zone "${timezone}" (expected an IANA name such as Europe/Paris)`,
      });
    }
    const startMs = issues.length === 0 ? zonedTimeToEpoch(body.start, timezone) : NaN;
    const endMs = issues.length === 0 ? zonedTimeToEpoch(body.end, timezone) : NaN;
    if (issues.length === 0 && !(endMs > startMs))
      issues.push({ path: 'body.end', message: 'expected end after start' });
    else if (issues.length === 0 && endMs <= now)
      issues.push({ path: 'body.end', message: 'the window has ended already' });
    if (issues.length > 0) {
      throw new HttpProblem(400, issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
        code: 'invalid-request',
        errors: issues,
      });
    }
    const window: StoredMaintenanceWindow = {
      id: `${site.id}.mw-${randomBytes(6).toString('hex')}`,
      site: site.id,
      start: body.start,
      end: body.end,
      timezone,
      startMs,
      endMs,
      reason: body.reason,
      ticket: body.ticket ?? null,
      createdBy: principal.name,
      createdAt: now,
      cancelledAt: null,
      cancelledBy: null,
    };
    await deps.maintenance.create(window);
    // A window that has begun takes effect now, not at the site's next observation.
    const { transitions } = await decideNow(deps, site);
    return {
      status: 201,
      body: { window: windowView({ source: 'api', window }, deps.clock.now()), transitions },
      headers: { location: `/v1/maintenance/${encodeURIComponent(window.id)}` },
    };
  });

/** `DELETE /v1/maintenance/{id}` */
export const deleteMaintenance = (deps: ApiDeps): RouteHandler =>
  apiHandler(routeSpec('deleteMaintenance'), deps, async ({ params, principal }) => {
    const configured = deps.config.sites.find((s) => s.maintenance.some((w) => w.id === params.id));
    if (configured) {
      throw new HttpProblem(
        409,
        `window ${params.id} is defined in sites.yaml (site ${configured.id}); remove it there`,
        {
          code: 'configured-window',
        },
      );
    }
    const now = deps.clock.now();
    const cancelled = await deps.maintenance.cancel(params.id, principal.name, now);
    if (!cancelled) throw new HttpProblem(404, `no maintenance window "${params.id}"`, { code: 'unknown-window' });
    const site = deps.config.sites.find((s) => s.id === cancelled.site);
    const transitions = site ? (await decideNow(deps, site)).transitions : [];
    const view: AnyWindow = { source: 'api', window: cancelled };
    return { status: 200, body: { window: windowView(view, deps.clock.now()), transitions } };
  });
