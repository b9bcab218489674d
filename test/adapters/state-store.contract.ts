import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentRecord, SiteState, Transition } from '../../shared/domain/model.ts';
import { FailoverError } from '../../shared/errors.ts';
import { VersionConflictError, type StateStore } from '../../shared/ports/state-store.ts';

/** What a contract run needs from an adapter under test. */
export interface StateStoreHarness {
  readonly store: StateStore;
  close(): Promise<void>;
  /** The stored history item of a transition or incident, raw (for TTL checks); absent where items have no TTL. */
  readonly rawHistoryItem?: (
    site: string,
    kind: 'transition' | 'incident',
    seq: number,
  ) => Promise<Record<string, unknown> | undefined>;
}

/** A site id no other test uses, so that suites can share a table. */
export const uniqueSite = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** A state with every kind of value a marshaller can get wrong: nested and empty maps, nulls, fractions, big ms. */
export function sampleState(site: string, version = 1, overrides: Partial<SiteState> = {}): SiteState {
  return {
    v: 1,
    site,
    version,
    mode: 'BACKUP_ACTIVE',
    activeLink: 'lte',
    modeSince: T0 + 123,
    streaks: {
      'portal|fiber|region:eu-west-1': {
        down: 3,
        notUp: 3,
        up: 0,
        lastRound: '2026-01-01T00:00:00.000Z',
        lastAt: 8_640_000_000_000,
        lastOutcome: 'down',
        lastErrorClass: 'timeout',
        lastDetail: 'no answer within 5000 ms',
      },
      'portal|-|site:agent': {
        down: 0,
        notUp: 0,
        up: 12,
        lastRound: 'r-000012',
        lastAt: T0,
        lastOutcome: 'up',
        lastErrorClass: null,
        lastDetail: '',
      },
    },
    vantages: { 'region:eu-west-1': { lastRound: 'r1', lastAt: T0, impaired: false, detail: 'ok' } },
    links: {
      fiber: { verdict: 'down', since: T0, degraded: false },
      lte: { verdict: 'up', since: 0, degraded: true },
    },
    dependencies: {},
    primaryUpSince: null,
    damping: { penalty: 0.1, at: T0 + 0.5, suppressed: false, announced: false },
    override: null,
    maintenance: { id: 'mw-1', startedAt: T0, endsAt: T0 + 3_600_000, healthyAtStart: true },
    incident: {
      id: `${site}.7`,
      openedAt: T0,
      openedSeq: 7,
      kind: 'failover',
      summary: 'fiber down from 3 of 3 regions; traffic moved to lte',
      acknowledged: false,
      lastAlertAt: T0,
      announced: true,
    },
    seq: 7,
    outbox: [
      {
        kind: 'alert',
        id: `${site}:7:0`,
        site,
        seq: 7,
        at: T0,
        severity: 'critical',
        event: 'failover',
        dedupKey: `${site}:7`,
        incidentId: `${site}.7`,
        subject: 'failover',
        short: 'fiber down',
        body: 'details',
        suppressed: false,
      },
      {
        kind: 'webhook',
        id: `${site}:7:1`,
        site,
        seq: 7,
        at: T0,
        event: 'failover.started',
        incidentId: null,
        data: { nested: { list: [1, 'two', null, { three: 3 }], empty: {}, none: [] }, ratio: 2.5e-7, neg: -42 },
      },
    ],
    updatedAt: T0 + 999,
    ...overrides,
  };
}

/** A transition with a complete explanation. */
export function sampleTransition(site: string, seq: number, at = T0 + seq * 1000): Transition {
  return {
    site,
    seq,
    at,
    kind: seq % 2 === 1 ? 'failover' : 'failback',
    from: 'PRIMARY_ACTIVE',
    to: 'BACKUP_ACTIVE',
    fromLink: 'fiber',
    toLink: 'lte',
    suppressed: false,
    incidentId: `${site}.1`,
    explanation: {
      summary: `transition ${seq}`,
      quorum: 2,
      failureThreshold: 3,
      recoveryThreshold: 2,
      paths: [
        {
          path: 'fiber',
          role: 'primary',
          verdict: 'down',
          degraded: false,
          votes: [
            {
              vantage: 'region:eu-west-1',
              vote: 'down',
              checks: [
                {
                  check: 'portal',
                  down: 3,
                  notUp: 3,
                  up: 0,
                  lastOutcome: 'down',
                  lastErrorClass: 'connect',
                  lastDetail: 'ECONNREFUSED',
                  lastAt: at,
                },
              ],
            },
            { vantage: 'region:us-east-1', vote: 'abstain', reason: 'stale', checks: [] },
          ],
        },
      ],
      damping: { penalty: 1000.5, suppressLimit: 2000, reuseLimit: 750, reuseInSeconds: null },
    },
  };
}

/** An incident snapshot. */
export function sampleIncident(
  site: string,
  openedSeq: number,
  openedAt: number,
  overrides: Partial<IncidentRecord> = {},
): IncidentRecord {
  return {
    id: `${site}.${openedSeq}`,
    site,
    kind: 'failover',
    status: 'open',
    openedAt,
    resolvedAt: null,
    openedSeq,
    lastSeq: openedSeq,
    summary: `incident ${openedSeq} of ${site}`,
    acknowledged: false,
    ...overrides,
  };
}

const transitions = (list: Transition[]) => list.map((transition) => ({ type: 'transition' as const, transition }));
const incidents = (list: IncidentRecord[]) => list.map((incident) => ({ type: 'incident' as const, incident }));

/** A window of time that no other test's incidents fall in (far in the future, random), for index queries. */
const freshWindow = () => 7_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 86_400_000;

/** Every page of a listIncidents query, and every item in the order the pages gave them. */
async function allPages(store: StateStore, query: Parameters<StateStore['listIncidents']>[0]) {
  const pages: IncidentRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listIncidents({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    pages.push([...page.items]);
    cursor = page.cursor;
  } while (cursor !== undefined && pages.length < 1000);
  return { pages, items: pages.flat() };
}

/**
 * The behaviour every StateStore adapter must show. `makeStore` is called once for the suite; each test works on
 * its own site ids, so the store may share its table with other suites.
 */
export function stateStoreContract(name: string, makeStore: () => Promise<StateStoreHarness>): void {
  describe(`StateStore contract: ${name}`, () => {
    let harness: StateStoreHarness;
    let store: StateStore;

    beforeAll(async () => {
      harness = await makeStore();
      store = harness.store;
    });
    afterAll(async () => {
      await harness?.close();
    });

    describe('state', () => {
      it('remembers applied actions per site, idempotently', async () => {
        const site = uniqueSite('applied');
        expect(await store.wasApplied(site, `${site}:3:1`)).toBe(false);
        await store.markApplied(site, `${site}:3:1`);
        await store.markApplied(site, `${site}:3:1`);
        expect(await store.wasApplied(site, `${site}:3:1`)).toBe(true);
        expect(await store.wasApplied(site, `${site}:3:2`)).toBe(false);
        expect(await store.wasApplied(uniqueSite('other'), `${site}:3:1`)).toBe(false);
      });

      it('loads null for a site never saved', async () => {
        expect(await store.load(uniqueSite('unknown'))).toBeNull();
      });

      it('saves a new site and loads exactly what was saved', async () => {
        const site = uniqueSite('new');
        const state = sampleState(site);
        await store.save(state, null);
        expect(await store.load(site)).toStrictEqual(state);
      });

      it('keeps empty maps and arrays, drops fields left undefined', async () => {
        const site = uniqueSite('empty');
        const webhook = {
          kind: 'webhook' as const,
          id: `${site}:1:0`,
          site,
          seq: 1,
          at: T0,
          event: 'degraded' as const,
          incidentId: null,
          data: { kept: 0, dropped: undefined, list: [] },
        };
        const state = sampleState(site, 1, {
          streaks: {},
          vantages: {},
          links: {},
          outbox: [webhook],
          incident: null,
          maintenance: null,
          damping: { penalty: 0, at: 0, suppressed: true, announced: true },
        });
        await store.save(state, null);
        const loaded = await store.load(site);
        expect(loaded).toStrictEqual({ ...state, outbox: [{ ...webhook, data: { kept: 0, list: [] } }] });
      });

      it('refuses to create a site that exists, and changes nothing', async () => {
        const site = uniqueSite('exists');
        const first = sampleState(site);
        await store.save(first, null);
        const rival = sampleState(site, 1, { mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', outbox: [] });
        await expect(store.save(rival, null)).rejects.toBeInstanceOf(VersionConflictError);
        await expect(store.save(rival, null)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
        expect(await store.load(site)).toStrictEqual(first);
      });

      it('refuses a save over a stale version, and changes nothing', async () => {
        const site = uniqueSite('stale');
        await store.save(sampleState(site, 1), null);
        const second = sampleState(site, 2, { seq: 8 });
        await store.save(second, 1);
        await expect(store.save(sampleState(site, 2, { seq: 99 }), 1)).rejects.toBeInstanceOf(VersionConflictError);
        expect(await store.load(site)).toStrictEqual(second);
      });

      it('refuses a save with an expected version when nothing is stored', async () => {
        const site = uniqueSite('missing');
        await expect(store.save(sampleState(site, 4), 3)).rejects.toBeInstanceOf(VersionConflictError);
        expect(await store.load(site)).toBeNull();
      });

      it('rejects a state whose version is not expected + 1, storing nothing', async () => {
        const site = uniqueSite('badversion');
        await expect(store.save(sampleState(site, 3), null)).rejects.toThrow();
        expect(await store.load(site)).toBeNull();
      });

      it('applies sequential saves v1..v5', async () => {
        const site = uniqueSite('seq');
        let expected: number | null = null;
        for (let version = 1; version <= 5; version++) {
          const state = sampleState(site, version, { seq: version * 10, updatedAt: T0 + version });
          await store.save(state, expected);
          expect(await store.load(site)).toStrictEqual(state);
          expected = version;
        }
        await expect(store.save(sampleState(site, 5), 4)).rejects.toBeInstanceOf(VersionConflictError);
      });
    });

    describe('transitions', () => {
      it('stores a transition once however often it is put, with its explanation', async () => {
        const site = uniqueSite('tr-idem');
        const t = sampleTransition(site, 1);
        await store.putHistory(transitions([t]));
        await store.putHistory(transitions([t, t]));
        expect(await store.listTransitions(site)).toStrictEqual([t]);
      });

      it('lists oldest first within a range, with a limit', async () => {
        const site = uniqueSite('tr-range');
        const all = [6, 1, 4, 2, 5, 3, 12].map((seq) => sampleTransition(site, seq));
        await store.putHistory(transitions(all));
        await store.putHistory(transitions([sampleTransition(uniqueSite('tr-other'), 2)]));
        const seqs = async (range?: Parameters<StateStore['listTransitions']>[1]) =>
          (await store.listTransitions(site, range)).map((t) => t.seq);
        expect(await seqs()).toEqual([1, 2, 3, 4, 5, 6, 12]);
        expect(await seqs({ fromSeq: 2, toSeq: 4 })).toEqual([2, 3, 4]);
        expect(await seqs({ fromSeq: 5 })).toEqual([5, 6, 12]);
        expect(await seqs({ toSeq: 2 })).toEqual([1, 2]);
        expect(await seqs({ limit: 2 })).toEqual([1, 2]);
        expect(await seqs({ fromSeq: 3, limit: 2 })).toEqual([3, 4]);
        expect(await seqs({ fromSeq: 7, toSeq: 11 })).toEqual([]);
        expect(await seqs({ fromSeq: 5, toSeq: 2 })).toEqual([]);
        expect(await seqs({ fromSeq: 10, limit: 5 })).toEqual([12]);
        expect((await store.listTransitions(site, { fromSeq: 4, toSeq: 4 }))[0]).toStrictEqual(all[2]);
        expect(await store.listTransitions(uniqueSite('tr-none'))).toEqual([]);
      });
    });

    describe('incidents', () => {
      it('keeps the newest snapshot: newer overwrites older, older never overwrites newer', async () => {
        const site = uniqueSite('inc-snap');
        const opened = sampleIncident(site, 3, T0);
        const resolved = { ...opened, status: 'resolved' as const, resolvedAt: T0 + 60_000, lastSeq: 5 };
        const middle = { ...opened, acknowledged: true, lastSeq: 4 };
        await store.putHistory(incidents([opened]));
        expect(await store.getIncident(opened.id)).toStrictEqual(opened);
        await store.putHistory(incidents([resolved]));
        expect(await store.getIncident(opened.id)).toStrictEqual(resolved);
        await store.putHistory(incidents([middle]));
        await store.putHistory(incidents([opened]));
        expect(await store.getIncident(opened.id)).toStrictEqual(resolved);
        await store.putHistory(incidents([resolved]));
        expect(await store.getIncident(opened.id)).toStrictEqual(resolved);
      });

      it('writes transitions and incidents in one call', async () => {
        const site = uniqueSite('mixed');
        const incident = sampleIncident(site, 1, T0);
        await store.putHistory([...transitions([sampleTransition(site, 1)]), ...incidents([incident])]);
        expect(await store.listTransitions(site)).toHaveLength(1);
        expect(await store.getIncident(incident.id)).toStrictEqual(incident);
      });

      it('answers null for unknown and malformed incident ids', async () => {
        const site = uniqueSite('inc-get');
        await store.putHistory(incidents([sampleIncident(site, 1, T0)]));
        expect(await store.getIncident(`${site}.2`)).toBeNull();
        expect(await store.getIncident(`${uniqueSite('nobody')}.1`)).toBeNull();
        for (const id of ['', site, `${site}.`, `.1`, `${site}.01`, `${site}.-1`, `${site}.1.1`, `${site}.x`, '#.1']) {
          expect(await store.getIncident(id), id).toBeNull();
        }
        expect(await store.getIncident(`${site}.99999999999999999999`)).toBeNull();
      });

      it('lists incidents of all sites newest first, optionally since a time', async () => {
        const base = freshWindow();
        const [a, b, c] = [uniqueSite('all-a'), uniqueSite('all-b'), uniqueSite('all-c')];
        const list = [
          sampleIncident(a, 1, base + 1000),
          sampleIncident(b, 4, base + 3000),
          sampleIncident(c, 2, base + 2000),
          sampleIncident(a, 9, base + 4000, { status: 'resolved', resolvedAt: base + 5000, lastSeq: 11 }),
        ];
        await store.putHistory(incidents(list));
        const ours = new Set(list.map((i) => i.id));
        const mine = (items: readonly IncidentRecord[]) => items.filter((i) => ours.has(i.id));

        const { items } = await allPages(store, { since: base, limit: 200 });
        expect(mine(items).map((i) => i.id)).toEqual([`${a}.9`, `${b}.4`, `${c}.2`, `${a}.1`]);
        expect(mine(items)[0]).toStrictEqual(list[3]);
        const since = await allPages(store, { since: base + 2000 });
        expect(mine(since.items).map((i) => i.id)).toEqual([`${a}.9`, `${b}.4`, `${c}.2`]);
        expect(since.items.every((i) => i.openedAt >= base + 2000)).toBe(true);
      });

      it('lists one site, newest first, by status and since', async () => {
        const site = uniqueSite('inc-site');
        const other = uniqueSite('inc-site-other');
        await store.putHistory(
          incidents([
            sampleIncident(site, 1, T0 + 1000, { status: 'resolved', resolvedAt: T0 + 1500 }),
            sampleIncident(site, 5, T0 + 5000),
            sampleIncident(site, 3, T0 + 3000, { status: 'resolved', resolvedAt: T0 + 3500 }),
            sampleIncident(other, 2, T0 + 2000),
          ]),
        );
        await store.putHistory(transitions([sampleTransition(site, 1)]));
        const ids = async (query: Parameters<StateStore['listIncidents']>[0]) =>
          (await allPages(store, query)).items.map((i) => i.id);
        expect(await ids({ site })).toEqual([`${site}.5`, `${site}.3`, `${site}.1`]);
        expect(await ids({ site, status: 'resolved' })).toEqual([`${site}.3`, `${site}.1`]);
        expect(await ids({ site, status: 'open' })).toEqual([`${site}.5`]);
        expect(await ids({ site, since: T0 + 3000 })).toEqual([`${site}.5`, `${site}.3`]);
        expect(await ids({ site, since: T0 + 3000, status: 'resolved' })).toEqual([`${site}.3`]);
        expect(await ids({ site: uniqueSite('inc-none') })).toEqual([]);
        const page = await store.listIncidents({ site });
        expect(page.cursor).toBeUndefined();
      });

      it('pages through 7 incidents 3 at a time, each exactly once, in order', async () => {
        const base = freshWindow();
        const sites = [uniqueSite('page-a'), uniqueSite('page-b')];
        const list = Array.from({ length: 7 }, (_, n) =>
          sampleIncident(sites[n % 2]!, n + 1, base + n * 60_000, {
            status: n % 3 === 0 ? 'resolved' : 'open',
            resolvedAt: n % 3 === 0 ? base + n * 60_000 + 1 : null,
          }),
        );
        await store.putHistory(incidents(list));
        const newestFirst = [...list].reverse();
        const ours = new Set(list.map((i) => i.id));

        // Across sites (the index): other suites may add incidents later than `base`, so check ours in sequence.
        const all = await allPages(store, { since: base, limit: 3 });
        expect(all.pages.every((p) => p.length <= 3)).toBe(true);
        expect(all.items.filter((i) => ours.has(i.id))).toStrictEqual(newestFirst);
        expect(new Set(all.items.map((i) => i.id)).size).toBe(all.items.length);
        const open = await allPages(store, { since: base, limit: 3, status: 'open' });
        expect(open.items.filter((i) => ours.has(i.id))).toStrictEqual(newestFirst.filter((i) => i.status === 'open'));
        expect(open.items.every((i) => i.status === 'open')).toBe(true);
        expect(new Set(open.items.map((i) => i.id)).size).toBe(open.items.length);

        // One site: exact pages.
        const site = uniqueSite('page-one');
        const seven = Array.from({ length: 7 }, (_, n) =>
          sampleIncident(site, n + 1, base + n, { status: n % 3 === 0 ? 'resolved' : 'open' }),
        );
        await store.putHistory(incidents(seven));
        const bySite = await allPages(store, { site, limit: 3 });
        expect(bySite.pages.map((p) => p.map((i) => i.openedSeq))).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
        const openOnly = await allPages(store, { site, limit: 3, status: 'open' });
        expect(openOnly.pages.map((p) => p.map((i) => i.openedSeq))).toEqual([[6, 5, 3], [2]]);
        const exact = await allPages(store, { site, limit: 7 });
        expect(exact.pages).toHaveLength(1);
      });

      it('rejects a malformed cursor with BAD_CURSOR', async () => {
        const site = uniqueSite('cursor');
        await store.putHistory(incidents([1, 2, 3].map((n) => sampleIncident(site, n, T0 + n))));
        const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        for (const cursor of ['not a cursor', '!!!', b64('text'), b64([1]), b64({}), b64({ pk: 1, sk: 2 }), '']) {
          await expect(store.listIncidents({ site, cursor }), cursor).rejects.toSatisfy(
            (e) => e instanceof FailoverError && e.code === 'BAD_CURSOR',
          );
          await expect(store.listIncidents({ cursor }), cursor).rejects.toSatisfy(
            (e) => e instanceof FailoverError && e.code === 'BAD_CURSOR',
          );
        }
        const { cursor } = await store.listIncidents({ site, limit: 1 });
        expect(cursor).toBeDefined();
        expect((await store.listIncidents({ site, limit: 1, cursor: cursor! })).items[0]?.openedSeq).toBe(2);
      });

      it('sets a TTL in epoch seconds, in the future, on history items', async (context) => {
        if (!harness.rawHistoryItem) return context.skip();
        const site = uniqueSite('ttl');
        await store.putHistory([
          ...transitions([sampleTransition(site, 1)]),
          ...incidents([sampleIncident(site, 1, T0)]),
        ]);
        const nowSeconds = Date.now() / 1000;
        for (const kind of ['transition', 'incident'] as const) {
          const raw = await harness.rawHistoryItem(site, kind, 1);
          const expiresAt = raw?.expiresAt;
          expect(Number.isInteger(expiresAt), kind).toBe(true);
          expect(expiresAt as number, kind).toBeGreaterThan(nowSeconds + 86_400);
          expect(expiresAt as number, kind).toBeLessThan(nowSeconds + 10 * 365 * 86_400);
        }
      });
    });
  });
}
