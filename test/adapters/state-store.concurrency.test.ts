import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import type { Action, SiteState } from '../../shared/domain/model.ts';
import { VersionConflictError, type StateStore } from '../../shared/ports/state-store.ts';
import { sampleState, uniqueSite } from './state-store.contract.ts';

const TRIALS = 40;
const DECIDERS = 50;

let dynamo: LocalDynamo;
let store: StateStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
});
afterAll(() => dynamo?.close());

const alert = (site: string, seq: number, n: number): Action => ({
  kind: 'alert',
  id: `${site}:${seq}:${n}`,
  site,
  seq,
  at: seq,
  severity: 'critical',
  event: 'failover',
  dedupKey: `${site}:${seq}`,
  incidentId: null,
  subject: 'failover',
  short: 'fiber down',
  body: 'details',
  suppressed: false,
});

/** A fresh site at version 1, seq 0, with an empty outbox. */
async function seed(): Promise<string> {
  const site = uniqueSite('race');
  await store.save(
    sampleState(site, 1, { seq: 0, outbox: [], incident: null, streaks: {}, vantages: {}, maintenance: null }),
    null,
  );
  return site;
}

type Outcome = 'saved' | 'already applied';

/**
 * A decider that reads, decides and writes: it wants the transition after seq 0, with its one action. After a
 * conflict it reads again and stops once it sees that transition applied, whoever applied it.
 */
async function decideOnce(site: string, conflicts: { count: number }): Promise<Outcome> {
  for (;;) {
    const state = (await store.load(site))!;
    if (state.seq >= 1) {
      expect(state.outbox.map((a) => a.id)).toContain(`${site}:1:0`);
      return 'already applied';
    }
    const next: SiteState = {
      ...state,
      version: state.version + 1,
      seq: state.seq + 1,
      outbox: [...state.outbox, alert(site, state.seq + 1, 0)],
    };
    try {
      await store.save(next, state.version);
      return 'saved';
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      conflicts.count++;
    }
  }
}

describe('racing deciders on one site (dynalite)', () => {
  it(`lets exactly one of ${DECIDERS} concurrent deciders apply a change, in each of ${TRIALS} trials`, async () => {
    let conflictsSeen = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const site = await seed();
      const conflicts = { count: 0 };
      const outcomes = await Promise.all(Array.from({ length: DECIDERS }, () => decideOnce(site, conflicts)));
      expect(
        outcomes.filter((o) => o === 'saved'),
        `trial ${trial}`,
      ).toHaveLength(1);
      const final = (await store.load(site))!;
      expect(final.version).toBe(2);
      expect(final.seq).toBe(1);
      expect(final.outbox.map((a) => a.id)).toEqual([`${site}:1:0`]);
      conflictsSeen += conflicts.count;
    }
    // The race is real: most losers lose at the conditional write, not by reading late.
    expect(conflictsSeen).toBeGreaterThan(TRIALS);
  }, 180_000);

  it('loses no update when every decider has its own change and retries until it lands', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const site = await seed();
      const writers = 20;
      await Promise.all(
        Array.from({ length: writers }, async (_, n) => {
          for (;;) {
            const state = (await store.load(site))!;
            const next = { ...state, version: state.version + 1, outbox: [...state.outbox, alert(site, 1, n)] };
            try {
              return await store.save(next, state.version);
            } catch (error) {
              if (!(error instanceof VersionConflictError)) throw error;
            }
          }
        }),
      );
      const final = (await store.load(site))!;
      expect(final.version).toBe(writers + 1);
      expect(final.outbox.map((a) => a.id).sort()).toEqual(
        Array.from({ length: writers }, (_, n) => `${site}:1:${n}`).sort(),
      );
    }
  }, 60_000);
});
