import type { SiteConfig } from '../config/model.ts';
import type { MaintenanceWindow } from '../domain/model.ts';
import type { Clock } from './clock.ts';

/** A maintenance window made through the API (windows of sites.yaml live in the configuration). */
export interface StoredMaintenanceWindow {
  /** `<site>.mw-<hex>`: the site is part of the id, and no sites.yaml window id contains a dot. */
  readonly id: string;
  readonly site: string;
  /** As given: with an offset, or wall-clock time in `timezone`. */
  readonly start: string;
  readonly end: string;
  readonly timezone: string;
  /** Epoch ms, resolved from start, end and timezone. */
  readonly startMs: number;
  readonly endMs: number;
  readonly reason: string;
  readonly ticket: string | null;
  /** Name of the API key that made it. */
  readonly createdBy: string;
  readonly createdAt: number;
  readonly cancelledAt: number | null;
  readonly cancelledBy: string | null;
}

/** Where the API keeps maintenance windows; the decider reads them through decideSite's `deps.maintenance`. */
export interface MaintenanceStore {
  /** Stores a new window (ids are random; an existing id is an error). */
  create(window: StoredMaintenanceWindow): Promise<void>;
  /** A window by id, cancelled or not; null when unknown. */
  get(id: string): Promise<StoredMaintenanceWindow | null>;
  /** The site's windows that are not cancelled and end after `endingAfter` (epoch ms), by start time. */
  listForSite(site: string, endingAfter: number): Promise<StoredMaintenanceWindow[]>;
  /** Cancels a window: the cancelled window, or null when it is unknown or was cancelled before. */
  cancel(id: string, by: string, at: number): Promise<StoredMaintenanceWindow | null>;
}

/**
 * decideSite's `deps.maintenance` for API windows: the site's windows that have not ended. A cancelled window is
 * absent, so the decision that follows ends it.
 */
export function apiMaintenanceWindows(
  store: MaintenanceStore,
  clock: Clock,
): (site: SiteConfig) => Promise<readonly MaintenanceWindow[]> {
  return async (site) =>
    (await store.listForSite(site.id, clock.now())).map((w) => ({
      id: w.id,
      startMs: w.startMs,
      endMs: w.endMs,
      reason: w.reason,
      ticket: w.ticket ?? undefined,
    }));
}
