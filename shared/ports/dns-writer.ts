import type { WantedDnsChange } from '../domain/dns-batch.ts';

/** A record set as a zone listing returns it, values normalized (see normalizeRecordValue). */
export interface ListedRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly values: readonly string[];
}

/** Where a zone listing starts, or goes on. */
export interface ListingPosition {
  readonly name: string;
  readonly type: string;
}

/** One page of a zone listing; `next` is where the following page starts, absent on the last. */
export interface ZonePage {
  readonly records: readonly ListedRecord[];
  readonly next?: ListingPosition;
}

/**
 * A hosted zone's records, written in batches and read in pages (Route 53: ChangeResourceRecordSets,
 * ListResourceRecordSets). Errors that may pass on a retry are TransientError; any other is permanent.
 */
export interface DnsZoneWriter {
  /** UPSERTs every change in one request, all or none (Route 53 change batches are transactional). */
  upsert(
    hostedZoneId: string,
    changes: readonly WantedDnsChange[],
  ): Promise<{ readonly changeId: string; readonly status: string }>;
  /** One page of the zone, from `start` (the zone's first record without it). */
  listPage(hostedZoneId: string, start?: ListingPosition, maxItems?: number): Promise<ZonePage>;
}

/** Who asks the budget: writes of wanted states come first, the reconciler's reads leave them room. */
export type RateBudgetPriority = 'write' | 'read';

/**
 * The account's Route 53 request budget, shared by every writer and reader at once (one token per request).
 * `take` answers at once: a token, or how long to wait before asking again.
 */
export interface RateBudget {
  take(
    priority: RateBudgetPriority,
  ): Promise<{ readonly granted: true } | { readonly granted: false; readonly waitMs: number }>;
}

/** Where a sweep over the zones stopped: the zone and the position of the next page. */
export interface ReconcileCursor {
  readonly hostedZoneId: string;
  readonly next: ListingPosition | null;
}

/** The cursor as kept, with when a sweep last saved it (absent in a cursor saved before that was kept). */
export interface StoredReconcileCursor extends ReconcileCursor {
  readonly savedAtMs?: number;
}

/** Keeps the reconciler's cursor between sweeps (one item, shared by both control regions' reconcilers). */
export interface ReconcileCursorStore {
  load(): Promise<StoredReconcileCursor | null>;
  save(cursor: ReconcileCursor, savedAtMs: number): Promise<void>;
}
