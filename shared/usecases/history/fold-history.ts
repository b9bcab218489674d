import type { FailoverConfig } from '../../config/model.ts';
import { DAY_MS, HOUR_MS, floorTo, sumRollups } from '../../domain/history.ts';
import type { Clock } from '../../ports/clock.ts';
import type { HistoryStore } from '../../ports/history-store.ts';

/** How long after an hour ends its 5-minute rows are folded: a round published late still lands before. */
export const FOLD_GRACE_MS = 10 * 60_000;
/** How long each granularity is kept (its rows' TTL). */
export const HISTORY_RETENTION_MS = { '5m': 3 * DAY_MS, '1h': 35 * DAY_MS, '1d': 400 * DAY_MS } as const;
/** Hours folded per site and run at most: a fold that fell behind catches up over a few runs. */
export const MAX_HOURS_PER_RUN = 72;

export interface FoldHistoryDeps {
  readonly config: FailoverConfig;
  readonly history: HistoryStore;
  readonly clock: Clock;
}

export interface FoldHistoryOutput {
  readonly hours: number;
  readonly days: number;
  readonly failed: readonly { site: string; error: unknown }[];
}

/**
 * Folds every site's finished hours of 5-minute rows into hourly rows, and finished days of hourly rows into daily
 * rows, then moves the site's fold mark. Each folded row is written whole (not added to), so a fold run twice, or
 * two runs racing, write the same rows. Run every few minutes (the reconcile schedule, the local runtime's timer).
 */
export async function foldHistory(deps: FoldHistoryDeps): Promise<FoldHistoryOutput> {
  const now = deps.clock.now();
  let hours = 0;
  let days = 0;
  const failed: { site: string; error: unknown }[] = [];
  for (const site of deps.config.sites) {
    try {
      const mark = await deps.history.foldMark(site.id);
      const oldest = floorTo(now - HISTORY_RETENTION_MS['5m'], HOUR_MS) + HOUR_MS;
      let hourEnd = Math.max(mark?.hourEnd ?? oldest, oldest);
      const lastHourEnd = Math.min(floorTo(now - FOLD_GRACE_MS, HOUR_MS), hourEnd + MAX_HOURS_PER_RUN * HOUR_MS);
      for (; hourEnd < lastHourEnd; hourEnd += HOUR_MS) {
        const rows = await deps.history.list(site.id, '5m', hourEnd, hourEnd + HOUR_MS);
        if (rows.length === 0) continue;
        await deps.history.put(site.id, '1h', sumRollups(hourEnd, rows));
        hours++;
      }
      let dayEnd = Math.max(mark?.dayEnd ?? floorTo(oldest, DAY_MS), floorTo(now - HISTORY_RETENTION_MS['1h'], DAY_MS));
      const lastDayEnd = floorTo(hourEnd, DAY_MS);
      for (; dayEnd < lastDayEnd; dayEnd += DAY_MS) {
        const rows = await deps.history.list(site.id, '1h', dayEnd, dayEnd + DAY_MS);
        if (rows.length === 0) continue;
        await deps.history.put(site.id, '1d', sumRollups(dayEnd, rows));
        days++;
      }
      if (!mark || mark.hourEnd !== hourEnd || mark.dayEnd !== dayEnd)
        await deps.history.setFoldMark(site.id, { hourEnd, dayEnd });
    } catch (error) {
      failed.push({ site: site.id, error });
    }
  }
  return { hours, days, failed };
}
