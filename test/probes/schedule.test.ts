import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { PlannedCheck } from '../../shared/config/model.ts';
import { MAX_OPEN_CHECKS } from '../../shared/probes/pace.ts';
import {
  planRounds,
  planTickets,
  shardRound,
  ticketCapacityOf,
  type PlannedRound,
  type PlannedTicket,
} from '../../shared/probes/schedule.ts';
import { fleetConfigYaml } from '../support/fleet-config.ts';

function config(sites: { id: string; interval: number }[]) {
  const text = `version: 1
regions: { probe: [us-east-1, us-west-2, eu-west-1], control: us-east-1 }
controlChecks:
  - { id: k, tcp: { host: 127.0.0.1, port: 1 } }
sites:
${sites
  .map(
    (s) => `  - id: ${s.id}
    policy: { intervalSeconds: ${s.interval} }
    links:
      - { id: a, role: primary, address: 192.0.2.1 }
      - { id: b, role: backup, address: 192.0.2.2 }
    checks:
      - { id: c, link: a, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: d, link: b, tcp: { host: 192.0.2.2, port: 443 } }`,
  )
  .join('\n')}
`;
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

const minute = Date.UTC(2026, 10, 25, 18, 0, 0);
const offsets = (rounds: { atMs: number }[]) => rounds.map((r) => (r.atMs - minute) / 1000);

describe('planRounds', () => {
  it('staggers the regions by i/n of the interval', () => {
    const c = config([{ id: 'hq', interval: 60 }]);
    expect(offsets(planRounds(c, 'us-east-1', minute, minute + 60_000))).toEqual([0]);
    expect(offsets(planRounds(c, 'us-west-2', minute, minute + 60_000))).toEqual([20]);
    expect(offsets(planRounds(c, 'eu-west-1', minute, minute + 60_000))).toEqual([40]);
  });

  it('runs several rounds in a window for intervals under a minute', () => {
    const c = config([{ id: 'hq', interval: 15 }]);
    expect(offsets(planRounds(c, 'us-east-1', minute, minute + 60_000))).toEqual([0, 15, 30, 45]);
    expect(offsets(planRounds(c, 'eu-west-1', minute, minute + 60_000))).toEqual([10, 25, 40, 55]);
  });

  it('runs a site with a longer interval only in the windows it is due', () => {
    const c = config([{ id: 'hq', interval: 120 }]);
    const due = [0, 1, 2, 3].map(
      (m) => planRounds(c, 'us-east-1', minute + m * 60_000, minute + (m + 1) * 60_000).length,
    );
    expect(due.filter((n) => n === 1)).toHaveLength(2);
    expect(due.filter((n) => n === 0)).toHaveLength(2);
  });

  it('shares a round between sites due at the same instant and adds the control checks to every round', () => {
    const c = config([
      { id: 'a', interval: 30 },
      { id: 'b', interval: 60 },
    ]);
    const rounds = planRounds(c, 'us-east-1', minute, minute + 60_000);
    expect(offsets(rounds)).toEqual([0, 30]);
    expect(rounds[0]!.checks.map((k) => `${k.site}/${k.id}`)).toEqual(['null/k', 'a/c', 'a/d', 'b/c', 'b/d']);
    expect(rounds[1]!.checks.map((k) => `${k.site}/${k.id}`)).toEqual(['null/k', 'a/c', 'a/d']);
    expect(rounds[0]!.roundId).toBe('2026-11-25T18:00:00.000Z');
  });

  it('rejects a region that is not configured', () => {
    expect(() => planRounds(config([{ id: 'a', interval: 60 }]), 'ap-south-1', minute, minute + 60_000)).toThrow(
      /not a probe region/,
    );
  });
});

/** A round of sites with the given numbers of checks, after `control` control checks. */
function roundOf(sizes: readonly number[], control = 1): PlannedRound {
  const check = (site: string | null, id: string): PlannedCheck => ({
    site,
    id,
    name: undefined,
    link: null,
    dependency: null,
    timeoutMs: 5000,
    confirmRetryMs: 2000,
    probe: { kind: 'tcp', tcp: { host: '192.0.2.1', port: 443 } },
  });
  return {
    atMs: minute,
    roundId: new Date(minute).toISOString(),
    checks: [
      ...Array.from({ length: control }, (_, i) => check(null, `k${i}`)),
      ...sizes.flatMap((n, s) => Array.from({ length: n }, (_, i) => check(`s${s}`, `c${i}`))),
    ],
  };
}

/** The site checks of each ticket, as `site/check`. */
const siteChecksOf = (tickets: readonly PlannedTicket[]) =>
  tickets.map((t) => t.checks.filter((c) => c.site !== null).map((c) => `${c.site}/${c.id}`));

/** Every ticket must hold the round's control checks first, and the round's site checks exactly once, sites whole. */
function expectPartition(round: PlannedRound, tickets: readonly PlannedTicket[]): void {
  const control = round.checks.filter((c) => c.site === null);
  for (const [i, t] of tickets.entries()) {
    expect(t).toMatchObject({ atMs: round.atMs, roundId: round.roundId, shard: i, shards: tickets.length });
    expect(t.checks.slice(0, control.length)).toEqual(control);
  }
  const flat = siteChecksOf(tickets).flat();
  expect(flat).toEqual(round.checks.filter((c) => c.site !== null).map((c) => `${c.site}/${c.id}`));
  const ticketOf = new Map<string, number>();
  siteChecksOf(tickets).forEach((checks, i) =>
    checks.forEach((c) => {
      const site = c.split('/')[0]!;
      expect(ticketOf.get(site) ?? i, `site ${site} split across tickets`).toBe(i);
      ticketOf.set(site, i);
    }),
  );
}

describe('shardRound', () => {
  it('keeps a round that fits in one ticket whole', () => {
    const round = roundOf([2, 2, 2]);
    const tickets = shardRound(round, 7);
    expect(tickets).toEqual([{ ...round, shard: 0, shards: 1 }]);
  });

  it('splits 100 sites of 2 checks into the fewest even tickets, each with the control checks', () => {
    const round = roundOf(
      Array.from({ length: 100 }, () => 2),
      3,
    );
    // 43 per ticket: 3 control checks and room for 40 site checks, so 200 site checks need 5 tickets of 40.
    const tickets = shardRound(round, 43);
    expect(tickets.map((t) => t.checks.length)).toEqual([43, 43, 43, 43, 43]);
    expectPartition(round, tickets);
  });

  it('spreads the remainder instead of leaving a small last ticket', () => {
    const round = roundOf(
      Array.from({ length: 101 }, () => 2),
      1,
    );
    const sizes = shardRound(round, 41).map((t) => t.checks.length - 1);
    // 202 site checks, room 40: 6 tickets of 32 to 36, not five of 40 and one of 2.
    expect(sizes).toHaveLength(6);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(202);
  });

  it.each([
    ['uneven sites', [5, 1, 3, 9, 2, 2, 7, 1, 1, 4, 6, 3, 8, 2, 5], 11],
    ['sites near the room in size', [9, 10, 9, 10, 1, 10, 9, 2, 10], 11],
    ['one site per ticket at most', [10, 10, 10], 11],
  ])('never puts more than the capacity in a ticket, nor splits a site: %s', (_name, sizes, capacity) => {
    const round = roundOf(sizes);
    const tickets = shardRound(round, capacity);
    expectPartition(round, tickets);
    for (const t of tickets) expect(t.checks.length).toBeLessThanOrEqual(capacity);
  });

  it('gives a site larger than a ticket a ticket of its own, over the capacity', () => {
    const round = roundOf([2, 12, 2]);
    const tickets = shardRound(round, 6);
    expectPartition(round, tickets);
    expect(siteChecksOf(tickets).map((t) => new Set(t.map((c) => c.split('/')[0])))).toContainEqual(new Set(['s1']));
    expect(tickets.filter((t) => t.checks.length > 6).map((t) => t.checks.length)).toEqual([13]);
  });

  it('runs a round of control checks only as one ticket', () => {
    const round = roundOf([0, 0], 2);
    expect(shardRound(round, 5)).toEqual([{ ...round, checks: round.checks, shard: 0, shards: 1 }]);
  });
});

describe('planTickets', () => {
  it('shards a fleet by probing.maxChecksPerTicket, by default the open-check cap', () => {
    const sharded = parseConfig(fleetConfigYaml({ sites: 400, maxChecksPerTicket: 103 })).config!;
    expect(ticketCapacityOf(sharded)).toBe(103);
    const tickets = planTickets(sharded, 'us-west-2', minute, minute + 60_000);
    // 400 sites x 2 checks at one instant: 8 tickets of 3 control checks and 100 site checks.
    expect(tickets.map((t) => t.checks.length)).toEqual(Array.from({ length: 8 }, () => 103));
    expect(new Set(tickets.map((t) => t.roundId)).size).toBe(1);
    expectPartition(planRounds(sharded, 'us-west-2', minute, minute + 60_000)[0]!, tickets);

    const byDefault = parseConfig(fleetConfigYaml({ sites: 400 })).config!;
    expect(ticketCapacityOf(byDefault)).toBe(MAX_OPEN_CHECKS);
    // 800 site checks and room for 765 beside the 3 control checks: two tickets of 400.
    expect(planTickets(byDefault, 'us-west-2', minute, minute + 60_000).map((t) => t.checks.length)).toEqual([
      403, 403,
    ]);
  });
});
