import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { SiteConfig } from '../../shared/config/model.ts';
import { decayedPenalty, penalize, refresh, secondsUntilReuse } from '../../shared/domain/damping.ts';
import { initialState } from '../../shared/domain/decide.ts';
import type { SiteState } from '../../shared/domain/model.ts';
import { applyBatch, streakKey } from '../../shared/domain/streaks.ts';
import { vote } from '../../shared/domain/verdicts.ts';
import { testBatch, type TestResult } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

// The engine's parts on their own, table by table: damping, streaks, one region's vote.

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

function site(policy = 'intervalSeconds: 60, failureThreshold: 2, recoveryThreshold: 2'): SiteConfig {
  const { config, diagnostics } = parseConfig(twoLinkConfigYaml({ regions: REGIONS, policy, sites: [{ id: 'hq' }] }));
  expect(diagnostics).toEqual([]);
  return config!.sites[0]!;
}

describe('damping (RFC 2439: penalty, half-life, suppress and reuse)', () => {
  const damping = {
    enabled: true,
    penalty: 1000,
    halfLifeSeconds: 600,
    suppressLimit: 2000,
    reuseLimit: 750,
    maxPenalty: 4000,
  };
  const none = { penalty: 0, at: T0, suppressed: false, announced: false };

  it.each([
    // [penalty held, seconds later, penalty then]
    [1000, 0, 1000],
    [1000, 600, 500],
    [1000, 1200, 250],
    [4000, 1800, 500],
    [0, 600, 0],
  ])('a penalty of %d decays to %d after %d s', (penalty, seconds, expected) => {
    expect(decayedPenalty({ ...none, penalty }, damping, T0 + seconds * 1000)).toBeCloseTo(expected, 6);
  });

  it.each([
    // [failovers, seconds apart, penalty after the last, suppressed]
    [1, 0, 1000, false],
    [2, 0, 2000, false],
    [3, 0, 3000, true],
    [5, 0, 4000, true], // capped at maxPenalty
    [3, 600, 1750, false], // 1000 -> 500+1000 -> 750+1000
  ])('%d failovers %d s apart: penalty %d, suppressed %s', (count, apart, penalty, suppressed) => {
    let state = none;
    for (let i = 0; i < count; i++) state = penalize(state, damping, T0 + i * apart * 1000);
    expect(state.penalty).toBeCloseTo(penalty, 6);
    expect(state.suppressed).toBe(suppressed);
  });

  it.each([
    // [suppressed before, penalty now, suppressed after]: hysteresis between reuseLimit and suppressLimit
    [false, 2500, true],
    [false, 1500, false],
    [true, 1500, true],
    [true, 760, true],
    [true, 740, false],
  ])('suppressed %s at a penalty of %d: suppressed %s', (before, penalty, after) => {
    expect(refresh({ ...none, penalty, suppressed: before }, damping, T0).suppressed).toBe(after);
  });

  it.each([
    [3000, 1200],
    [1500, 600],
    [700, null],
  ])('from a penalty of %d, reuse in %s s', (penalty, seconds) => {
    expect(secondsUntilReuse({ ...none, penalty }, damping, T0)).toBe(seconds);
  });

  it('does nothing when disabled, and lifts a suppression left from before', () => {
    const off = { ...damping, enabled: false };
    expect(penalize(none, off, T0)).toBe(none);
    expect(refresh({ ...none, penalty: 3000, suppressed: true }, off, T0).suppressed).toBe(false);
  });
});

/** One region's rounds of web-fiber, one minute apart, folded into a fresh state. */
function fold(s: SiteConfig, rounds: readonly TestResult['outcome'][], region = 'us-east-1'): SiteState {
  const state = initialState(s, T0);
  rounds.forEach((outcome, i) => {
    const batch = testBatch({
      site: s.id,
      vantage: `region:${region}`,
      at: T0 + (i + 1) * 60_000,
      results: [{ check: 'web-fiber', link: 'fiber', outcome }],
    });
    applyBatch(state, batch, s, REGIONS);
  });
  return state;
}

describe('streaks', () => {
  it.each([
    // [rounds, down, notUp, up]
    [['up'], 0, 0, 1],
    [['up', 'up', 'up'], 0, 0, 3],
    [['up', 'down'], 1, 1, 0],
    [['down', 'down', 'degraded'], 0, 3, 0],
    [['down', 'degraded', 'up'], 0, 0, 1],
    [['degraded', 'down', 'down'], 2, 3, 0],
  ] as const)('%j: down %d, not up %d, up %d', (rounds, down, notUp, up) => {
    const state = fold(site(), rounds);
    expect(state.streaks[streakKey('web-fiber', 'fiber', 'region:us-east-1')]).toMatchObject({ down, notUp, up });
  });

  it('ignores a round it has applied, an unknown check, another site and an unconfigured region', () => {
    const s = site();
    const state = fold(s, ['down']);
    const before = structuredClone(state);
    const at = T0 + 60_000;
    const batch = (over: { site?: string; vantage?: string; check?: string }) =>
      testBatch({
        site: over.site ?? 'hq',
        vantage: over.vantage ?? 'region:us-east-1',
        at,
        results: [{ check: over.check ?? 'web-fiber', link: 'fiber', outcome: 'up' }],
      });
    for (const b of [batch({}), batch({ check: 'nope' }), batch({ site: 'shop' }), batch({ vantage: 'region:mars-1' })])
      applyBatch(state, b, s, REGIONS);
    expect(state.streaks).toEqual(before.streaks);
  });
});

describe('one region vote', () => {
  const voteOf = (s: SiteConfig, state: SiteState, at: number) =>
    vote(
      s,
      state,
      s.checks.filter((c) => c.link === 'fiber'),
      'fiber',
      'region:us-east-1',
      at,
    );

  it.each([
    // [rounds, vote]
    [[], 'abstain'],
    [['up'], 'undecided'],
    [['up', 'up'], 'up'],
    [['down'], 'undecided'],
    [['down', 'down'], 'down'],
    [['degraded', 'degraded'], 'degraded'],
    [['down', 'up'], 'undecided'],
    [['up', 'skipped'], 'abstain'],
  ] as const)('after %j: %s', (rounds, expected) => {
    const s = site();
    const state = fold(s, rounds);
    expect(voteOf(s, state, T0 + (rounds.length + 1) * 60_000).vote).toBe(expected);
  });

  it('fails over on degraded when the policy says so', () => {
    const s = site('intervalSeconds: 60, failureThreshold: 2, recoveryThreshold: 2, failoverOn: [down, degraded]');
    expect(voteOf(s, fold(s, ['degraded', 'degraded']), T0 + 3 * 60_000).vote).toBe('down');
  });

  it('abstains with the reason when its evidence is stale or its control checks failed', () => {
    const s = site();
    const stale = voteOf(s, fold(s, ['down', 'down']), T0 + 60 * 60_000);
    expect(stale).toMatchObject({ vote: 'abstain', reason: 'stale' });
    const state = fold(s, ['down']);
    const impaired = testBatch({
      site: 'hq',
      vantage: 'region:us-east-1',
      at: T0 + 2 * 60_000,
      results: [{ check: 'web-fiber', link: 'fiber', outcome: 'down' }],
      control: { ok: false, passed: 0, total: 2, detail: 'vantage impaired' },
    });
    applyBatch(state, impaired, s, REGIONS);
    expect(voteOf(s, state, T0 + 3 * 60_000)).toMatchObject({ vote: 'abstain', reason: 'impaired' });
  });
});
