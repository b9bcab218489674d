import type { Rollup } from '../domain/history.ts';

/** The granularities history is kept at: 5-minute rows written by the decider, hourly and daily ones folded from them. */
export type Granularity = '5m' | '1h' | '1d';

/** How far a site's history has been folded: every hour before `hourEnd` and every day before `dayEnd`. */
export interface FoldMark {
  readonly hourEnd: number;
  readonly dayEnd: number;
}

/**
 * Where each site's history of outcomes, latencies and modes is kept, in rows per 5 minutes, hour and day
 * (docs/state.md, "History"). Not on the failover path: the decider writes it after the state, best effort.
 */
export interface HistoryStore {
  /** Adds `delta` to the site's 5-minute row starting at `delta.start` (atomic counters; one write). */
  add(site: string, delta: Rollup): Promise<void>;
  /** Writes a folded row, replacing what was there (idempotent). */
  put(site: string, granularity: '1h' | '1d', rollup: Rollup): Promise<void>;
  /** The site's rows of `granularity` starting in [fromMs, toMs), oldest first. */
  list(site: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Rollup[]>;
  /** How far the site's history has been folded; null before the first fold. */
  foldMark(site: string): Promise<FoldMark | null>;
  /** Records a fold (only moving forward). */
  setFoldMark(site: string, mark: FoldMark): Promise<void>;
}
