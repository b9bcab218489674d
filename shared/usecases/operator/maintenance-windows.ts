import { isTimeZone, zonedTimeToEpoch } from '../../config/zoned-time.ts';
import {
  MaintenanceWindowExistsError,
  randomWindowId,
  type StoredMaintenanceWindow,
} from '../../ports/maintenance-store.ts';
import type { DecideSiteOutput } from '../decide-site.ts';
import { decideAndTell, type OperatorDeps } from './command-site.ts';
import {
  ClosedWindowError,
  ConfiguredWindowError,
  InvalidOperatorRequestError,
  UnknownWindowError,
  type RequestIssue,
} from './errors.ts';

export interface OpenWindowRequest {
  readonly site: string;
  /**
   * The window's id when the caller has one that makes the open idempotent (a change ticket's, ticketWindowId): a
   * window with it already is the same window. Absent: a new random id.
   */
  readonly id?: string;
  /** With an offset, or wall-clock time in `timezone`; absent: now. */
  readonly start?: string | undefined;
  readonly end: string;
  readonly timezone: string;
  readonly reason: string;
  readonly ticket: string | null;
  readonly by: string;
}

export interface OpenWindowResult {
  readonly window: StoredMaintenanceWindow;
  /** False when a window with the request's id was open already. */
  readonly created: boolean;
  /** The site decided at once: a window that has begun takes effect now, not at the site's next observation. */
  readonly decision: DecideSiteOutput;
}

/**
 * Opens a maintenance window: a known time zone, an end after the start and not in the past
 * (InvalidOperatorRequestError); a ticket's window that was closed cannot open again (ClosedWindowError).
 */
export async function openMaintenanceWindow(deps: OperatorDeps, request: OpenWindowRequest): Promise<OpenWindowResult> {
  const now = deps.decide.clock.now();
  const { startMs, endMs } = windowTimes(request, now);
  const existing = request.id === undefined ? null : await deps.maintenance.get(request.id);
  if (existing?.cancelledAt != null) throw new ClosedWindowError(request.ticket ?? existing.id);
  let window = existing;
  if (!window) {
    window = {
      id: request.id ?? randomWindowId(request.site),
      site: request.site,
      start: request.start ?? new Date(startMs).toISOString(),
      end: request.end,
      timezone: request.timezone,
      startMs,
      endMs,
      reason: request.reason,
      ticket: request.ticket,
      createdBy: request.by,
      createdAt: now,
      cancelledAt: null,
      cancelledBy: null,
    };
    try {
      await deps.maintenance.create(window);
    } catch (error) {
      // A racing request with the same id created it first: the same window, so the same outcome.
      if (!(error instanceof MaintenanceWindowExistsError && request.id !== undefined)) throw error;
    }
  }
  const decision = await decideAndTell(deps, request.site, []);
  return { window, created: existing === null, decision };
}

function windowTimes(request: OpenWindowRequest, now: number): { startMs: number; endMs: number } {
  const { timezone } = request;
  const fail = (issue: RequestIssue) => new InvalidOperatorRequestError([issue]);
  if (!isTimeZone(timezone)) {
    throw fail({
      field: 'timezone',
      message: `unknown time zone "${timezone}" (expected an IANA name such as Europe/Paris)`,
    });
  }
  const startMs = request.start === undefined ? now : zonedTimeToEpoch(request.start, timezone);
  const endMs = zonedTimeToEpoch(request.end, timezone);
  if (Number.isNaN(startMs)) throw fail({ field: 'start', message: 'expected a date-time such as 2026-12-01T22:00' });
  if (Number.isNaN(endMs)) throw fail({ field: 'end', message: 'expected a date-time such as 2026-12-02T02:00' });
  if (!(endMs > startMs)) throw fail({ field: 'end', message: 'expected end after start' });
  if (endMs <= now) throw fail({ field: 'end', message: 'the window has ended already' });
  return { startMs, endMs };
}

export interface CancelWindowRequest {
  readonly id: string;
  /** The site the caller expects the window at: another site's window is unknown to it. */
  readonly site?: string;
  readonly by: string;
}

export interface CancelWindowResult {
  readonly window: StoredMaintenanceWindow;
  /** False when the window had been cancelled before. */
  readonly cancelled: boolean;
  /** The site decided at once (the window's end takes effect now); null when the site is no longer configured. */
  readonly decision: DecideSiteOutput | null;
}

/**
 * Cancels a maintenance window made through the API or a hook. A window of sites.yaml is refused
 * (ConfiguredWindowError), an unknown one too (UnknownWindowError); cancelling twice is not an error.
 */
export async function cancelMaintenanceWindow(
  deps: OperatorDeps,
  request: CancelWindowRequest,
): Promise<CancelWindowResult> {
  const configured = deps.decide.config.sites.find((s) => s.maintenance.some((w) => w.id === request.id));
  if (configured) throw new ConfiguredWindowError(request.id, configured.id);
  const window = await deps.maintenance.get(request.id);
  if (!window || (request.site !== undefined && window.site !== request.site))
    throw new UnknownWindowError(request.id, request.site);
  const cancelled =
    window.cancelledAt === null ? await deps.maintenance.cancel(request.id, request.by, deps.decide.clock.now()) : null;
  const known = deps.decide.config.sites.some((s) => s.id === window.site);
  const decision = known ? await decideAndTell(deps, window.site, []) : null;
  return { window: cancelled ?? window, cancelled: cancelled !== null, decision };
}
