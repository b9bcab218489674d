import { afterAll, describe, expect, it } from 'vitest';
import { javaAvailable, peersRequired, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';
import { dynamoHarness, freshTableStore } from '../support/state-store-harness.ts';
import { fleetBrakeContract } from './fleet-brake.contract.ts';
import { dynamoDbTableSuite } from './dynamodb-table.suite.ts';
import { stateStoreContract } from './state-store.contract.ts';

// DynamoDB Local needs `java` (Debian: openjdk-17-jre-headless); without it the suite is skipped, except in CI.
const java = await javaAvailable();

it.runIf(peersRequired)('has java installed for DynamoDB Local (required in CI)', () => {
  expect(java, 'java not found on PATH: install openjdk-17-jre-headless').toBe(true);
});

describe.skipIf(!java)('DynamoDB Local', () => {
  // One JVM for the file (it takes seconds to start); the suites below use their own site ids.
  let starting: Promise<DynamoDbLocal> | undefined;
  const shared = () => (starting ??= startDynamoDbLocal());
  afterAll(async () => (await starting)?.close());

  stateStoreContract('DynamoDB adapter on DynamoDB Local', async () =>
    dynamoHarness(await shared(), async () => undefined),
  );
  dynamoDbTableSuite('DynamoDB Local', shared, true);
  fleetBrakeContract('DynamoDB adapter on DynamoDB Local', async () => freshTableStore(await shared()));
});
