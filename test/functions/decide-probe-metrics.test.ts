import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import { parseConfig } from '../../shared/config/load.ts';
import { OUTCOME_STATISTIC, PROBE_OUTCOME_VALUE } from '../../shared/cost/custom-metrics.ts';
import { initialState } from '../../shared/domain/decide.ts';
import { regionsReporting } from '../../functions/decide/probe-metrics.ts';
import { captureLogs } from '../support/lambda.ts';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

function batch(vantage: string, outcomes: ('up' | 'degraded' | 'down')[]): ObservationBatch {
  const roundId = '2026-11-25T18:00:00.000Z';
  return {
    v: 1,
    site: 'hq',
    vantage,
    roundId,
    startedAt: roundId,
    control: null,
    observations: outcomes.map((outcome, i) => ({
      v: 1,
      site: 'hq',
      check: `c${i}`,
      link: 'fiber',
      dependency: null,
      kind: 'tcp',
      vantage,
      roundId,
      at: roundId,
      outcome,
      latencyMs: outcome === 'down' ? null : 10 * (i + 1),
      errorClass: outcome === 'down' ? 'timeout' : null,
      detail: outcome,
      fields: {},
      attempts: [{ outcome, latencyMs: null, errorClass: null, detail: outcome, at: roundId }],
    })),
  };
}

describe("the decider's per-region probe metrics", () => {
  it('publishes an outcome point per observation in one EMF record per probe region, none for agents', async () => {
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'failover-decide');
    vi.resetModules();
    const { publishProbeMetrics } = await import('../../functions/decide/probe-metrics.ts');
    const { metrics } = await import('../../functions/shared/runtime.ts');
    const logs = captureLogs();

    publishProbeMetrics([
      batch('region:us-east-1', ['up', 'down']),
      batch('region:eu-west-1', ['degraded']),
      batch('region:us-east-1', ['up']),
      batch('site:hq/fiber', ['down']),
    ]);

    const records = logs().filter((r) => '_aws' in r);
    expect(records).toHaveLength(2);
    const east = records.find((r) => r.Region === 'us-east-1')!;
    expect(east).toMatchObject({
      service: 'failover-decide',
      ProbeOutcome: [PROBE_OUTCOME_VALUE.up, PROBE_OUTCOME_VALUE.down, PROBE_OUTCOME_VALUE.up],
    });
    expect(east).not.toHaveProperty('ProbeLatency');
    expect((east._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions).toEqual(
      [['service', 'Region']],
    );
    expect(records.find((r) => r.Region === 'eu-west-1')).toMatchObject({ ProbeOutcome: 2 });

    // Latency of every region's observations goes with the invocation's metrics (no Region dimension); a down
    // observation without a latency adds no point.
    metrics.publishStoredMetrics();
    const invocation = logs().filter((r) => '_aws' in r && !('Region' in r));
    expect(invocation).toEqual([expect.objectContaining({ service: 'failover-decide', ProbeLatency: [10, 10, 10] })]);
  });

  it('has trimmed-count statistics that each count exactly one outcome value', () => {
    const inRange = (stat: string, v: number) => {
      const [lo, hi] = /TC\(([\d.]+):([\d.]+)\)/.exec(stat)!.slice(1).map(Number) as [number, number];
      return v > lo && v <= hi;
    };
    for (const [outcome, stat] of Object.entries(OUTCOME_STATISTIC)) {
      const counted = Object.entries(PROBE_OUTCOME_VALUE).filter(([, v]) => inRange(stat, v));
      expect(counted.map(([o]) => o)).toEqual([outcome]);
    }
  });
});

describe('regionsReporting: the one metric of the silent-region alarm', () => {
  const { config, diagnostics } = parseConfig(`version: 1
regions: { probe: [us-east-1, us-west-2, eu-west-1], control: us-east-1 }
sites:
  - id: hq
    policy: { intervalSeconds: 60, staleAfterIntervals: 2.5 }
    links:
      - { id: fiber, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: fiber, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
`);
  expect(diagnostics).toEqual([]);
  const site = config!.sites[0]!;
  const regions = config!.regions.probe;
  const NOW = Date.UTC(2026, 10, 25, 18, 0, 0);
  const stateWith = (lastAt: Record<string, number>) => {
    const state = initialState(site, NOW - 3_600_000);
    for (const [vantage, at] of Object.entries(lastAt))
      state.vantages[vantage] = { lastRound: new Date(at).toISOString(), lastAt: at, impaired: false, detail: '' };
    return state;
  };

  it.each([
    // Stale after 2.5 intervals plus the 1.25 by which a recorded lastAt may lag (shared/domain/write-policy.ts).
    { case: 'every region within the stale window (225 s)', ages: [10, 70, 225], expected: 3 },
    { case: 'one region recorded more than 3.75 intervals ago', ages: [10, 70, 226], expected: 2 },
    { case: 'two regions silent', ages: [10, 400, 3600], expected: 1 },
    { case: 'every region silent', ages: [230, 400, 3600], expected: 0 },
  ])('counts the regions heard from on the site: $case', ({ ages, expected }) => {
    const state = stateWith(Object.fromEntries(regions.map((r, i) => [`region:${r}`, NOW - ages[i]! * 1000])));
    expect(regionsReporting(site, state, regions, NOW)).toBe(expected);
  });

  it('counts an impaired region as reporting (it abstains, but it is heard from) and ignores the agent', () => {
    const state = stateWith({
      'region:us-east-1': NOW,
      'region:us-west-2': NOW,
      'region:eu-west-1': NOW,
      'site:hq/fiber': NOW - 3_600_000,
    });
    state.vantages['region:eu-west-1']!.impaired = true;
    expect(regionsReporting(site, state, regions, NOW)).toBe(3);
  });

  it('says nothing until every region has been heard from once (a new site, the first rounds)', () => {
    expect(regionsReporting(site, stateWith({}), regions, NOW)).toBeUndefined();
    expect(regionsReporting(site, stateWith({ 'region:us-east-1': NOW, 'region:us-west-2': NOW }), regions, NOW)).toBe(
      undefined,
    );
  });
});
