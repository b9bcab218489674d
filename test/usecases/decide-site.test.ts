import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import type { OperatorCommand, SiteState } from '../../shared/domain/model.ts';
import type { StateStore } from '../../shared/ports/state-store.ts';
import { decideSite, UnknownSiteError } from '../../shared/usecases/decide-site.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const TRIALS = 40;
const DECIDERS = 50;

function config(sites: string[]): FailoverConfig {
  const text = twoLinkConfigYaml({
    regions: REGIONS,
    policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
    // The race trials fail 40 sites over at one instant: the mass-failover brake has its own tests.
    extra: 'brake: { enabled: false }',
    sites: sites.map((id) => ({
      id,
      dns: [{ name: `${id}.example.com` }],
      agentKey: 'xB2O6o8kS5BGX6ZkoTtVxpUn91FghSmQXa9n1Z3kXD0=',
    })),
  });
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

function batches(site: string, round: number, fiber: Outcome): ObservationBatch[] {
  return twoLinkRound({ site, regions: REGIONS, at: T0 + round * 60_000, fiber });
}

let dynamo: LocalDynamo;
let store: DynamoDbStateStore;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
});
afterAll(() => dynamo.close());

describe('decideSite', () => {
  it('commits the decision with one conditional write and moves its history out of the outbox', async () => {
    const cfg = config(['commit']);
    const deps = { config: cfg, store, clock: { now: () => T0 + 5 * 60_000 } };
    for (let round = 0; round < 2; round++)
      await decideSite(deps, { site: 'commit', batches: batches('commit', round, 'up') });
    const out = await decideSite(deps, { site: 'commit', batches: batches('commit', 2, 'down') });
    expect(out.written).toBe(true);
    const failover = await decideSite(deps, { site: 'commit', batches: batches('commit', 3, 'down') });
    expect(failover.transitions.map((t) => t.kind)).toEqual(['failover']);
    const state = (await store.load('commit'))!;
    expect(state).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect(state.outbox.map((a) => a.kind).sort()).toEqual(['agent-command', 'alert', 'dns', 'webhook', 'webhook']);
    const [stored] = await store.listTransitions('commit');
    expect(stored).toMatchObject({ kind: 'failover', seq: failover.transitions[0]!.seq });
    const incident = await store.getIncident(failover.transitions[0]!.incidentId!);
    expect(incident).toMatchObject({ status: 'open', kind: 'failover', site: 'commit' });
  });

  it('writes nothing when a redelivered batch changes nothing', async () => {
    const cfg = config(['redeliver']);
    const deps = { config: cfg, store, clock: { now: () => T0 } };
    await decideSite(deps, { site: 'redeliver', batches: batches('redeliver', 0, 'up') });
    const version = (await store.load('redeliver'))!.version;
    const again = await decideSite(deps, { site: 'redeliver', batches: batches('redeliver', 0, 'up') });
    expect(again.written).toBe(false);
    expect((await store.load('redeliver'))!.version).toBe(version);
  });

  it('writes the history of a decision whose process died before writing it, on the next call', async () => {
    const cfg = config(['crash']);
    let now = T0;
    const deps = { config: cfg, store, clock: { now: () => now } };
    for (let round = 0; round < 3; round++) {
      now = T0 + round * 60_000;
      await decideSite(deps, { site: 'crash', batches: batches('crash', round, round < 2 ? 'up' : 'down') });
    }
    // A decider that dies after its conditional write, before writing the history records.
    const dying = new Proxy(store, {
      get: (target, name) => {
        if (name === 'putHistory') return () => Promise.reject(new Error('killed'));
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as StateStore;
    now = T0 + 3 * 60_000;
    await expect(
      decideSite({ ...deps, store: dying }, { site: 'crash', batches: batches('crash', 3, 'down') }),
    ).rejects.toThrow('killed');
    expect((await store.load('crash'))!.outbox.some((a) => a.kind === 'history')).toBe(true);
    expect(await store.listTransitions('crash')).toEqual([]);
    now = T0 + 4 * 60_000;
    await decideSite(deps, { site: 'crash', batches: batches('crash', 4, 'down') });
    expect((await store.listTransitions('crash')).map((t) => t.kind)).toEqual(['failover']);
    expect((await store.load('crash'))!.outbox.some((a) => a.kind === 'history')).toBe(false);
  });

  it('gives one winner among conflicting operator commands that read the same state, and refuses the rest', async () => {
    const cfg = config(['operators']);
    let now = T0;
    const deps = { config: cfg, store, clock: { now: () => now } };
    for (let round = 0; round < 8; round++) {
      now = T0 + round * 60_000;
      await decideSite(deps, { site: 'operators', batches: batches('operators', round, 'up') });
    }
    now += 1000; // the primary has been up for 6 minutes: the 300 s hold-down is met
    const commands: OperatorCommand[] = [
      ...Array.from({ length: 8 }, (_, i): OperatorCommand => ({ type: 'failover', reason: `f${i}`, by: `ops-${i}` })),
      ...Array.from({ length: 4 }, (_, i): OperatorCommand => ({ type: 'failback', reason: `b${i}`, by: `ops-${i}` })),
      ...Array.from({ length: 8 }, (_, i): OperatorCommand => ({
        type: 'override',
        pin: i % 2 ? 'primary' : 'backup',
        reason: `p${i}`,
        by: `ops-${i}`,
      })),
    ];
    // Every caller reads the state before any of them writes: the race at its worst.
    let loads = 0;
    let release!: () => void;
    const allRead = new Promise<void>((resolve) => (release = resolve));
    const racing = new Proxy(store, {
      get: (target, name) => {
        if (name === 'load')
          return async (site: string) => {
            const state = await target.load(site);
            if (++loads === commands.length) release();
            return state;
          };
        if (name === 'save')
          return async (state: SiteState, expected: number | null) => {
            await allRead;
            return target.save(state, expected);
          };
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as StateStore;
    const results = await Promise.all(
      commands.map((c) => decideSite({ ...deps, store: racing }, { site: 'operators', commands: [c] })),
    );
    const winners = results.filter((r) => r.rejected.length === 0);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.rejected.length > 0)) {
      const [rejection] = loser.rejected;
      if (rejection!.command.type === 'failback') expect(rejection!.code).toBe('rejected');
      else {
        expect(rejection!.code).toBe('conflict');
        expect(rejection!.reason).toMatch(
          /^the site changed while this (failover|override) was decided: the site is (PRIMARY|BACKUP)_ACTIVE on (fiber|lte) since \S+(, pinned to \w+ \((primary|backup)\) by ops-\d|, held there by ops-\d's failover until an operator fails back); nothing was done$/,
        );
      }
    }
    const state = (await store.load('operators'))!;
    const switches = state.outbox.filter((a) => a.kind === 'agent-command' || a.kind === 'dns');
    expect(switches.length).toBeLessThanOrEqual(2); // at most one switch: its DNS change and agent command
    expect(await store.listTransitions('operators')).toHaveLength(1);
  });

  it('refuses a site the configuration does not know', async () => {
    await expect(
      decideSite({ config: config(['known']), store, clock: { now: () => T0 } }, { site: 'nope', batches: [] }),
    ).rejects.toThrow(UnknownSiteError);
  });

  it(`lets exactly one of ${DECIDERS} racing deciders commit a transition, in each of ${TRIALS} trials`, async () => {
    const sites = Array.from({ length: TRIALS }, (_, i) => `race-${i}`);
    const cfg = config(sites);
    const deps = { config: cfg, store, clock: { now: () => T0 + 3 * 60_000 } };
    await Promise.all(
      sites.map(async (site) => {
        for (const [round, fiber] of [
          [0, 'up'],
          [1, 'up'],
          [2, 'down'],
        ] as const)
          await decideSite(deps, { site, batches: batches(site, round, fiber) });
      }),
    );
    const race = async (site: string) => {
      const same = batches(site, 3, 'down');
      const results = await Promise.all(
        Array.from({ length: DECIDERS }, () => decideSite({ ...deps, maxAttempts: 200 }, { site, batches: same })),
      );
      const committed = results.filter((r) => r.transitions.length > 0 && r.written);
      expect(committed, site).toHaveLength(1);
      const state = (await store.load(site)) as SiteState;
      expect(state.mode).toBe('BACKUP_ACTIVE');
      const kinds = state.outbox.map((a) => a.kind).sort();
      expect(kinds, site).toEqual(['agent-command', 'alert', 'dns', 'webhook', 'webhook']);
      expect(
        (await store.listTransitions(site)).map((t) => t.kind),
        site,
      ).toEqual(['failover']);
    };
    // Trials are independent sites: run a few at once to keep the suite quick.
    for (let i = 0; i < sites.length; i += 5) await Promise.all(sites.slice(i, i + 5).map(race));
  }, 300_000);
});
