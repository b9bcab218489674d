import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig, SiteConfig } from '../../shared/config/model.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import { decide, recordDrift, recordFailures, type DecideInput } from '../../shared/domain/decide.ts';
import type { Action, OperatorCommand, SiteState, Transition } from '../../shared/domain/model.ts';
import { evaluateLinks } from '../../shared/domain/verdicts.ts';
import { testBatch } from '../support/observations.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
type Region = (typeof REGIONS)[number];
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const INTERVAL = 60_000;

function config(policy: Record<string, string> = {}, extra = ''): FailoverConfig {
  const defaults = { failureThreshold: '2', recoveryThreshold: '2', holdDownSeconds: '300', remindEveryMinutes: '0' };
  const merged = Object.entries({ ...defaults, ...policy }).map(([k, v]) => `${k}: ${v}`);
  const { config, diagnostics } = parseConfig(`version: 1
regions: { probe: [${REGIONS.join(', ')}], control: us-east-1 }
defaults:
  policy: { ${merged.join(', ')} }
sites:
  - id: hq
    name: Headquarters
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web-fiber, link: fiber, http: { url: 'https://203.0.113.10/' } }
      - { id: web-lte, link: lte, http: { url: 'https://198.51.100.20/' } }
    dns:
      - zone: example.com
        hostedZoneId: Z0123456789ABC
        name: portal.example.com
        type: A
        values: { fiber: [203.0.113.10], lte: [198.51.100.20] }
    agent: { publicKey: xB2O6o8kS5BGX6ZkoTtVxpUn91FghSmQXa9n1Z3kXD0= }
${extra}`);
  expect(diagnostics).toEqual([]);
  return config!;
}

type Results = Partial<Record<Region, { fiber?: Outcome | 'skipped'; lte?: Outcome | 'skipped'; impaired?: boolean }>>;

/** Drives the engine round by round, as the decider would, keeping the state between rounds. */
class Sim {
  state: SiteState | null = null;
  readonly transitions: Transition[] = [];
  readonly actions: Action[] = [];
  round = 0;
  constructor(readonly site: SiteConfig) {}

  get now(): number {
    return T0 + this.round * INTERVAL;
  }

  batches(results: Results): ObservationBatch[] {
    return Object.entries(results).map(([region, r]) =>
      testBatch({
        site: 'hq',
        vantage: `region:${region}`,
        at: this.now,
        control: r.impaired ? { ok: false, passed: 0, total: 2, detail: 'vantage impaired: dns down' } : null,
        results: (['fiber', 'lte'] as const)
          .filter((link) => r[link] !== undefined)
          .map((link) => ({ check: `web-${link}`, link, outcome: r[link]!, kind: 'http' as const })),
      }),
    );
  }

  step(results: Results, extra: Partial<DecideInput> = {}): Transition[] {
    const out = decide({
      site: this.site,
      regions: REGIONS,
      state: this.state,
      batches: this.batches(results),
      now: this.now,
      ...extra,
    });
    this.state = out.state;
    this.transitions.push(...out.transitions);
    this.actions.push(...out.actions);
    this.round++;
    return [...out.transitions];
  }

  /** The same outcome from every region for `rounds` rounds. */
  all(rounds: number, fiber: Outcome, lte: Outcome = 'up'): Transition[] {
    const out: Transition[] = [];
    for (let i = 0; i < rounds; i++)
      out.push(...this.step(Object.fromEntries(REGIONS.map((r) => [r, { fiber, lte }]))));
    return out;
  }

  kinds(): string[] {
    return this.transitions.map((t) => t.kind);
  }
}

function healthySim(policy: Record<string, string> = {}, extra = ''): Sim {
  const sim = new Sim(config(policy, extra).sites[0]!);
  sim.all(2, 'up');
  expect(sim.state!.links).toMatchObject({ fiber: { verdict: 'up' }, lte: { verdict: 'up' } });
  return sim;
}

describe('decide: quorum and thresholds', () => {
  it('starts on the primary with every path unknown', () => {
    const sim = new Sim(config().sites[0]!);
    sim.all(1, 'up');
    expect(sim.state).toMatchObject({
      mode: 'PRIMARY_ACTIVE',
      activeLink: 'fiber',
      links: { fiber: { verdict: 'unknown' } },
    });
  });

  it('fails over when a quorum of regions sees the primary down for failureThreshold rounds', () => {
    const sim = healthySim();
    expect(sim.all(1, 'down')).toEqual([]);
    const [t] = sim.all(1, 'down');
    expect(t).toMatchObject({
      kind: 'failover',
      from: 'PRIMARY_ACTIVE',
      to: 'BACKUP_ACTIVE',
      fromLink: 'fiber',
      toLink: 'lte',
    });
    expect(sim.state).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    const dns = sim.actions.filter((a) => a.kind === 'dns');
    expect(dns).toEqual([
      expect.objectContaining({ name: 'portal.example.com', values: ['198.51.100.20'], link: 'lte', ttl: 60 }),
    ]);
    expect(sim.actions.filter((a) => a.kind === 'agent-command')).toEqual([
      expect.objectContaining({ command: 'switch-wan', link: 'lte' }),
    ]);
    const alert = sim.actions.find((a) => a.kind === 'alert');
    expect(alert).toMatchObject({
      severity: 'critical',
      event: 'failover',
      suppressed: false,
      dedupKey: `hq:${t!.seq}`,
    });
    if (alert?.kind !== 'alert') throw new Error('no alert');
    expect(alert.subject.length).toBeLessThan(100);
    expect(alert.short.length).toBeLessThan(140);
    expect(alert.body).toContain('fiber (primary) DOWN: 3 down of 3 vantages (quorum 2)');
    expect(alert.body).toContain('DNS portal.example.com A -> 198.51.100.20');
    expect(sim.actions.filter((a) => a.kind === 'webhook').map((a) => (a.kind === 'webhook' ? a.event : ''))).toEqual([
      'incident.opened',
      'failover.started',
    ]);
    expect(t!.incidentId).toBe(`hq.${t!.seq}`);
  });

  it('does not fail over when one region alone sees the primary down (a partition between it and the site)', () => {
    const sim = healthySim();
    for (let i = 0; i < 5; i++)
      sim.step({
        'us-east-1': { fiber: 'down', lte: 'up' },
        'us-west-2': { fiber: 'up', lte: 'up' },
        'eu-west-1': { fiber: 'up', lte: 'up' },
      });
    expect(sim.kinds()).toEqual([]);
    expect(sim.state!.links.fiber!.verdict).toBe('up');
  });

  it('lets an impaired region abstain: its failures do not count', () => {
    const sim = healthySim();
    for (let i = 0; i < 4; i++)
      sim.step({
        'us-east-1': { fiber: 'down', lte: 'down', impaired: true },
        'us-west-2': { fiber: 'down', lte: 'up' },
        'eu-west-1': { fiber: 'up', lte: 'up' },
      });
    expect(sim.kinds()).toEqual([]);
    const votes = sim.state!.vantages['region:us-east-1'];
    expect(votes).toMatchObject({ impaired: true });
  });

  describe('a region whose round skipped a check', () => {
    // The votes as the last step's decision cast them.
    const votesOn = (sim: Sim, path: string) =>
      evaluateLinks(sim.site, structuredClone(sim.state!), REGIONS, sim.now - INTERVAL).evidence[path]!.votes;

    it("abstains on that path: its last result and another region's blip do not make a quorum", () => {
      const sim = healthySim({ failureThreshold: '1' });
      sim.step({
        'us-east-1': { fiber: 'down', lte: 'up' },
        'us-west-2': { fiber: 'up', lte: 'up' },
        'eu-west-1': { fiber: 'up', lte: 'up' },
      });
      // us-east-1's down is one interval old, fresh for 2.5: without the skip it would still vote down.
      sim.step({
        'us-east-1': { fiber: 'skipped', lte: 'up' },
        'us-west-2': { fiber: 'down', lte: 'up' },
        'eu-west-1': { fiber: 'up', lte: 'up' },
      });
      expect(sim.kinds()).toEqual([]);
      expect(sim.state!.links.fiber!.verdict).toBe('up');
      const votes = votesOn(sim, 'fiber');
      expect(votes.find((v) => v.vantage === 'region:us-east-1')).toMatchObject({ vote: 'abstain', reason: 'skipped' });
      expect(votes.find((v) => v.vantage === 'region:us-west-2')).toMatchObject({ vote: 'down' });
      // The other path's checks ran: the region still votes on it.
      expect(votesOn(sim, 'lte').find((v) => v.vantage === 'region:us-east-1')).toMatchObject({ vote: 'up' });
    });

    it('leaves the counters alone and votes again from the next round that runs the check', () => {
      const sim = healthySim();
      sim.step(Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'down', lte: 'up' }])));
      const key = 'web-fiber|fiber|region:us-east-1';
      const before = sim.state!.streaks[key];
      expect(before).toMatchObject({ down: 1 });
      sim.step({
        'us-east-1': { fiber: 'skipped', lte: 'up' },
        'us-west-2': { fiber: 'skipped', lte: 'up' },
        'eu-west-1': { fiber: 'down', lte: 'up' },
      });
      // Two regions abstain: one region's two failures are no quorum, and nothing was counted for the skipped round.
      expect(sim.kinds()).toEqual([]);
      expect(sim.state!.streaks[key]).toEqual(before);
      expect(sim.state!.vantages['region:us-east-1']!.skipped).toEqual([key]);
      // The next round runs the check again: the failures count on from where they were.
      const [t] = sim.step(Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'down', lte: 'up' }])));
      expect(t).toMatchObject({ kind: 'failover', toLink: 'lte' });
      expect(sim.state!.vantages['region:us-east-1']!.skipped).toBeUndefined();
    });

    it('abstains on a round whose batches were split: what any part skipped counts', () => {
      const sim = healthySim();
      const [whole] = sim.batches({ 'us-east-1': { fiber: 'skipped', lte: 'up' } });
      const parts: ObservationBatch[] = [
        { ...whole!, skipped: [] },
        { ...whole!, observations: [] },
      ];
      const out = decide({ site: sim.site, regions: REGIONS, state: sim.state, batches: parts, now: sim.now });
      expect(out.state.vantages['region:us-east-1']!.skipped).toEqual(['web-fiber|fiber|region:us-east-1']);
      const again = decide({ site: sim.site, regions: REGIONS, state: out.state, batches: parts, now: sim.now });
      expect(again.changed).toBe(false);
    });

    it('ignores a skipped check the site does not configure', () => {
      const sim = healthySim();
      const [batch] = sim.batches({ 'us-east-1': { fiber: 'up', lte: 'up' } });
      const out = decide({
        site: sim.site,
        regions: REGIONS,
        state: sim.state,
        batches: [{ ...batch!, skipped: [{ check: 'nope', link: 'fiber', dependency: null, reason: 'budget' }] }],
        now: sim.now,
      });
      expect(out.state.vantages['region:us-east-1']!.skipped).toBeUndefined();
    });
  });

  it('ignores one-round blips in different regions', () => {
    const sim = healthySim();
    sim.step({
      'us-east-1': { fiber: 'down', lte: 'up' },
      'us-west-2': { fiber: 'up', lte: 'up' },
      'eu-west-1': { fiber: 'up', lte: 'up' },
    });
    sim.step({
      'us-east-1': { fiber: 'up', lte: 'up' },
      'us-west-2': { fiber: 'down', lte: 'up' },
      'eu-west-1': { fiber: 'up', lte: 'up' },
    });
    sim.step({
      'us-east-1': { fiber: 'up', lte: 'up' },
      'us-west-2': { fiber: 'up', lte: 'up' },
      'eu-west-1': { fiber: 'down', lte: 'up' },
    });
    expect(sim.kinds()).toEqual([]);
  });

  it('lets stale regions abstain, so a single fresh region cannot decide', () => {
    const sim = healthySim();
    for (let i = 0; i < 6; i++) sim.step({ 'us-east-1': { fiber: 'down', lte: 'up' } });
    // No failover; people are told that the site cannot be decided on (see "quorum lost and restored").
    expect(sim.kinds()).toEqual(['quorum-lost']);
    const out = decide({ site: sim.site, regions: REGIONS, state: sim.state, now: sim.now });
    expect(out.transitions).toEqual([]);
  });

  it('is idempotent: a redelivered batch changes nothing', () => {
    const sim = healthySim();
    const batches = sim.batches(Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'down', lte: 'up' }])));
    const first = decide({ site: sim.site, regions: REGIONS, state: sim.state, batches, now: sim.now });
    expect(first.changed).toBe(true);
    const again = decide({ site: sim.site, regions: REGIONS, state: first.state, batches, now: sim.now });
    expect(again.changed).toBe(false);
    expect(again.state).toEqual(first.state);
  });
});

describe('decide: the state machine', () => {
  it('goes BOTH_DOWN without switching when the backup is down too, and recovers', () => {
    const sim = healthySim();
    const [t] = sim.all(2, 'down', 'down');
    expect(t).toMatchObject({ kind: 'both-down', to: 'BOTH_DOWN', toLink: 'fiber' });
    expect(sim.actions.filter((a) => a.kind === 'dns')).toEqual([]);
    expect(sim.actions.find((a) => a.kind === 'alert')).toMatchObject({ severity: 'critical', event: 'both-down' });
    const [r] = sim.all(2, 'up', 'down');
    expect(r).toMatchObject({ kind: 'recovered', to: 'PRIMARY_ACTIVE' });
    expect(sim.state!.incident).toBeNull();
  });

  it('fails back after the hold-down, not before', () => {
    const sim = healthySim();
    sim.all(2, 'down');
    sim.all(2, 'up'); // primary up again after 2 rounds
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    sim.all(3, 'up'); // 4 minutes up: under the 5-minute hold-down
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    const out = sim.all(2, 'up');
    expect(out.map((t) => t.kind)).toEqual(['failback']);
    expect(sim.state).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', incident: null });
    expect(
      sim.actions.filter((a) => a.kind === 'agent-command').map((a) => (a.kind === 'agent-command' ? a.command : '')),
    ).toEqual(['switch-wan', 'restore-wan']);
    expect(out[0]!.explanation.holdDown).toMatchObject({ holdDownSeconds: 300 });
  });

  it('waits for an operator with failback: manual, and refuses a failback to a down primary', () => {
    const sim = healthySim({ failback: 'manual' });
    sim.all(2, 'down');
    const refused = decide({
      site: sim.site,
      regions: REGIONS,
      state: sim.state,
      now: sim.now,
      commands: [{ type: 'failback', reason: 'try', by: 'ops' }],
    });
    expect(refused.rejected[0]?.reason).toMatch(/primary fiber is down/);
    sim.all(20, 'up');
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    const [t] = sim.step(Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'up', lte: 'up' }])), {
      commands: [{ type: 'failback', reason: 'ISP confirmed the fix', by: 'alice' }],
    });
    expect(t).toMatchObject({ kind: 'failback', to: 'PRIMARY_ACTIVE' });
    expect(t!.explanation.summary).toContain('alice asked for a failback');
  });

  it('fails over back to the primary at once when the backup fails, hold-down or not', () => {
    const sim = healthySim();
    sim.all(2, 'down');
    sim.all(2, 'up', 'down');
    expect(sim.state).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber' });
    expect(sim.kinds()).toEqual(['failover', 'failback']);
  });

  it('damps a flapping primary: failback held and announced once, then released after decay', () => {
    const sim = healthySim({
      holdDownSeconds: '60',
      damping: '{ penalty: 1000, suppressLimit: 1500, reuseLimit: 750, halfLifeSeconds: 600, maxPenalty: 6000 }',
    });
    for (let i = 0; i < 2; i++) {
      sim.all(2, 'down');
      sim.all(4, 'up');
    }
    expect(sim.kinds().filter((k) => k === 'failover')).toHaveLength(2);
    expect(sim.kinds()).toContain('damping-hold');
    expect(sim.kinds().filter((k) => k === 'damping-hold')).toHaveLength(1);
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    const hold = sim.transitions.find((t) => t.kind === 'damping-hold')!;
    expect(hold.explanation.damping).toMatchObject({ suppressLimit: 1500, reuseLimit: 750 });
    sim.all(20, 'up');
    expect(sim.state!.mode).toBe('PRIMARY_ACTIVE');
    expect(sim.kinds().at(-1)).toBe('failback');
  });

  it('alerts on sustained degradation without failing over by default', () => {
    const sim = healthySim();
    sim.all(2, 'degraded');
    expect(sim.kinds()).toEqual(['degraded']);
    expect(sim.state!.mode).toBe('PRIMARY_ACTIVE');
    expect(sim.actions.find((a) => a.kind === 'alert')).toMatchObject({ severity: 'warning', event: 'degraded' });
    sim.all(2, 'up');
    expect(sim.kinds()).toEqual(['degraded', 'degraded-cleared']);
    expect(sim.state!.incident).toBeNull();
  });

  it('fails over on sustained degradation when the policy says failoverOn: [down, degraded]', () => {
    const sim = healthySim({ failoverOn: '[down, degraded]' });
    sim.all(2, 'degraded');
    expect(sim.kinds()).toEqual(['failover']);
  });
});

describe('decide: people and tools in the loop', () => {
  const command = (c: OperatorCommand) => ({ commands: [c] });
  const allUp = Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'up' as Outcome, lte: 'up' as Outcome }]));
  const allDown = Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'down' as Outcome, lte: 'up' as Outcome }]));

  it('pins the site with an override, freezes automation and records alerts without sending them', () => {
    const sim = healthySim();
    const [t] = sim.step(allUp, command({ type: 'override', pin: 'backup', reason: 'ISP work', by: 'alice' }));
    expect(t).toMatchObject({ kind: 'override', toLink: 'lte', to: 'BACKUP_ACTIVE' });
    expect(sim.actions.filter((a) => a.kind === 'dns')).toHaveLength(1);
    for (let i = 0; i < 10; i++) sim.step(allUp);
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE'); // no failback while pinned
    sim.step(allUp, command({ type: 'clear-override', reason: 'done', by: 'alice' }));
    expect(sim.state).toMatchObject({ mode: 'PRIMARY_ACTIVE', override: null });
  });

  it('expires an override at its time', () => {
    const sim = healthySim();
    sim.step(
      allUp,
      command({ type: 'override', pin: 'backup', reason: 'test', by: 'bob', until: sim.now + 3 * INTERVAL }),
    );
    sim.all(3, 'up');
    expect(sim.kinds()).toContain('override-cleared');
  });

  it('freezes automation in a maintenance window and speaks again after it only if still down', () => {
    const window = { id: 'isp', startMs: T0 + 3 * INTERVAL, endMs: T0 + 8 * INTERVAL, reason: 'ISP upgrade' };
    const sim = healthySim();
    sim.step(allUp, { maintenance: [window] }); // round 2: not yet
    sim.step(allDown, { maintenance: [window] }); // round 3: window starts
    for (let i = 0; i < 4; i++) sim.step(allDown, { maintenance: [window] });
    expect(sim.state).toMatchObject({ mode: 'PRIMARY_ACTIVE', maintenance: { id: 'isp' } });
    expect(sim.kinds()).toEqual(['maintenance-started']);
    sim.step(allUp, { maintenance: [window] });
    sim.step(allUp, { maintenance: [window] }); // round 9: window over, primary healthy again
    expect(sim.kinds()).toEqual(['maintenance-started', 'maintenance-ended']);
    expect(sim.actions.filter((a) => a.kind === 'alert')).toEqual([]);
    const webhooks = sim.actions.flatMap((a) => (a.kind === 'webhook' ? [a.event] : []));
    expect(webhooks).toEqual(['maintenance.started', 'maintenance.ended']);
  });

  it('fails over after a maintenance window when the primary is still down then', () => {
    const window = { id: 'isp', startMs: T0 + 2 * INTERVAL, endMs: T0 + 6 * INTERVAL, reason: 'ISP upgrade' };
    const sim = healthySim();
    for (let i = 0; i < 4; i++) sim.step(allDown, { maintenance: [window] });
    expect(sim.kinds()).toEqual(['maintenance-started']);
    sim.step(allDown, { maintenance: [window] });
    expect(sim.kinds()).toEqual(['maintenance-started', 'maintenance-ended', 'failover']);
  });

  it('reminds while unresolved, until acknowledged', () => {
    const sim = healthySim({ remindEveryMinutes: '2' });
    sim.all(2, 'down');
    sim.all(4, 'down');
    expect(sim.kinds().filter((k) => k === 'reminder').length).toBeGreaterThanOrEqual(1);
    const before = sim.kinds().length;
    sim.step(allDown, command({ type: 'acknowledge', by: 'alice' }));
    sim.all(6, 'down');
    expect(sim.kinds().slice(before)).toEqual(['acknowledged']);
  });
});

describe('decide: dependencies', () => {
  it('treats a SaaS dependency down from every vantage as a provider outage: one alert, no failover', () => {
    const cfg = config({}, '    dependencies: [slack]\n');
    const sim = new Sim(cfg.sites[0]!);
    const dep = (outcome: Outcome, vantage: string, link: string | null, round: number): ObservationBatch =>
      testBatch({
        site: 'hq',
        vantage,
        at: T0 + round * INTERVAL,
        results: [{ check: 'slack/api', link, outcome, dependency: 'slack', kind: 'http' }],
      });

    const run = (outcome: Outcome, rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const batches = [
          ...sim.batches(Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'up', lte: 'up' }]))),
          ...REGIONS.map((r) => dep(outcome, `region:${r}`, null, sim.round)),
          dep(outcome, 'site:hq/fiber', 'fiber', sim.round),
        ];
        const out = decide({ site: sim.site, regions: REGIONS, state: sim.state, batches, now: sim.now });
        sim.state = out.state;
        sim.transitions.push(...out.transitions);
        sim.actions.push(...out.actions);
        sim.round++;
      }
    };
    run('up', 2);
    run('down', 5);
    expect(sim.kinds()).toEqual(['provider-outage']);
    expect(sim.state!.mode).toBe('PRIMARY_ACTIVE');
    expect(sim.actions.filter((a) => a.kind === 'alert')).toHaveLength(1);
    run('up', 2);
    expect(sim.kinds()).toEqual(['provider-outage', 'provider-restored']);
  });
});

describe('recordFailures and recordDrift', () => {
  it('turns an action given up into a critical alert, and a failed agent command into a webhook too', () => {
    const sim = healthySim();
    sim.all(2, 'down');
    const dns = sim.actions.find((a) => a.kind === 'dns')!;
    const command = sim.actions.find((a) => a.kind === 'agent-command')!;
    const out = recordFailures({
      site: sim.site,
      regions: REGIONS,
      state: sim.state!,
      now: sim.now,
      failures: [
        { action: dns, error: 'AccessDenied: not authorized', attempts: 1 },
        { action: command, error: 'agent offline', attempts: 5 },
      ],
    });
    expect(out.transitions.map((t) => t.kind)).toEqual(['action-failed', 'action-failed']);
    expect(out.transitions[0]!.explanation.summary).toMatch(
      /^DNS change of portal\.example\.com A to 198\.51\.100\.20 \(lte\) failed after 1 attempt: AccessDenied/,
    );
    const alerts = out.actions.filter((a) => a.kind === 'alert');
    expect(alerts.map((a) => (a.kind === 'alert' ? a.severity : ''))).toEqual(['critical', 'critical']);
    expect(out.actions.some((a) => a.kind === 'webhook' && a.event === 'agent.command_failed')).toBe(true);
    // A failed alert about a failure is not reported again.
    const again = recordFailures({
      site: sim.site,
      regions: REGIONS,
      state: out.state,
      now: sim.now,
      failures: [{ action: alerts[0]!, error: 'SNS down', attempts: 5 }],
    });
    expect(again.transitions).toEqual([]);
  });

  it('records DNS drift and asks for the record to be set back to the active link', () => {
    const sim = healthySim();
    const out = recordDrift({
      site: sim.site,
      regions: REGIONS,
      state: sim.state!,
      now: sim.now,
      drifts: [{ record: sim.site.dns[0]!, actual: ['192.0.2.99'] }],
    });
    expect(out.transitions[0]).toMatchObject({ kind: 'dns-drift', to: 'PRIMARY_ACTIVE' });
    expect(out.transitions[0]!.explanation.summary).toContain('answers 192.0.2.99');
    expect(out.actions.find((a) => a.kind === 'dns')).toMatchObject({ link: 'fiber', values: ['203.0.113.10'] });
    expect(out.actions.find((a) => a.kind === 'alert')).toMatchObject({ severity: 'warning', event: 'dns-drift' });
  });
});

describe('decide: an operator failover holds', () => {
  const allUp = Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'up' as Outcome, lte: 'up' as Outcome }]));
  const failover = (extra: Partial<Extract<OperatorCommand, { type: 'failover' }>> = {}) => ({
    commands: [{ type: 'failover' as const, reason: 'ISP works on the fiber', by: 'alice', ...extra }],
  });

  it('stays on the backup of a failback: auto site with a healthy primary, hold-down passed many times over', () => {
    const sim = healthySim({ failback: 'auto', holdDownSeconds: '300' });
    sim.all(10, 'up'); // the primary has been up for 12 minutes: the hold-down is long met
    const [t, ...rest] = sim.step(allUp, failover());
    expect(rest).toEqual([]);
    expect(t).toMatchObject({ kind: 'failover', to: 'BACKUP_ACTIVE', toLink: 'lte' });
    expect(t!.explanation.summary).toContain('until an operator fails back');
    expect(sim.state!.operatorFailover).toMatchObject({ by: 'alice', until: null });
    sim.all(60, 'up'); // an hour: twelve hold-downs
    expect(sim.state).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect(sim.kinds()).toEqual(['failover']);
    const [back] = sim.step(allUp, { commands: [{ type: 'failback', reason: 'done', by: 'alice' }] });
    expect(back).toMatchObject({ kind: 'failback', toLink: 'fiber' });
    expect(sim.state!.operatorFailover).toBeNull();
    expect(sim.actions.filter((a) => a.kind === 'agent-command')).toHaveLength(2);
  });

  it('holds until `until`, then fails back once the hold-down counted from the switch is met', () => {
    const sim = healthySim({ holdDownSeconds: '300' });
    sim.all(10, 'up');
    const switchedAt = sim.now;
    sim.step(allUp, failover({ until: switchedAt + 2 * INTERVAL }));
    sim.all(3, 'up'); // `until` passed at +2 min, but the switch was only 3 minutes ago
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    const out = sim.all(3, 'up');
    expect(out.map((t) => t.kind)).toEqual(['failback']);
    expect(out[0]!.at - switchedAt).toBe(5 * INTERVAL);
    expect(out[0]!.explanation.holdDown).toMatchObject({ countedFrom: switchedAt, holdDownSeconds: 300 });
    expect(out[0]!.explanation.summary).toMatch(/since the switch/);
  });

  // How a hold ends, besides `until`: whatever brings traffic back to the primary.
  it.each([
    ['an operator failback', { commands: [{ type: 'failback', reason: 'done', by: 'bob' }] }, 'up', 'failback'],
    [
      'a pin to the primary',
      { commands: [{ type: 'override', pin: 'primary', reason: 'x', by: 'bob' }] },
      'up',
      'override',
    ],
    ['the backup failing while the primary is up', {}, 'down', 'failback'],
  ] as const)('ends with %s', (_, extra, lte, kind) => {
    const sim = healthySim();
    sim.step(allUp, failover());
    sim.all(1, 'up');
    const lteOutcome: Outcome = lte;
    sim.step(
      Object.fromEntries(REGIONS.map((r) => [r, { fiber: 'up' as Outcome, lte: lteOutcome }])),
      extra as Partial<DecideInput>,
    );
    if (lte === 'down') sim.all(1, 'up', 'down');
    expect(sim.kinds()).toContain(kind);
    expect(sim.state).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', operatorFailover: null });
  });

  it('refuses a failover whose `until` has passed', () => {
    const sim = healthySim();
    const out = decide({
      site: sim.site,
      regions: REGIONS,
      state: sim.state,
      now: sim.now,
      commands: [{ type: 'failover', reason: 'x', by: 'ops', until: sim.now }],
    });
    expect(out.rejected).toEqual([expect.objectContaining({ reason: 'until must be in the future' })]);
    expect(out.state.mode).toBe('PRIMARY_ACTIVE');
  });

  it('counts the hold-down from an automatic switch too (an override to the backup, then cleared)', () => {
    const sim = healthySim({ holdDownSeconds: '300' });
    sim.all(10, 'up');
    const pinnedAt = sim.now;
    sim.step(allUp, { commands: [{ type: 'override', pin: 'backup', reason: 'test', by: 'bob' }] });
    sim.step(allUp, { commands: [{ type: 'clear-override', reason: 'done', by: 'bob' }] });
    expect(sim.state!.mode).toBe('BACKUP_ACTIVE');
    sim.all(4, 'up');
    expect(sim.kinds().at(-1)).toBe('failback');
    expect(sim.transitions.at(-1)!.at - pinnedAt).toBe(5 * INTERVAL);
  });

  it('refuses a pin to the other side while pinned, atomically with the decision', () => {
    const sim = healthySim();
    sim.step(allUp, { commands: [{ type: 'override', pin: 'backup', reason: 'x', by: 'alice' }] });
    const out = decide({
      site: sim.site,
      regions: REGIONS,
      state: sim.state,
      now: sim.now,
      commands: [{ type: 'override', pin: 'primary', reason: 'y', by: 'bob' }],
    });
    expect(out.rejected).toEqual([
      expect.objectContaining({
        code: 'override-conflict',
        reason: expect.stringMatching(/pinned to lte \(backup\) by alice/),
      }),
    ]);
    expect(out.transitions).toEqual([]);
  });
});

describe('decide: quorum lost and restored', () => {
  type Round = Partial<Record<Region, 'ok' | 'silent' | 'impaired'>>;
  /** Each region's round per minute: `ok` when not named. */
  function play(sim: Sim, rounds: readonly Round[]): void {
    for (const round of rounds) {
      const results: Results = {};
      for (const r of REGIONS) {
        const how = round[r] ?? 'ok';
        if (how === 'silent') continue;
        results[r] = { fiber: 'up', lte: 'up', impaired: how === 'impaired' };
      }
      sim.step(results);
    }
  }
  const times = (n: number, round: Round): Round[] => Array.from({ length: n }, () => round);
  const twoSilent: Round = { 'us-west-2': 'silent', 'eu-west-1': 'silent' };
  const alerts = (sim: Sim) => sim.actions.flatMap((a) => (a.kind === 'alert' ? [a] : []));

  it('tells people once when too few regions report, and once when enough do again', () => {
    const sim = healthySim();
    play(sim, times(10, twoSilent));
    expect(sim.kinds()).toEqual(['quorum-lost']);
    const [lost] = alerts(sim);
    expect(lost).toMatchObject({ severity: 'warning', event: 'quorum-lost', suppressed: false });
    expect(lost!.subject).toContain('quorum lost: 1 of 3 regions reporting, 2 needed');
    expect(lost!.short).toContain('quorum lost: 1 of 3 regions reporting, 2 needed');
    expect(lost!.body).toMatch(/us-west-2: stale, no round recorded since 2026-11-25T12:00:00\.000Z/);
    expect(lost!.body).toMatch(/eu-west-1: stale, no round recorded since/);
    const explanation = sim.transitions[0]!.explanation;
    expect(explanation.regions).toMatchObject({ reporting: 1, total: 3, needed: 2 });
    expect(explanation.regions!.missing.map((m) => [m.region, m.reason])).toEqual([
      ['us-west-2', 'stale'],
      ['eu-west-1', 'stale'],
    ]);
    expect(sim.state!.quorum).toMatchObject({ lost: true });

    play(sim, times(4, {}));
    expect(sim.kinds()).toEqual(['quorum-lost', 'quorum-restored']);
    expect(alerts(sim)[1]!.subject).toContain('quorum restored: 3 of 3 regions reporting');
    expect(sim.state!.quorum).toMatchObject({ lost: false });
  });

  it('names impaired regions and why', () => {
    const sim = healthySim();
    play(sim, times(6, { 'us-west-2': 'silent', 'eu-west-1': 'impaired' }));
    expect(sim.kinds()).toEqual(['quorum-lost']);
    expect(alerts(sim)[0]!.body).toMatch(/eu-west-1: impaired: control checks failing \(vantage impaired: dns down\)/);
  });

  // Table: rounds after a healthy start -> transitions. One region missing is still a quorum of 2 of 3.
  it.each<[string, Round[], string[]]>([
    ['one region silent', times(10, { 'us-west-2': 'silent' }), []],
    // Fresh for staleAfterIntervals (2.5) after each round: a region reporting every other round still counts.
    ['a region reporting every other round', Array.from({ length: 20 }, (_, i): Round => (i % 2 ? twoSilent : {})), []],
    ['one region impaired', times(10, { 'eu-west-1': 'impaired' }), []],
    [
      'a single impaired round while another region is silent',
      [
        ...times(4, { 'us-west-2': 'silent' }),
        { 'us-west-2': 'silent', 'eu-west-1': 'impaired' },
        ...times(4, { 'us-west-2': 'silent' }),
      ],
      [],
    ],
    [
      'a region flapping round by round around the boundary',
      [
        ...times(4, { 'us-west-2': 'silent' }),
        ...Array.from({ length: 20 }, (_, i): Round => ({
          'us-west-2': 'silent',
          'eu-west-1': i % 2 ? 'impaired' : 'ok',
        })),
      ],
      [],
    ],
    [
      'a region impaired two rounds of three, inside an episode: one episode',
      [
        ...times(4, { 'us-west-2': 'silent', 'eu-west-1': 'impaired' }),
        ...Array.from({ length: 21 }, (_, i): Round => ({
          'us-west-2': 'silent',
          'eu-west-1': i % 3 === 2 ? 'ok' : 'impaired',
        })),
      ],
      ['quorum-lost'],
    ],
    [
      'two regions impaired, then healthy',
      [...times(5, { 'us-east-1': 'impaired', 'eu-west-1': 'impaired' }), ...times(5, {})],
      ['quorum-lost', 'quorum-restored'],
    ],
  ])('%s', (_, rounds, kinds) => {
    const sim = healthySim();
    play(sim, rounds);
    expect(sim.kinds()).toEqual(kinds);
  });
});
