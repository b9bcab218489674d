import { createHash, randomBytes } from 'node:crypto';
import type { SiteConfig } from '../config/model.ts';
import type { MaintenanceWindow } from '../domain/model.ts';
import { FailoverError } from '../errors.ts';
import type { Clock } from './clock.ts';
import { ID_PATTERN } from '../contracts/ids.ts';

/** A maintenance window made through the API (windows of sites.yaml live in the configuration). */
export interface StoredMaintenanceWindow {
  /** `<site>.mw-<hex>` (shared/ports/maintenance-store.ts). */
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

/** MaintenanceStore.create: a window with this id exists already. */
export class MaintenanceWindowExistsError extends FailoverError {
  constructor(id: string) {
    super('MAINTENANCE_WINDOW_EXISTS', `maintenance window ${id} exists already`);
    this.name = 'MaintenanceWindowExistsError';
  }
}

/** Where the API keeps maintenance windows; the decider reads them through decideSite's `deps.maintenance`. */
export interface MaintenanceStore {
  /** Stores a new window; an existing id is a MaintenanceWindowExistsError. */
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

/**
 * Ids of maintenance windows made through the API or an inbound hook: `<site>.mw-<12 hex>`. The site is part of the
 * id (the store finds the window's partition from it), and no sites.yaml window id contains a dot.
 */
const ID = new RegExp(`^(${ID_PATTERN.source.slice(1, -1)})\\.mw-[0-9a-f]{12}$`, 'i');

/** A new random window id of `site`. */
export function randomWindowId(site: string): string {
  return `${site}.mw-${randomBytes(6).toString('hex')}`;
}

/**
 * The id of the window a source's change ticket opens: deterministic, so that a resent "open" finds its window and a
 * "close" finds it too.
 */
export function ticketWindowId(source: string, site: string, ticket: string): string {
  return `${site}.mw-${createHash('sha256').update(`${source}\n${ticket}`).digest('hex').slice(0, 12)}`;
}

/** The site of a window id made by the API or a hook, or null when `id` is not one. */
export function siteOfWindowId(id: string): string | null {
  return ID.exec(id)?.[1] ?? null;
}
