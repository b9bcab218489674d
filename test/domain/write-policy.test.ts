import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { SiteConfig } from '../../shared/config/model.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import { decide } from '../../shared/domain/decide.ts';
import type { Action, SiteState, Transition } from '../../shared/domain/model.ts';
import { regionReports, vote } from '../../shared/domain/verdicts.ts';
import { freshnessStepMs, nextLastAt, onlyFresher, staleAfterMs } from '../../shared/domain/write-policy.ts';
import { testBatch } from '../support/observations.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const INTERVAL = 60_000;

function site(policy: {
  failureThreshold: number;
  recoveryThreshold: number;
  staleAfterIntervals: number;
}): SiteConfig {
  const { config, diagnostics } = parseConfig(`version: 1
regions: { probe: [${REGIONS.join(', ')}], control: us-east-1 }
defaults:
  policy: { failureThreshold: ${policy.failureThreshold}, recoveryThreshold: ${policy.recoveryThreshold}, staleAfterIntervals: ${policy.staleAfterIntervals}, holdDownSeconds: 120, remindEveryMinutes: 5 }
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web-fiber, link: fiber, http: { url: 'https://203.0.113.10/' } }
      - { id: tcp-fiber, link: fiber, tcp: { host: 203.0.113.10, port: 443 } }
      - { id: web-lte, link: lte, http: { url: 'https://198.51.100.20/' } }
    dns:
      - { zone: example.com, hostedZoneId: Z0123456789ABC, name: portal.example.com, type: A, values: { fiber: [203.0.113.10], lte: [198.51.100.20] } }
`);
  expect(diagnostics).toEqual([]);
  return config!.sites[0]!;
}

/** A small deterministic generator (mulberry32), so that a failing sequence can be replayed by its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What every decision reads: each region's vote on each link and which regions count towards the quorum. */
function inputs(s: SiteConfig, state: SiteState, now: number) {
  const votes = s.links.flatMap((link) => {
    const checks = s.checks.filter((c) => c.link === link.id);
    return REGIONS.map((r) => vote(s, state, checks, link.id, `region:${r}`, now).vote);
  });
  return { votes, reporting: regionReports(s, state, REGIONS, now).reporting };
}

/** What a decision did, without the counters and times of the evidence (the stored ones may lag, by design). */
function decided(transitions: readonly Transition[], actions: readonly Action[]) {
  return {
    transitions: transitions.map((t) => ({
      ...t,
      explanation: {
        ...t.explanation,
        paths: t.explanation.paths.map((p) => ({ ...p, votes: p.votes.map((v) => [v.vantage, v.vote, v.reason]) })),
      },
    })),
    actions: actions.map((a) =>
      a.kind === 'history' ? [a.id, a.kind, a.record.type] : a.kind === 'alert' ? [a.id, a.subject, a.short] : a,
    ),
  };
}

type Weather = 'calm' | 'stormy';

/** Rounds of each region, staggered and jittered, with faults, silences, impaired rounds and redeliveries. */
function* rounds(
  rand: () => number,
  weather: Weather,
  count: number,
): Generator<{ now: number; batch: ObservationBatch }> {
  let fiber: Outcome = 'up';
  let lte: Outcome = 'up';
  const silentUntil = new Map<string, number>();
  let previous: ObservationBatch | undefined;
  const change = weather === 'calm' ? 0.03 : 0.15;
  for (let n = 0; n < count; n++) {
    if (rand() < change) fiber = (['up', 'down', 'degraded'] as const)[Math.floor(rand() * 3)]!;
    if (rand() < change / 2) lte = rand() < 0.5 ? 'up' : 'down';
    for (const [r, region] of REGIONS.entries()) {
      if (rand() < change / 3) silentUntil.set(region, n + 1 + Math.floor(rand() * 5));
      if ((silentUntil.get(region) ?? -1) > n) continue;
      const at = T0 + n * INTERVAL + (r * INTERVAL) / 3 + Math.floor(rand() * 3000);
      const flip = (o: Outcome): Outcome => (rand() < change / 4 ? (o === 'up' ? 'down' : 'up') : o);
      const batch = testBatch({
        site: 'hq',
        vantage: `region:${region}`,
        at,
        control: rand() < change / 5 ? { ok: false, passed: 0, total: 2, detail: 'dns down' } : null,
        results: [
          { check: 'web-fiber', link: 'fiber', outcome: flip(fiber), kind: 'http' },
          { check: 'tcp-fiber', link: 'fiber', outcome: fiber, kind: 'tcp' },
          { check: 'web-lte', link: 'lte', outcome: flip(lte), kind: 'http' },
        ],
      });
      const arrives = at + 500 + Math.floor(rand() * 4000);
      yield { now: arrives, batch };
      // SQS delivers at least once: now and then the previous batch again, a little later.
      if (previous && rand() < 0.1) yield { now: arrives + 200, batch: previous };
      previous = batch;
    }
  }
}

describe('write policy: lastAt in steps, staleness allowing for them', () => {
  const policy = { intervalSeconds: 10, staleAfterIntervals: 2.5 };

  it('moves a recorded time only a step (1.25 intervals) on, or back', () => {
    expect(freshnessStepMs(policy)).toBe(12_500);
    expect(nextLastAt(undefined, 1000, policy)).toBe(1000);
    expect(nextLastAt(1000, 11_000, policy)).toBe(1000);
    expect(nextLastAt(1000, 13_499, policy)).toBe(1000);
    expect(nextLastAt(1000, 13_500, policy)).toBe(13_500);
    expect(nextLastAt(1000, 500, policy)).toBe(500);
  });

  it('calls a vantage stale after 2.5 intervals plus the step', () => {
    expect(staleAfterMs(policy)).toBe(25_000 + 12_500);
  });
});

describe('onlyFresher', () => {
  const s = site({ failureThreshold: 2, recoveryThreshold: 2, staleAfterIntervals: 2.5 });
  const up = (n: number): ObservationBatch[] =>
    REGIONS.map((region, r) =>
      testBatch({
        site: 'hq',
        vantage: `region:${region}`,
        at: T0 + n * INTERVAL + r * 1000,
        results: [
          { check: 'web-fiber', link: 'fiber', outcome: 'up' },
          { check: 'tcp-fiber', link: 'fiber', outcome: 'up' },
          { check: 'web-lte', link: 'lte', outcome: 'up' },
        ],
      }),
    );
  const after = (state: SiteState | null, batches: ObservationBatch[], now: number) =>
    decide({ site: s, regions: REGIONS, state, batches, now }).state;

  it('is true for a round that confirms saturated counters between two recorded steps, and false otherwise', () => {
    let state: SiteState | null = null;
    for (let n = 0; n < 3; n++) state = after(state, up(n), T0 + n * INTERVAL + 5000);
    // Round 3 is one interval after the last recorded time (round 2): not recorded, counters past the thresholds.
    const r3 = after(state, up(3), T0 + 3 * INTERVAL + 5000);
    expect(r3).not.toEqual(state);
    expect(onlyFresher(state, r3, s.policy)).toBe(true);
    // Round 4 is two intervals after it: recorded.
    expect(onlyFresher(state, after(r3, up(4), T0 + 4 * INTERVAL + 5000), s.policy)).toBe(false);
    // A failed check moves a counter and an outcome.
    const down = up(3).map((b) => ({
      ...b,
      observations: b.observations.map((o) =>
        o.check === 'web-fiber' ? { ...o, outcome: 'down' as const, errorClass: 'connect' as const } : o,
      ),
    }));
    expect(onlyFresher(state, after(state, down, T0 + 3 * INTERVAL + 5000), s.policy)).toBe(false);
    expect(onlyFresher(null, r3, s.policy)).toBe(false);
  });

  it('is false while counters are still below the larger threshold', () => {
    const state = after(null, up(0), T0 + 5000);
    expect(onlyFresher(state, after(state, up(1), T0 + INTERVAL + 5000), s.policy)).toBe(false);
  });
});

describe('a skipped write never changes a decision', () => {
  const policies = [
    { failureThreshold: 1, recoveryThreshold: 2, staleAfterIntervals: 2.5 },
    { failureThreshold: 2, recoveryThreshold: 2, staleAfterIntervals: 2.5 },
    { failureThreshold: 3, recoveryThreshold: 1, staleAfterIntervals: 1 },
    { failureThreshold: 2, recoveryThreshold: 3, staleAfterIntervals: 4 },
  ];
  const cases = policies.flatMap((policy) =>
    (['calm', 'stormy'] as const).flatMap((weather) => [1, 2, 3, 4, 5].map((seed) => ({ policy, weather, seed }))),
  );

  it.each(cases)(
    'decides alike writing every change or only what is more than fresher: $weather, seed $seed, %o',
    ({ policy, weather, seed }) => {
      const s = site(policy);
      const rand = random(seed * 7919 + policy.failureThreshold * 31 + policy.recoveryThreshold);
      let everyState: SiteState | null = null;
      let stored: SiteState | null = null;
      let writesEvery = 0;
      let writesSkipping = 0;
      let transitions = 0;
      for (const { now, batch } of rounds(rand, weather, 150)) {
        const every = decide({ site: s, regions: REGIONS, state: everyState, batches: [batch], now });
        const skipping = decide({ site: s, regions: REGIONS, state: stored, batches: [batch], now });
        expect(decided(skipping.transitions, skipping.actions)).toEqual(decided(every.transitions, every.actions));
        // And what the next decision will read, at any time until the next round.
        for (const later of [now, now + INTERVAL / 3, now + INTERVAL])
          expect(inputs(s, skipping.state, later)).toEqual(inputs(s, every.state, later));
        transitions += every.transitions.length;
        if (every.changed) {
          everyState = every.state;
          writesEvery++;
        }
        if (skipping.changed && !onlyFresher(stored, skipping.state, s.policy)) {
          stored = skipping.state;
          writesSkipping++;
        }
      }
      expect(writesSkipping).toBeLessThanOrEqual(writesEvery);
      if (weather === 'calm' && policy.staleAfterIntervals > 1) expect(writesSkipping).toBeLessThan(writesEvery * 0.8);
      if (weather === 'stormy') expect(transitions).toBeGreaterThan(0);
    },
  );
});
