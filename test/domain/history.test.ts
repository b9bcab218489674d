import { describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS } from '../../shared/contracts/history.ts';
import {
  emptyTally,
  historyDeltas,
  latencyBucket,
  latencyOf,
  serviceUptimeOf,
  uptimeOf,
} from '../../shared/domain/history.ts';
import { decide } from '../../shared/domain/decide.ts';
import type { SiteState } from '../../shared/domain/model.ts';
import { formatPercent, publicStatusOf, uptimeBadge } from '../../shared/usecases/history/status-page.ts';
import { apiTestConfig, REGIONS } from '../support/api.ts';
import { testBatch } from '../support/observations.ts';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const config = apiTestConfig(['hq']);
const site = config.sites[0]!;

function round(at: number, fiber: 'up' | 'down' | 'degraded' | 'skipped', region = 'us-east-1', control?: boolean) {
  return testBatch({
    site: 'hq',
    vantage: `region:${region}`,
    at,
    results: [
      { check: 'web-fiber', link: 'fiber', outcome: fiber },
      { check: 'web-lte', link: 'lte', outcome: 'up' },
    ],
    ...(control === undefined ? {} : { control: { ok: control, passed: control ? 2 : 0, total: 2, detail: '' } }),
  });
}

function decided(state: SiteState | null, batches: ReturnType<typeof round>[], now: number): SiteState {
  return decide({ site, regions: REGIONS, state, batches, commands: [], maintenance: [], now }).state;
}

describe('historyDeltas', () => {
  it('counts each observation once per outcome, latencies in the histogram, the mode once per region round', () => {
    const batches = REGIONS.map((r) => round(T0 + 1000, 'up', r));
    const state = decided(null, batches, T0 + 2000);
    const [delta, ...more] = historyDeltas(batches, null, state);
    expect(more).toEqual([]);
    expect(delta!.start).toBe(T0);
    expect(delta!.checks['web-fiber']).toEqual({
      ...emptyTally(),
      up: 3,
      latencyCount: 3,
      latencySumMs: 37.5,
      histogram: { [latencyBucket(12.5)]: 3 },
    });
    expect(delta!.modes).toEqual({ primary: 3, backup: 0, bothDown: 0, maintenance: 0 });
  });

  it('leaves out a redelivered round, as the engine does', () => {
    const first = [round(T0 + 1000, 'down')];
    const state = decided(null, first, T0 + 2000);
    expect(historyDeltas(first, state, decided(state, first, T0 + 3000))).toEqual([]);
    const next = [round(T0 + 61_000, 'down')];
    expect(historyDeltas(next, state, decided(state, next, T0 + 62_000))[0]!.checks['web-fiber']!.down).toBe(1);
  });

  it('counts the results of a region whose control checks failed, and skipped checks, as skipped', () => {
    const impaired = [round(T0 + 1000, 'down', 'us-east-1', false)];
    const [a] = historyDeltas(impaired, null, decided(null, impaired, T0 + 2000));
    expect(a!.checks['web-fiber']).toMatchObject({ up: 0, down: 0, skipped: 1, latencyCount: 0 });
    const skipped = [round(T0 + 1000, 'skipped')];
    const [b] = historyDeltas(skipped, null, decided(null, skipped, T0 + 2000));
    expect(b!.checks['web-fiber']).toMatchObject({ up: 0, skipped: 1 });
    expect(b!.checks['web-lte']).toMatchObject({ up: 1, skipped: 0 });
  });

  it('puts batches into the 5-minute bucket their round started in, and agent batches count no mode', () => {
    const batches = [round(T0 + 299_999, 'up'), round(T0 + 300_000, 'up', 'us-west-2')];
    const deltas = historyDeltas(batches, null, decided(null, batches, T0 + 301_000));
    expect(deltas.map((d) => d.start)).toEqual([T0, T0 + 300_000]);
    const agent = testBatch({
      site: 'hq',
      vantage: 'site:hq/fiber',
      at: T0,
      results: [{ check: 'web-fiber', link: 'fiber', outcome: 'up' }],
    });
    const [d] = historyDeltas([agent], null, decided(null, [agent], T0 + 1000));
    expect(d!.checks['web-fiber']!.up).toBe(1);
    expect(d!.modes).toEqual({ primary: 0, backup: 0, bothDown: 0, maintenance: 0 });
  });
});

describe('summaries', () => {
  it('take uptime as (up + degraded) over what was counted, null with nothing', () => {
    expect(uptimeOf({ up: 3, degraded: 1, down: 4 })).toBe(0.5);
    expect(uptimeOf({ up: 0, degraded: 0, down: 0 })).toBeNull();
    expect(serviceUptimeOf({ primary: 6, backup: 3, bothDown: 1, maintenance: 50 })).toBe(0.9);
    expect(serviceUptimeOf({ primary: 0, backup: 0, bothDown: 0, maintenance: 5 })).toBeNull();
  });

  it('read percentiles from the histogram as bucket upper bounds, the mean exactly', () => {
    const t = emptyTally();
    const add = (ms: number, n: number) => {
      t.latencyCount += n;
      t.latencySumMs += ms * n;
      t.histogram[latencyBucket(ms)] = (t.histogram[latencyBucket(ms)] ?? 0) + n;
    };
    add(42, 90);
    add(300, 9);
    add(20_000, 1);
    expect(latencyOf(t)).toEqual({ count: 100, avgMs: 264.8, p50Ms: 50, p95Ms: 400, maxMs: 10_000 });
    expect(latencyOf(emptyTally())).toBeNull();
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(10)).toBe(0);
    expect(latencyBucket(10.01)).toBe(1);
    expect(latencyBucket(1e9)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it('format percentages without rounding up to 100', () => {
    expect(formatPercent(1)).toBe('100');
    expect(formatPercent(0.99999)).toBe('99.99');
    expect(formatPercent(0.9995)).toBe('99.95');
    expect(formatPercent(0)).toBe('0.00');
    expect(uptimeBadge('uptime', 0.95)).toContain('#e05d44');
    expect(uptimeBadge('uptime', 0.995)).toContain('#dfb317');
    expect(uptimeBadge('uptime', 0.9995)).toContain('#4c1');
    expect(uptimeBadge('uptime', null)).toContain('no data');
  });

  it('say a site state in public terms', () => {
    const state = decided(null, [round(T0, 'up')], T0 + 1000);
    expect(publicStatusOf(null)).toBe('unknown');
    expect(publicStatusOf(state)).toBe('operational');
    expect(publicStatusOf({ ...state, mode: 'BACKUP_ACTIVE' })).toBe('degraded');
    expect(publicStatusOf({ ...state, mode: 'BOTH_DOWN' })).toBe('outage');
    expect(
      publicStatusOf({ ...state, maintenance: { id: 'w', startedAt: T0, endsAt: T0 + 1, healthyAtStart: true } }),
    ).toBe('maintenance');
  });
});
