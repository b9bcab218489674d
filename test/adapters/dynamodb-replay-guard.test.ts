import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());

describe('DynamoDbReplayGuard', () => {
  it('accepts a key once within its lifetime, and again once that has passed', async () => {
    let now = Date.UTC(2026, 0, 1);
    const guard = new DynamoDbReplayGuard({
      tableName: dynamo.tableName,
      client: dynamo.client,
      clock: { now: () => now },
    });
    expect(await guard.firstUse('nonce-1', 60)).toBe(true);
    expect(await guard.firstUse('nonce-1', 60)).toBe(false);
    expect(await guard.firstUse('nonce-2', 60)).toBe(true);
    now += 61_000; // past its TTL, even if DynamoDB has not deleted the item yet
    expect(await guard.firstUse('nonce-1', 60)).toBe(true);
  });

  it('lets exactly one of many concurrent users of a key through', async () => {
    const guard = new DynamoDbReplayGuard({ tableName: dynamo.tableName, client: dynamo.client });
    const results = await Promise.all(Array.from({ length: 20 }, () => guard.firstUse('race', 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
