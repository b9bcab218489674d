import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import { DEFAULT_BRAKE, type BrakeConfig, type SiteConfig } from '../../shared/config/model.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import {
  admit,
  brakeLimit,
  brakeStatus,
  releaseBrake,
  controlOf,
  probeEvidence,
  type Admission,
  type BrakeHold,
  type FleetBrake,
} from '../../shared/domain/brake.ts';
import { decide } from '../../shared/domain/decide.ts';
import type { PathEvidence, SiteState, VantageHealth } from '../../shared/domain/model.ts';
import { testBatch } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const MIN = 60_000;
const BRAKE: BrakeConfig = { enabled: true, maxShare: 0.2, minSites: 2, windowSeconds: 600 };

describe('brakeLimit', () => {
  it.each([
    { sites: 3, config: DEFAULT_BRAKE, limit: 5 },
    { sites: 20, config: DEFAULT_BRAKE, limit: 5 },
    { sites: 26, config: DEFAULT_BRAKE, limit: 5 },
    { sites: 30, config: DEFAULT_BRAKE, limit: 6 },
    { sites: 5000, config: DEFAULT_BRAKE, limit: 1000 },
    { sites: 10, config: { ...DEFAULT_BRAKE, maxShare: 0.3, minSites: 1 }, limit: 3 },
    { sites: 1, config: { ...DEFAULT_BRAKE, minSites: 1 }, limit: 1 },
  ])('$sites sites, maxShare $config.maxShare, minSites $config.minSites: $limit', ({ sites, config, limit }) => {
    expect(brakeLimit(config, sites)).toBe(limit);
  });
});

/** Runs requests in order through `admit`, writing the fleet item back as a store would. */
function run(requests: { site: string; at: number; ruledOut?: boolean }[], sites = 10, config = BRAKE) {
  let fleet: FleetBrake | null = null;
  const out: Admission[] = [];
  for (const r of requests) {
    const a = admit(fleet, { site: r.site, now: T0 + r.at, probesRuledOut: r.ruledOut ?? false }, config, sites);
    if (a.changed) fleet = a.fleet;
    out.push(a);
  }
  return { out, fleet };
}

const verdicts = (out: Admission[]) => out.map((a) => (a.admitted ? a.by : a.hold.announce ? 'HELD+announce' : 'held'));

describe('admit: the sliding window (limit 2 of 10 sites, 10 min)', () => {
  it.each([
    {
      name: 'slots until the limit, then the next is held and announces, later ones are held quietly',
      requests: [
        { site: 'a', at: 0 },
        { site: 'b', at: MIN },
        { site: 'c', at: 2 * MIN },
        { site: 'd', at: 3 * MIN },
      ],
      expected: ['slot', 'slot', 'HELD+announce', 'held'],
    },
    {
      name: 'a site already in the window is admitted again without a second slot (a retry after a crash)',
      requests: [
        { site: 'a', at: 0 },
        { site: 'a', at: MIN },
        { site: 'b', at: 2 * MIN },
        { site: 'c', at: 3 * MIN },
      ],
      expected: ['slot', 'in-window', 'slot', 'HELD+announce'],
    },
    {
      name: 'a held site stays held while the window holds anyone, even when there is room again',
      requests: [
        { site: 'a', at: 0 },
        { site: 'b', at: 5 * MIN },
        { site: 'c', at: 6 * MIN },
        // a ages out at 10 min: one entry left, fewer than the limit, but the engagement holds until empty
        { site: 'c', at: 11 * MIN },
      ],
      expected: ['slot', 'slot', 'HELD+announce', 'HELD+announce'],
    },
    {
      name: 'the brake releases when the window empties, and the next site takes a slot',
      requests: [
        { site: 'a', at: 0 },
        { site: 'b', at: MIN },
        { site: 'c', at: 2 * MIN },
        { site: 'c', at: 11 * MIN + 1 },
        { site: 'd', at: 12 * MIN },
        { site: 'e', at: 13 * MIN },
      ],
      expected: ['slot', 'slot', 'HELD+announce', 'slot', 'slot', 'HELD+announce'],
    },
    {
      name: 'evidence that rules the probes out lets a failover through while held, and it counts',
      requests: [
        { site: 'a', at: 0 },
        { site: 'b', at: MIN },
        { site: 'c', at: 2 * MIN, ruledOut: true },
        { site: 'd', at: 3 * MIN },
        { site: 'e', at: 4 * MIN, ruledOut: true },
      ],
      expected: ['slot', 'slot', 'evidence', 'HELD+announce', 'evidence'],
    },
    {
      name: 'under the limit, evidence is not needed',
      requests: [{ site: 'a', at: 0, ruledOut: false }],
      expected: ['slot'],
    },
  ])('$name', ({ requests, expected }) => {
    expect(verdicts(run(requests).out)).toEqual(expected);
  });

  it('names the engagement by its start, says who announces, and when it releases', () => {
    const { out } = run([
      { site: 'a', at: 0 },
      { site: 'b', at: MIN },
      { site: 'c', at: 2 * MIN },
      { site: 'd', at: 3 * MIN },
    ]);
    const held = out.slice(2).map((a) => (a.admitted ? null : a.hold)) as BrakeHold[];
    expect(held[0]).toEqual({
      engagement: { id: `brake-${new Date(T0 + 2 * MIN).toISOString()}`, since: T0 + 2 * MIN, announcer: 'c' },
      announce: true,
      failedOver: 2,
      limit: 2,
      sites: 10,
      windowSeconds: 600,
      releaseAt: T0 + MIN + 600_000,
    });
    expect(held[1]!.engagement).toEqual(held[0]!.engagement);
    expect(held[1]!.announce).toBe(false);
    // Held quietly under an engagement already stored: nothing to write.
    expect(out[3]!.changed).toBe(false);
  });

  it('keeps at most the limit of entries, the newest', () => {
    const { fleet } = run(
      ['a', 'b', 'c', 'd', 'e'].map((site, i) => ({ site, at: i * MIN, ruledOut: true })),
      10,
    );
    expect(fleet!.entries).toEqual({ d: T0 + 3 * MIN, e: T0 + 4 * MIN });
  });

  it('never holds when disabled, and writes nothing', () => {
    const a = admit(null, { site: 'a', now: T0, probesRuledOut: false }, { ...BRAKE, enabled: false }, 10);
    expect(a).toMatchObject({ admitted: true, by: 'disabled', changed: false });
  });
});

describe('releaseBrake and brakeStatus: an operator releases an engagement (limit 2 of 10 sites, 10 min)', () => {
  const engaged = () =>
    run([
      { site: 'a', at: 0 },
      { site: 'b', at: MIN },
      { site: 'c', at: 2 * MIN },
    ]).fleet!;
  const who = { by: 'alice', reason: 'probes checked: the sites are really down' };

  it('ends the engagement, records who and when, and keeps the window counted', () => {
    const fleet = engaged();
    expect(brakeStatus(fleet, BRAKE, 10, T0 + 3 * MIN)).toMatchObject({
      engagement: { announcer: 'c' },
      failedOver: 2,
      releaseAt: T0 + MIN + 10 * MIN,
      released: false,
      release: null,
    });
    const out = releaseBrake(fleet, { ...who, now: T0 + 3 * MIN }, BRAKE, 10);
    expect(out.released).toBe(true);
    if (!out.released) return;
    expect(out.release).toEqual({
      engagement: `brake-${new Date(T0 + 2 * MIN).toISOString()}`,
      ...who,
      at: T0 + 3 * MIN,
      until: T0 + 13 * MIN,
    });
    expect(out.fleet.entries).toEqual(fleet.entries);
    expect(out.fleet.engagement).toBeNull();
    expect(brakeStatus(out.fleet, BRAKE, 10, T0 + 4 * MIN)).toMatchObject({
      engagement: null,
      released: true,
      failedOver: 2,
      release: out.release,
    });
    expect(brakeStatus(out.fleet, BRAKE, 10, T0 + 13 * MIN).released).toBe(false);
  });

  it('admits every failover for one window from the release, counted, and never engages before it ends', () => {
    const released = releaseBrake(engaged(), { ...who, now: T0 + 3 * MIN }, BRAKE, 10);
    if (!released.released) throw new Error('not released');
    let fleet: FleetBrake = released.fleet;
    const verdict = (site: string, at: number) => {
      const a = admit(fleet, { site, now: T0 + at, probesRuledOut: false }, BRAKE, 10);
      if (a.changed) fleet = a.fleet;
      return a.admitted ? a.by : a.hold.announce ? 'HELD+announce' : 'held';
    };
    // c was held: it fails over on its next decision; d, e, f too, past the limit.
    expect(['c', 'd', 'e', 'f'].map((s, i) => verdict(s, 4 * MIN + i * 1000))).toEqual([
      'released',
      'released',
      'released',
      'released',
    ]);
    // One window after the release, the rule reads the window again: it is full, so the next is held, anew.
    expect(verdict('g', 13 * MIN)).toBe('HELD+announce');
    expect(fleet.engagement?.id).toBe(`brake-${new Date(T0 + 13 * MIN).toISOString()}`);
    // The release stays on the item as the record of the last one.
    expect(fleet.release?.by).toBe('alice');
  });

  it('refuses what there is nothing to release, changing nothing', () => {
    expect(releaseBrake(null, { ...who, now: T0 }, BRAKE, 10)).toMatchObject({ released: false, why: 'not-engaged' });
    // The engagement's window emptied: it released by itself.
    expect(releaseBrake(engaged(), { ...who, now: T0 + 12 * MIN }, BRAKE, 10)).toMatchObject({
      released: false,
      why: 'not-engaged',
    });
    const once = releaseBrake(engaged(), { ...who, now: T0 + 3 * MIN }, BRAKE, 10);
    if (!once.released) throw new Error('not released');
    expect(releaseBrake(once.fleet, { ...who, now: T0 + 4 * MIN }, BRAKE, 10)).toMatchObject({
      released: false,
      why: 'not-engaged',
      status: { released: true },
    });
    expect(releaseBrake(engaged(), { ...who, now: T0 + 3 * MIN }, { ...BRAKE, enabled: false }, 10)).toMatchObject({
      released: false,
      why: 'disabled',
    });
  });
});

describe('probeEvidence: do the control checks rule the probes out?', () => {
  const vantage = (control?: VantageHealth['control'], impaired = false): VantageHealth => ({
    lastRound: 'r',
    lastAt: T0,
    impaired,
    detail: '',
    ...(control ? { control } : {}),
  });
  const path = (votes: Record<string, PathEvidence['votes'][number]['vote']>): PathEvidence => ({
    path: 'fiber',
    role: 'primary',
    verdict: 'down',
    degraded: false,
    votes: Object.entries(votes).map(([vantage, vote]) => ({ vantage, vote, checks: [] })),
  });
  const A = 'region:us-east-1';
  const B = 'region:us-west-2';
  const C = 'region:eu-west-1';

  interface EvidenceCase {
    name: string;
    votes: Record<string, PathEvidence['votes'][number]['vote']>;
    vantages: Record<string, VantageHealth>;
    clean: string[];
    ruledOut: boolean;
  }
  it.each<EvidenceCase>([
    {
      name: 'every voting region clean',
      votes: { [A]: 'down', [B]: 'down', [C]: 'down' },
      vantages: { [A]: vantage('clean'), [B]: vantage('clean'), [C]: vantage('clean') },
      clean: ['us-east-1', 'us-west-2', 'eu-west-1'],
      ruledOut: true,
    },
    {
      name: 'a quorum of the voting regions clean, one partial',
      votes: { [A]: 'down', [B]: 'down', [C]: 'down' },
      vantages: { [A]: vantage('clean'), [B]: vantage('partial'), [C]: vantage('clean') },
      clean: ['us-east-1', 'eu-west-1'],
      ruledOut: true,
    },
    {
      name: 'only one clean region among the voters',
      votes: { [A]: 'down', [B]: 'down', [C]: 'down' },
      vantages: { [A]: vantage('clean'), [B]: vantage('partial'), [C]: vantage('partial') },
      clean: ['us-east-1'],
      ruledOut: false,
    },
    {
      name: 'clean regions that did not vote down do not count',
      votes: { [A]: 'down', [B]: 'down', [C]: 'up' },
      vantages: { [A]: vantage('partial'), [B]: vantage('clean'), [C]: vantage('clean') },
      clean: ['us-west-2'],
      ruledOut: false,
    },
    {
      name: 'no control checks configured: no evidence',
      votes: { [A]: 'down', [B]: 'down', [C]: 'down' },
      vantages: { [A]: vantage(), [B]: vantage(), [C]: vantage() },
      clean: [],
      ruledOut: false,
    },
    {
      name: "the site's agent is no probe region",
      votes: { 'site:hq/fiber': 'down', [A]: 'down' },
      vantages: { 'site:hq/fiber': vantage('clean'), [A]: vantage('clean') },
      clean: ['us-east-1'],
      ruledOut: false,
    },
  ])('$name', ({ votes, vantages, clean, ruledOut }) => {
    const evidence = probeEvidence(path(votes), vantages, 2);
    expect(evidence.clean).toEqual(clean);
    expect(evidence.ruledOut).toBe(ruledOut);
  });

  it.each([
    { control: null, kept: undefined },
    { control: { passed: 0, total: 0 }, kept: undefined },
    { control: { passed: 3, total: 3 }, kept: 'clean' },
    { control: { passed: 2, total: 3 }, kept: 'partial' },
    { control: { passed: 1, total: 3 }, kept: 'partial' },
  ])('a round with control $control is kept as $kept', ({ control, kept }) => {
    expect(controlOf(control)).toBe(kept);
  });
});

describe('decide with the brake', () => {
  const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
  const config = parseConfig(
    twoLinkConfigYaml({
      regions: REGIONS,
      policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
      sites: [{ id: 'hq', dns: [{ name: 'hq.example.com' }] }],
    }),
  ).config!;
  const site: SiteConfig = config.sites[0]!;
  const control = (passed: number) => ({ ok: passed >= 2, passed, total: 3, detail: `${passed}/3` });
  const round = (i: number, fiber: 'up' | 'down', passed: number | null): ObservationBatch[] =>
    REGIONS.map((r) =>
      testBatch({
        site: 'hq',
        vantage: `region:${r}`,
        at: T0 + i * MIN,
        control: passed === null ? null : control(passed),
        results: [
          { check: 'web-fiber', link: 'fiber', outcome: fiber },
          { check: 'web-lte', link: 'lte', outcome: 'up' },
        ],
      }),
    );
  const hold = (announce: boolean, id = 'brake-1'): BrakeHold => ({
    engagement: { id, since: T0, announcer: announce ? 'hq' : 'other' },
    announce,
    failedOver: 4,
    limit: 4,
    sites: 20,
    windowSeconds: 900,
    releaseAt: T0 + 15 * MIN,
  });
  /** The state after three rounds, the last of which fails the fiber over (or would). */
  function toTheBrink(passed: number | null): { state: SiteState; last: ObservationBatch[] } {
    let state: SiteState | null = null;
    for (const [i, fiber] of [
      [0, 'up'],
      [1, 'up'],
      [2, 'down'],
    ] as const)
      state = decide({ site, regions: REGIONS, state, batches: round(i, fiber, passed), now: T0 + i * MIN }).state;
    return { state: state!, last: round(3, 'down', passed) };
  }

  it('says which failover it wants and on what evidence', () => {
    const { state, last } = toTheBrink(3);
    const out = decide({ site, regions: REGIONS, state, batches: last, now: T0 + 3 * MIN });
    expect(out.transitions.map((t) => t.kind)).toEqual(['failover']);
    expect(out.wantedFailover).toEqual({
      to: 'lte',
      evidence: { voted: REGIONS, clean: REGIONS, quorum: 2, ruledOut: true },
    });
    expect(out.state.vantages['region:us-east-1']!.control).toBe('clean');
  });

  it('held: stays on the primary, records failover-held once, and the announcer alone alerts', () => {
    const { state, last } = toTheBrink(2);
    const now = T0 + 3 * MIN;
    const held = decide({ site, regions: REGIONS, state, batches: last, now, brake: hold(true) });
    expect(held.state.mode).toBe('PRIMARY_ACTIVE');
    expect(held.state.activeLink).toBe('fiber');
    expect(held.transitions.map((t) => t.kind)).toEqual(['failover-held']);
    expect(held.actions.filter((a) => a.kind === 'dns' || a.kind === 'agent-command')).toEqual([]);
    const alerts = held.actions.filter((a) => a.kind === 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'critical', event: 'failover-held', dedupKey: 'brake-1' });
    expect(alerts[0]!.kind === 'alert' && alerts[0]!.body).toContain('POST /v1/sites/<site>/failover');
    expect(held.transitions[0]!.explanation.brake).toMatchObject({
      engagement: 'brake-1',
      voted: REGIONS,
      clean: [],
      quorum: 2,
    });
    expect(held.wantedFailover?.evidence.ruledOut).toBe(false);
    expect(held.state.brakeHeld).toEqual({ engagement: 'brake-1', since: now, to: 'lte' });

    // The next round under the same engagement: nothing new to say.
    const again = decide({
      site,
      regions: REGIONS,
      state: held.state,
      batches: round(4, 'down', 2),
      now: T0 + 4 * MIN,
      brake: hold(true),
    });
    expect(again.transitions).toEqual([]);
    expect(again.actions).toEqual([]);

    // Released: the failover goes ahead and says it was held.
    const released = decide({
      site,
      regions: REGIONS,
      state: again.state,
      batches: round(5, 'down', 2),
      now: T0 + 20 * MIN,
    });
    expect(released.transitions.map((t) => t.kind)).toEqual(['failover']);
    expect(released.transitions[0]!.explanation.summary).toContain('held by the mass-failover brake since');
    expect(released.state.brakeHeld).toBeUndefined();
  });

  it('a held site that is not the announcer records its hold without an alert', () => {
    const { state, last } = toTheBrink(null);
    const held = decide({ site, regions: REGIONS, state, batches: last, now: T0 + 3 * MIN, brake: hold(false) });
    expect(held.transitions.map((t) => t.kind)).toEqual(['failover-held']);
    expect(held.actions.filter((a) => a.kind === 'alert')).toEqual([]);
    expect(held.transitions[0]!.explanation.summary).toContain('none of the 3 regions voting ran control checks');
  });

  it('a held site that recovers is no longer held', () => {
    const { state, last } = toTheBrink(null);
    const held = decide({ site, regions: REGIONS, state, batches: last, now: T0 + 3 * MIN, brake: hold(false) });
    let s = held.state;
    for (const i of [4, 5])
      s = decide({
        site,
        regions: REGIONS,
        state: s,
        batches: round(i, 'up', null),
        now: T0 + i * MIN,
        brake: hold(false),
      }).state;
    expect(s.brakeHeld).toBeUndefined();
    expect(s.mode).toBe('PRIMARY_ACTIVE');
  });
});
