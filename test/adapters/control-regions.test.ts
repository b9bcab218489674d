import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDispatchLease } from '../../shared/adapters/aws/dynamodb-dispatch-lease.ts';
import { ObservationsNotDeliveredError } from '../../shared/adapters/aws/errors.ts';
import { ControlQueuesSink } from '../../shared/adapters/aws/control-queues-sink.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import type { ObservationSink } from '../../shared/ports/observation-sink.ts';
import { testBatch } from '../support/observations.ts';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'dispatch-lease-test' });
});
afterAll(() => dynamo.close());

describe('DynamoDbDispatchLease', () => {
  it('gives a site to one holder at a time, again to the same holder, and to another once released or expired', async () => {
    const lease = new DynamoDbDispatchLease({ tableName: dynamo.tableName, client: dynamo.client });
    const t = Date.UTC(2026, 0, 1);
    expect(await lease.acquire('hq', 'us-west-2', t, t + 240_000)).toBe(true);
    expect(await lease.acquire('hq', 'us-east-2', t + 1, t + 240_001)).toBe(false);
    expect(await lease.acquire('hq', 'us-west-2', t + 2, t + 240_002)).toBe(true);
    expect(await lease.acquire('shop', 'us-east-2', t, t + 240_000)).toBe(true);
    // Releasing another's lease changes nothing.
    await lease.release('hq', 'us-east-2');
    expect(await lease.acquire('hq', 'us-east-2', t + 3, t + 240_003)).toBe(false);
    await lease.release('hq', 'us-west-2');
    expect(await lease.acquire('hq', 'us-east-2', t + 4, t + 240_004)).toBe(true);
    // A holder that died keeps it until it expires, then anyone may take it.
    expect(await lease.acquire('hq', 'us-west-2', t + 240_004, t + 480_004)).toBe(false);
    expect(await lease.acquire('hq', 'us-west-2', t + 240_005, t + 480_005)).toBe(true);
  });

  it('lets exactly one of many concurrent takers through', async () => {
    const lease = new DynamoDbDispatchLease({ tableName: dynamo.tableName, client: dynamo.client });
    const t = Date.UTC(2026, 0, 2);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => lease.acquire('race', `holder-${i}`, t, t + 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

/** A sink that loses the given batches (by index), as the SQS sink reports them. */
function losing(lost: number[] | 'all'): ObservationSink {
  return {
    publish: async (batches: readonly ObservationBatch[]) => {
      const gone = lost === 'all' ? batches.map((_, i) => i) : lost;
      if (gone.length === 0) return;
      throw new ObservationsNotDeliveredError(gone.length, batches.length, 'refused', {
        ...(lost === 'all' ? {} : { lostBatches: new Set(gone) }),
      });
    },
  };
}

describe('ControlQueuesSink', () => {
  const batches = [0, 1, 2].map((i) =>
    testBatch({ site: `s${i}`, vantage: 'region:us-east-1', at: Date.UTC(2026, 0, 1), results: [] }),
  );

  it.each([
    { name: 'both took everything', a: [], b: [], lost: 0, misses: [] },
    { name: 'one queue down', a: 'all', b: [], lost: 0, misses: ['a'] },
    { name: 'each lost a different batch', a: [0], b: [1], lost: 0, misses: ['a', 'b'] },
    { name: 'both lost batch 2', a: [0, 2], b: [2], lost: 1, misses: [] },
    { name: 'both down', a: 'all', b: 'all', lost: 3, misses: [] },
  ] as const)('$name: $lost lost', async ({ a, b, lost, misses }) => {
    const missed: string[] = [];
    const sink = new ControlQueuesSink(
      [
        { name: 'a', sink: losing(a === 'all' ? 'all' : [...a]) },
        { name: 'b', sink: losing(b === 'all' ? 'all' : [...b]) },
      ],
      (name) => missed.push(name),
    );
    const error = await sink.publish(batches).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (lost === 0) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ name: 'ObservationsNotDeliveredError', lost, total: 3 });
    expect(missed).toEqual(misses);
  });
});
