import type { SiteConfig } from '../../config/model.ts';
import { HISTORY_STEPS, type CheckHistory, type HistoryStep, type SiteUptime } from '../../contracts/history.ts';
import {
  DAY_MS,
  addTally,
  bucketStarts,
  emptyModes,
  emptyTally,
  floorTo,
  latencyOf,
  serviceUptimeOf,
  sumRollups,
  uptimeOf,
  type CheckTally,
  type Rollup,
} from '../../domain/history.ts';
import { FailoverError } from '../../errors.ts';
import type { Granularity, HistoryStore } from '../../ports/history-store.ts';

/** A history query that cannot be answered as asked (bad range or span): the message names the parameter. */
export class HistoryRangeError extends FailoverError {
  constructor(
    readonly field: 'from' | 'to',
    message: string,
  ) {
    super('HISTORY_RANGE', message);
    this.name = 'HistoryRangeError';
  }
}

export interface HistoryRange {
  readonly step: HistoryStep;
  readonly fromMs: number;
  readonly toMs: number;
}

/** The range of a query: defaults filled, `from` rounded down and `to` up to the step, checked against the step's span. */
export function historyRange(now: number, query: { step?: HistoryStep; from?: string; to?: string }): HistoryRange {
  const step = query.step ?? '5m';
  const { ms, defaultSpanMs, maxSpanMs } = HISTORY_STEPS[step];
  // Default: up to now, the bucket now falls in included.
  const rawTo = query.to === undefined ? now + 1 : Date.parse(query.to);
  const rawFrom = query.from === undefined ? rawTo - defaultSpanMs : Date.parse(query.from);
  if (rawFrom >= rawTo) throw new HistoryRangeError('from', 'must be before to');
  const fromMs = floorTo(rawFrom, ms);
  const toMs = floorTo(rawTo + ms - 1, ms);
  if (toMs - fromMs > maxSpanMs)
    throw new HistoryRangeError(
      'from',
      `the span is longer than ${maxSpanMs / HISTORY_STEPS['1h'].ms} hours, the most a step of ${step} allows; ` +
        'take a larger step or a shorter span',
    );
  return { step, fromMs, toMs };
}

/**
 * The site's rollups in [fromMs, toMs), each summed into its bucket of `step`: the folded rows as far as the fold
 * mark goes, the finer rows after it, so that nothing counts twice (docs/state.md, "History").
 */
export async function readBuckets(
  history: HistoryStore,
  site: string,
  range: HistoryRange,
): Promise<Map<number, Rollup>> {
  const mark = await history.foldMark(site);
  const levels: [Granularity, number][] =
    range.step === '1d'
      ? [
          ['1d', mark?.dayEnd ?? -Infinity],
          ['1h', mark?.hourEnd ?? -Infinity],
          ['5m', Infinity],
        ]
      : range.step === '1h'
        ? [
            ['1h', mark?.hourEnd ?? -Infinity],
            ['5m', Infinity],
          ]
        : [['5m', Infinity]];
  const stepMs = HISTORY_STEPS[range.step].ms;
  const byBucket = new Map<number, Rollup[]>();
  let cursor = range.fromMs;
  for (const [granularity, end] of levels) {
    const segmentEnd = Math.min(range.toMs, end);
    if (segmentEnd <= cursor) continue;
    for (const row of await history.list(site, granularity, cursor, segmentEnd)) {
      const start = floorTo(row.start, stepMs);
      byBucket.set(start, [...(byBucket.get(start) ?? []), row]);
    }
    cursor = segmentEnd;
  }
  return new Map(
    bucketStarts(range.fromMs, range.toMs, range.step).map((s) => [s, sumRollups(s, byBucket.get(s) ?? [])]),
  );
}

function bucketView(t: CheckTally) {
  return {
    up: t.up,
    degraded: t.degraded,
    down: t.down,
    skipped: t.skipped,
    uptime: uptimeOf(t),
    latency: latencyOf(t),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const day = (ms: number) => iso(ms).slice(0, 10);

/** `GET /v1/sites/{id}/checks/{check}/history`. */
export async function checkHistory(
  history: HistoryStore,
  site: SiteConfig,
  check: string,
  range: HistoryRange,
): Promise<CheckHistory> {
  const buckets = await readBuckets(history, site.id, range);
  const total = emptyTally();
  const items = [...buckets.values()].map((b) => {
    const t = b.checks[check] ?? emptyTally();
    addTally(total, t);
    return { start: iso(b.start), ...bucketView(t) };
  });
  return {
    site: site.id,
    check,
    step: range.step,
    from: iso(range.fromMs),
    to: iso(range.toMs),
    buckets: items,
    total: bucketView(total),
  };
}

/** The day range of `days` UTC days ending with the day of `now`. */
export function dayRange(now: number, days: number): HistoryRange {
  const toMs = floorTo(now, DAY_MS) + DAY_MS;
  return { step: '1d', fromMs: toMs - days * DAY_MS, toMs };
}

/** `GET /v1/sites/{id}/uptime`. */
export async function siteUptime(
  history: HistoryStore,
  site: SiteConfig,
  now: number,
  days: number,
): Promise<SiteUptime> {
  const range = dayRange(now, days);
  const buckets = [...(await readBuckets(history, site.id, range)).values()];
  const modes = emptyModes();
  const serviceDays = buckets.map((b) => {
    modes.primary += b.modes.primary;
    modes.backup += b.modes.backup;
    modes.bothDown += b.modes.bothDown;
    modes.maintenance += b.modes.maintenance;
    return { date: day(b.start), ...b.modes, uptime: serviceUptimeOf(b.modes) };
  });
  return {
    site: site.id,
    from: day(range.fromMs),
    to: day(range.toMs - DAY_MS),
    service: { uptime: serviceUptimeOf(modes), days: serviceDays },
    checks: site.checks.map((c) => {
      const total = emptyTally();
      const checkDays = buckets.map((b) => {
        const t = b.checks[c.id] ?? emptyTally();
        addTally(total, t);
        return { date: day(b.start), ...bucketView(t) };
      });
      return { check: c.id, name: c.name ?? null, link: c.link, uptime: uptimeOf(total), days: checkDays };
    }),
  };
}
