import { HISTORY_STEPS, LATENCY_BOUNDS_MS, type HistoryStep, type LatencySummary } from '../contracts/history.ts';
import type { ObservationBatch } from '../contracts/observation.ts';
import type { SiteState } from './model.ts';
import { streakKey } from './streaks.ts';

/** Counters of one check in one bucket: outcomes, and latency as a count, a sum and a histogram. */
export interface CheckTally {
  up: number;
  degraded: number;
  down: number;
  skipped: number;
  latencyCount: number;
  latencySumMs: number;
  /** Counts per LATENCY_BOUNDS_MS bucket, plus one for everything above the last bound; absent buckets are 0. */
  histogram: Record<number, number>;
}

/** The site's mode, counted once per probe region round decided. */
export interface ModeTally {
  primary: number;
  backup: number;
  bothDown: number;
  maintenance: number;
}

/** One bucket of a site's history: every check's tally, and the site's mode tally. */
export interface Rollup {
  /** Epoch ms of the bucket's start (UTC boundary of its granularity). */
  readonly start: number;
  readonly checks: Record<string, CheckTally>;
  readonly modes: ModeTally;
}

export const FIVE_MINUTES_MS = HISTORY_STEPS['5m'].ms;
export const HOUR_MS = HISTORY_STEPS['1h'].ms;
export const DAY_MS = HISTORY_STEPS['1d'].ms;

export const emptyTally = (): CheckTally => ({
  up: 0,
  degraded: 0,
  down: 0,
  skipped: 0,
  latencyCount: 0,
  latencySumMs: 0,
  histogram: {},
});
export const emptyModes = (): ModeTally => ({ primary: 0, backup: 0, bothDown: 0, maintenance: 0 });

/** The histogram bucket of a latency. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

export function floorTo(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs;
}

/** Adds `b` into `a` (mutates `a`). */
export function addTally(a: CheckTally, b: CheckTally): CheckTally {
  a.up += b.up;
  a.degraded += b.degraded;
  a.down += b.down;
  a.skipped += b.skipped;
  a.latencyCount += b.latencyCount;
  a.latencySumMs += b.latencySumMs;
  for (const [k, v] of Object.entries(b.histogram)) a.histogram[Number(k)] = (a.histogram[Number(k)] ?? 0) + v;
  return a;
}

export function addModes(a: ModeTally, b: ModeTally): ModeTally {
  a.primary += b.primary;
  a.backup += b.backup;
  a.bothDown += b.bothDown;
  a.maintenance += b.maintenance;
  return a;
}

/** The rollups summed into one bucket starting at `start`. */
export function sumRollups(start: number, rollups: readonly Rollup[]): Rollup {
  const out: Rollup = { start, checks: {}, modes: emptyModes() };
  for (const r of rollups) {
    for (const [check, tally] of Object.entries(r.checks)) addTally((out.checks[check] ??= emptyTally()), tally);
    addModes(out.modes, r.modes);
  }
  return out;
}

/**
 * What one decision adds to the site's 5-minute rows, from the batches it decided, by bucket. Only what the engine
 * applied counts: an observation of a round its streak already recorded (a redelivery) is left out, as the engine
 * leaves it out, and so is a batch of a round its vantage already recorded. A region whose control checks failed counts its results as skipped. The mode is counted once per
 * probe region batch, as decided.
 */
export function historyDeltas(
  batches: readonly ObservationBatch[],
  previous: SiteState | null,
  decided: SiteState,
): Rollup[] {
  const byStart = new Map<number, Rollup>();
  const bucket = (at: number): Rollup => {
    const start = floorTo(at, FIVE_MINUTES_MS);
    let r = byStart.get(start);
    if (!r) byStart.set(start, (r = { start, checks: {}, modes: emptyModes() }));
    return r;
  };
  for (const batch of batches) {
    const at = Date.parse(batch.startedAt);
    if (!Number.isFinite(at)) continue;
    const impaired = batch.control !== null && !batch.control.ok;
    for (const o of batch.observations) {
      const lastRound = previous?.streaks[streakKey(o.check, o.link, batch.vantage)]?.lastRound;
      if (lastRound !== undefined && o.roundId <= lastRound) continue;
      const tally = (bucket(at).checks[o.check] ??= emptyTally());
      if (impaired) {
        tally.skipped++;
        continue;
      }
      tally[o.outcome]++;
      if (o.latencyMs !== null) {
        tally.latencyCount++;
        tally.latencySumMs += o.latencyMs;
        const h = latencyBucket(o.latencyMs);
        tally.histogram[h] = (tally.histogram[h] ?? 0) + 1;
      }
    }
    const vantageRound = previous?.vantages[batch.vantage]?.lastRound;
    const newRound = vantageRound === undefined || batch.roundId > vantageRound;
    if (!newRound) continue;
    for (const s of batch.skipped ?? []) (bucket(at).checks[s.check] ??= emptyTally()).skipped++;
    if (batch.vantage.startsWith('region:')) {
      const modes = bucket(at).modes;
      if (decided.maintenance) modes.maintenance++;
      else if (decided.mode === 'BOTH_DOWN') modes.bothDown++;
      else if (decided.mode === 'BACKUP_ACTIVE') modes.backup++;
      else modes.primary++;
    }
  }
  return [...byStart.values()];
}

/** (up + degraded) / (up + degraded + down), or null with none. */
export function uptimeOf(t: Pick<CheckTally, 'up' | 'degraded' | 'down'>): number | null {
  const counted = t.up + t.degraded + t.down;
  return counted === 0 ? null : (t.up + t.degraded) / counted;
}

/** (primary + backup) / (primary + backup + bothDown), or null with none. */
export function serviceUptimeOf(m: ModeTally): number | null {
  const counted = m.primary + m.backup + m.bothDown;
  return counted === 0 ? null : (m.primary + m.backup) / counted;
}

/** The upper bound of histogram bucket `i` (the last, open bucket: the last bound). */
function boundOf(i: number): number {
  return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
}

/** Mean (exact), median, 95th percentile and max (histogram bucket bounds) of a tally; null without latencies. */
export function latencyOf(t: CheckTally): LatencySummary | null {
  if (t.latencyCount === 0) return null;
  const filled = Object.entries(t.histogram)
    .map(([k, v]) => [Number(k), v] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = filled.reduce((n, [, v]) => n + v, 0);
  const quantile = (q: number): number => {
    const rank = Math.ceil(q * total);
    let seen = 0;
    for (const [i, v] of filled) {
      seen += v;
      if (seen >= rank) return boundOf(i);
    }
    return boundOf(filled.at(-1)?.[0] ?? 0);
  };
  return {
    count: t.latencyCount,
    avgMs: Math.round((t.latencySumMs / t.latencyCount) * 10) / 10,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    maxMs: boundOf(filled.at(-1)?.[0] ?? 0),
  };
}

/** The bucket starts of [from, to) at `step`: from rounded down, to rounded up. */
export function bucketStarts(fromMs: number, toMs: number, step: HistoryStep): number[] {
  const ms = HISTORY_STEPS[step].ms;
  const out: number[] = [];
  for (let t = floorTo(fromMs, ms); t < toMs; t += ms) out.push(t);
  return out;
}
