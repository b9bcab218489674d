import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { dynamoHarness, freshTableStore } from '../support/state-store-harness.ts';
import { fleetBrakeContract } from './fleet-brake.contract.ts';
import { dynamoDbTableSuite } from './dynamodb-table.suite.ts';
import { sampleState, stateStoreContract, uniqueSite } from './state-store.contract.ts';

// One emulator for the file: the suites below use their own site ids.
let starting: Promise<LocalDynamo> | undefined;
const shared = () => (starting ??= startDynalite());
afterAll(async () => (await starting)?.close());

stateStoreContract('DynamoDB adapter on dynalite', async () => dynamoHarness(await shared(), async () => undefined));
dynamoDbTableSuite('dynalite', shared, false);
fleetBrakeContract('DynamoDB adapter on dynalite', async () => freshTableStore(await shared()));

describe('startDynalite', () => {
  it('keeps data on disk across a restart when given a path', async () => {
    const dir = await mkdtemp(join(inject('scratchDir'), 'dynalite-'));
    const site = uniqueSite('disk');
    const first = await startDynalite({ path: dir });
    await new DynamoDbStateStore({ tableName: first.tableName, client: first.client }).save(sampleState(site), null);
    await first.close();
    const second = await startDynalite({ path: dir });
    try {
      const store = new DynamoDbStateStore({ tableName: second.tableName, client: second.client });
      expect(await store.load(site)).toStrictEqual(sampleState(site));
    } finally {
      await second.close();
    }
  });

  it('serves two in-memory instances side by side, each with its own data, and closes twice safely', async () => {
    const [a, b] = await Promise.all([startDynalite({ tableName: 'one' }), startDynalite({ tableName: 'one' })]);
    try {
      expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(a.endpoint).not.toBe(b.endpoint);
      const site = uniqueSite('pair');
      await new DynamoDbStateStore({ tableName: a.tableName, client: a.client }).save(sampleState(site), null);
      expect(await new DynamoDbStateStore({ tableName: b.tableName, client: b.client }).load(site)).toBeNull();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await a.close();
    }
  });
});
