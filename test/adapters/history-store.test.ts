import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { TABLE } from '../../shared/adapters/aws/table.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { emptyModes, emptyTally, type CheckTally, type Rollup } from '../../shared/domain/history.ts';
import type { HistoryStore } from '../../shared/ports/history-store.ts';
import { javaAvailable, peersRequired, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { uniqueSite } from './state-store.contract.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;

function tally(overrides: Partial<CheckTally>): CheckTally {
  return { ...emptyTally(), ...overrides };
}

function rollup(start: number, checks: Record<string, Partial<CheckTally>>, modes = {}): Rollup {
  return {
    start,
    checks: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, tally(v)])),
    modes: { ...emptyModes(), ...modes },
  };
}

interface Dynamo {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** The HistoryStore contract of the DynamoDB adapter, on one emulator. */
function historyStoreContract(name: string, dynamo: () => Promise<Dynamo>) {
  describe(name, () => {
    let now = T0;
    let store: HistoryStore;
    let raw: (site: string, sk: string) => Promise<Record<string, unknown> | undefined>;
    beforeAll(async () => {
      const d = await dynamo();
      store = new DynamoDbHistoryStore({ ...d, clock: { now: () => now } });
      raw = async (site, sk) =>
        (
          await d.client.send(
            new GetCommand({
              TableName: d.tableName,
              Key: { [TABLE.partitionKey]: `HISTORY#${site}`, [TABLE.sortKey]: sk },
            }),
          )
        ).Item;
    });

    it('adds into 5-minute rows: counters, latency sums and histogram buckets sum up, modes too', async () => {
      const site = uniqueSite('add');
      await store.add(
        site,
        rollup(T0, { web: { up: 2, latencyCount: 2, latencySumMs: 80.25, histogram: { 3: 2 } } }, { primary: 1 }),
      );
      await store.add(
        site,
        rollup(
          T0,
          { web: { down: 1, latencyCount: 1, latencySumMs: 5000, histogram: { 13: 1 } }, 'm365/login': { skipped: 1 } },
          { backup: 1 },
        ),
      );
      const rows = await store.list(site, '5m', T0, T0 + 5 * MIN);
      expect(rows).toEqual([
        rollup(
          T0,
          {
            web: { up: 2, down: 1, latencyCount: 2 + 1, latencySumMs: 5080.25, histogram: { 3: 2, 13: 1 } },
            'm365/login': { skipped: 1 },
          },
          { primary: 1, backup: 1 },
        ),
      ]);
      const item = await raw(site, '5M#2026-12-01T10:00:00.000Z');
      expect(item?.[TABLE.ttlAttribute]).toBe(Math.floor(T0 / 1000) + 3 * 86_400);
    });

    it('sums racing adds exactly (atomic ADD, no read-modify-write)', async () => {
      const site = uniqueSite('race');
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          store.add(
            site,
            rollup(T0, { web: { up: 1, latencyCount: 1, latencySumMs: i, histogram: { 1: 1 } } }, { primary: 1 }),
          ),
        ),
      );
      const [row] = await store.list(site, '5m', T0, T0 + 5 * MIN);
      expect(row?.checks.web).toEqual(tally({ up: 25, latencyCount: 25, latencySumMs: 300, histogram: { 1: 25 } }));
      expect(row?.modes.primary).toBe(25);
    });

    it('lists [from, to) of one granularity and one site, oldest first', async () => {
      const site = uniqueSite('range');
      const other = uniqueSite('other');
      for (const i of [0, 1, 2, 3]) await store.add(site, rollup(T0 + i * 5 * MIN, { web: { up: i + 1 } }));
      await store.add(other, rollup(T0 + 5 * MIN, { web: { up: 9 } }));
      await store.put(site, '1h', rollup(T0, { web: { up: 100 } }));
      const rows = await store.list(site, '5m', T0 + 5 * MIN, T0 + 15 * MIN);
      expect(rows.map((r) => [r.start, r.checks.web?.up])).toEqual([
        [T0 + 5 * MIN, 2],
        [T0 + 10 * MIN, 3],
      ]);
      expect((await store.list(site, '1h', T0, T0 + 60 * MIN)).map((r) => r.checks.web?.up)).toEqual([100]);
      expect(await store.list(site, '1d', T0, T0 + 86_400_000)).toEqual([]);
      expect(await store.list(site, '5m', T0, T0)).toEqual([]);
    });

    it('puts folded rows whole (a second put replaces, not adds), with the TTL of their granularity', async () => {
      const site = uniqueSite('put');
      await store.put(site, '1d', rollup(T0, { web: { up: 5, down: 1 } }, { primary: 3 }));
      await store.put(site, '1d', rollup(T0, { web: { up: 5 } }, { primary: 3 }));
      expect(await store.list(site, '1d', T0, T0 + 86_400_000)).toEqual([
        rollup(T0, { web: { up: 5 } }, { primary: 3 }),
      ]);
      const item = await raw(site, '1D#2026-12-01T10:00:00.000Z');
      expect(item?.[TABLE.ttlAttribute]).toBe(Math.floor(T0 / 1000) + 400 * 86_400);
    });

    it('leaves rows past their TTL out, as DynamoDB readers must (TTL deletes late)', async () => {
      const site = uniqueSite('ttl');
      await store.add(site, rollup(T0, { web: { up: 1 } }));
      now = T0 + 3 * 86_400_000 + 1000;
      try {
        expect(await store.list(site, '5m', T0, T0 + 5 * MIN)).toEqual([]);
      } finally {
        now = T0;
      }
      expect(await store.list(site, '5m', T0, T0 + 5 * MIN)).toHaveLength(1);
    });

    it('keeps more checks than one update expression holds, in several updates of one row', async () => {
      const site = uniqueSite('wide');
      const checks = Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [
          `check-${i}`,
          { up: i + 1, degraded: 1, down: 1, skipped: 1, latencyCount: 1, latencySumMs: 1, histogram: { 0: 1, 5: 1 } },
        ]),
      );
      await store.add(site, rollup(T0, checks, { primary: 1 }));
      const [row] = await store.list(site, '5m', T0, T0 + 5 * MIN);
      expect(Object.keys(row!.checks)).toHaveLength(40);
      expect(row!.checks['check-39']).toEqual(tally(checks['check-39']!));
      expect(row!.modes.primary).toBe(1);
    });

    it('keeps a fold mark that only moves forward', async () => {
      const site = uniqueSite('mark');
      expect(await store.foldMark(site)).toBeNull();
      await store.setFoldMark(site, { hourEnd: T0, dayEnd: T0 - 10 * 3_600_000 });
      await store.setFoldMark(site, { hourEnd: T0 - 3_600_000, dayEnd: T0 - 10 * 3_600_000 });
      expect(await store.foldMark(site)).toEqual({ hourEnd: T0, dayEnd: T0 - 10 * 3_600_000 });
      await store.setFoldMark(site, { hourEnd: T0 + 3_600_000, dayEnd: T0 + 14 * 3_600_000 });
      expect(await store.foldMark(site)).toEqual({ hourEnd: T0 + 3_600_000, dayEnd: T0 + 14 * 3_600_000 });
    });
  });
}

let dynalite: Promise<LocalDynamo> | undefined;
const shared = () => (dynalite ??= startDynalite());
afterAll(async () => (await dynalite)?.close());
historyStoreContract('DynamoDbHistoryStore on dynalite', shared);

// DynamoDB Local needs `java` (Debian: openjdk-17-jre-headless); without it the suite is skipped, except in CI.
const java = await javaAvailable();
describe.skipIf(!java && !peersRequired)('on DynamoDB Local', () => {
  let local: Promise<DynamoDbLocal> | undefined;
  const dynamoDbLocal = () => (local ??= startDynamoDbLocal());
  afterAll(async () => (await local)?.close());
  historyStoreContract('DynamoDbHistoryStore on DynamoDB Local', dynamoDbLocal);
});
