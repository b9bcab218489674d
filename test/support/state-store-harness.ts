import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { createTable, keys, TABLE } from '../../shared/adapters/aws/table.ts';
import type { StateStoreHarness } from '../adapters/state-store.contract.ts';

/** The DynamoDB adapter on a table of a DynamoDB-compatible endpoint, with raw reads for the contract's TTL checks. */
export function dynamoHarness(
  dynamo: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  close: () => Promise<void>,
): StateStoreHarness {
  return {
    store: new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client }),
    close,
    rawHistoryItem: async (site, kind, seq) => {
      const sk = kind === 'transition' ? keys.transitionSk(seq) : keys.incidentSk(seq);
      const key = { [TABLE.partitionKey]: keys.site(site), [TABLE.sortKey]: sk };
      return (await dynamo.client.send(new GetCommand({ TableName: dynamo.tableName, Key: key }))).Item;
    },
  };
}

/**
 * A store on a table of its own, made on the same endpoint: for items one per table (the fleet brake item), which
 * suites sharing a table would otherwise see each other's writes to.
 */
export async function freshTableStore(dynamo: {
  readonly client: DynamoDBDocumentClient;
}): Promise<DynamoDbStateStore> {
  const tableName = `fleet-${randomUUID().slice(0, 8)}`;
  // The document client passes commands it does not translate (CreateTable) straight to its DynamoDB client.
  await createTable(dynamo.client as unknown as DynamoDBClient, tableName);
  return new DynamoDbStateStore({ tableName, client: dynamo.client });
}
