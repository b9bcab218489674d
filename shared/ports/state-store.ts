import type { FleetBrake } from '../domain/brake.ts';
import type { IncidentRecord, SiteState, Transition } from '../domain/model.ts';
import { FailoverError, TransientError } from '../errors.ts';

/** The site's state changed since it was read: read it again and decide again. */
export class VersionConflictError extends FailoverError {
  constructor(site: string, expected: number | null, options?: { cause?: unknown }) {
    super('VERSION_CONFLICT', `state of site ${site} is no longer at version ${expected ?? 'none'}`, options);
    this.name = 'VersionConflictError';
  }
}

/** The fleet item of the mass-failover brake changed since it was read: read it again and decide again. */
export class FleetBrakeConflictError extends FailoverError {
  constructor(expected: number | null, options?: { cause?: unknown }) {
    super('FLEET_BRAKE_CONFLICT', `the fleet brake item is no longer at version ${expected ?? 'none'}`, options);
    this.name = 'FleetBrakeConflictError';
  }
}

/** A store's table failed in a way that retrying later may fix (throttling, network, 5xx): every store's one error. */
export class StoreUnavailableError extends TransientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'STORE_UNAVAILABLE');
    this.name = 'StoreUnavailableError';
  }
}

/** A pagination cursor that the store did not hand out for this query. */
export class BadCursorError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_CURSOR', message, options);
    this.name = 'BadCursorError';
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; pass it back for the next page. Absent on the last page. */
  readonly cursor?: string;
}

/** Where the decider keeps each site's state and history. */
export interface StateStore {
  /** The site's state, or null before its first decision. */
  load(site: string): Promise<SiteState | null>;
  /**
   * Writes `state` (whose `version` must be `expectedVersion + 1`, or 1 for a new site) only if the stored version
   * is still `expectedVersion` (`null`: no state yet). Throws VersionConflictError otherwise, changing nothing.
   */
  save(state: SiteState, expectedVersion: number | null): Promise<void>;
  /** Writes transitions (keyed by site and sequence) and incident snapshots (keyed by id); idempotent. */
  putHistory(
    records: readonly (
      { type: 'transition'; transition: Transition } | { type: 'incident'; incident: IncidentRecord }
    )[],
  ): Promise<void>;
  /**
   * Remembers that the effect of an action was applied (an alert sent), for `days` days: a dispatcher that died before
   * clearing the action from the outbox does not apply it again. Idempotent.
   */
  markApplied(site: string, actionId: string, days?: number): Promise<void>;
  /** Whether markApplied recorded this action. */
  wasApplied(site: string, actionId: string): Promise<boolean>;
  /** A site's transitions, oldest first, with sequence numbers in [fromSeq, toSeq]. */
  listTransitions(site: string, range?: { fromSeq?: number; toSeq?: number; limit?: number }): Promise<Transition[]>;
  getIncident(id: string): Promise<IncidentRecord | null>;
  /**
   * The mass-failover brake's one fleet item (shared/domain/brake.ts) with its version, strongly consistent; null
   * before the first automatic failover. An item that does not decode reads as empty at its version, so that the
   * next write replaces it rather than every failover failing on it.
   */
  loadFleetBrake(): Promise<{ brake: FleetBrake; version: number } | null>;
  /**
   * Writes the fleet item at `expectedVersion + 1` only if the stored version is still `expectedVersion` (`null`:
   * none yet). Throws FleetBrakeConflictError otherwise, changing nothing.
   */
  saveFleetBrake(brake: FleetBrake, expectedVersion: number | null): Promise<void>;
  /** Incidents, newest first, optionally of one site, one status, opened at or after `since`. */
  listIncidents(query: {
    site?: string;
    status?: IncidentRecord['status'];
    since?: number;
    limit?: number;
    cursor?: string;
  }): Promise<Page<IncidentRecord>>;
}
