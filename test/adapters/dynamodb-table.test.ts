import { ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DynamoDbAgentConnections } from '../../shared/adapters/aws/dynamodb-agent-connections.ts';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { DynamoDbCommandStore } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import {
  createDocumentClient,
  decodeCursor,
  DynamoTable,
  encodeCursor,
  StateStoreError,
} from '../../shared/adapters/aws/dynamodb-table.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { CommandStoreError } from '../../shared/ports/command-store.ts';
import { BadCursorError, StoreUnavailableError } from '../../shared/ports/state-store.ts';

let dynamo: LocalDynamo;
let table: DynamoTable;
beforeAll(async () => {
  dynamo = await startDynalite();
  table = new DynamoTable({ tableName: dynamo.tableName, client: dynamo.client, subject: 'a test item' });
});
afterAll(() => dynamo.close());

const item = (pk: string, sk: string, extra: Record<string, unknown> = {}) => ({ pk, sk, ...extra });

describe('DynamoTable on dynalite', () => {
  it('answers a conditional put with true, then false when its condition fails, or the conflict asked for', async () => {
    const input = {
      Item: item('T#cond', 'X'),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    };
    expect(await table.putIf(input)).toBe(true);
    expect(await table.putIf(input)).toBe(false);
    const error = await table.putIf(input, (cause) => new Error('taken', { cause })).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'taken', cause: { name: 'ConditionalCheckFailedException' } });
    expect(
      await table.updateIfReturning({
        Key: { pk: 'T#cond', sk: 'X' },
        UpdateExpression: 'SET n = :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    ).toMatchObject({ n: 1 });
    expect(
      await table.deleteIf({
        Key: { pk: 'T#cond', sk: 'X' },
        ConditionExpression: 'n = :two',
        ExpressionAttributeValues: { ':two': 2 },
      }),
    ).toBe(false);
  });

  it('decodes through a schema, without the key attributes, and names the field that does not fit', async () => {
    await table.put({ Item: item('T#decode', 'X', { entity: 'test', name: 'a', count: 'three' }) });
    const read = await table.get({ pk: 'T#decode', sk: 'X' });
    expect(table.decode(z.object({ name: z.string(), count: z.string() }).strict(), read!, 'a test item')).toEqual({
      name: 'a',
      count: 'three',
    });
    const error = (() => {
      try {
        table.decode(z.object({ name: z.string(), count: z.number() }), read!, 'a test item');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StateStoreError);
    expect((error as Error).message).toMatch(/a test item in table .* does not decode at count/);
  });

  it('pages newest first with cursors that only this query accepts', async () => {
    for (let n = 0; n < 5; n++) await table.put({ Item: item('T#page', `N#${n}`) });
    const input = {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'T#page' },
      ConsistentRead: true,
    };
    const names = ['pk', 'sk'];
    const belongs = (k: Record<string, string>) => k.pk === 'T#page';
    const seen: string[] = [];
    let start: Record<string, string> | undefined;
    for (;;) {
      const { items, next } = await table.queryPage(input, 2, start);
      seen.push(...items.map((i) => String(i.sk)));
      if (!next) break;
      start = decodeCursor(encodeCursor(next, names), names, belongs);
    }
    expect(seen).toEqual(['N#4', 'N#3', 'N#2', 'N#1', 'N#0']);
    expect(() => decodeCursor('not json', names, belongs)).toThrow(BadCursorError);
    expect(() => decodeCursor(encodeCursor({ pk: 'T#other', sk: 'N#1' }, names), names, belongs)).toThrow(
      /does not belong/,
    );
  });
});

describe('one error family: every store on a throttled table', () => {
  const throttled = () => {
    const client = createDocumentClient({ region: 'us-east-1', maxAttempts: 1, endpoint: 'http://127.0.0.1:9' });
    client.middlewareStack.add(
      () => () => {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } });
      },
      { step: 'initialize' },
    );
    return client;
  };
  const tableName = 't';
  const calls: [string, () => Promise<unknown>][] = [
    ['state store', () => new DynamoDbStateStore({ tableName, client: throttled() }).load('site-a')],
    ['API key store', () => new DynamoDbApiKeyStore({ tableName, client: throttled() }).get('k')],
    ['maintenance store', () => new DynamoDbMaintenanceStore({ tableName, client: throttled() }).listForSite('s', 0)],
    ['webhook store', () => new DynamoDbWebhookStore({ tableName, client: throttled() }).listSubscriptions()],
    ['command store', () => new DynamoDbCommandStore({ tableName, client: throttled() }).get('s', 'c')],
    ['agent connections', () => new DynamoDbAgentConnections({ tableName, client: throttled() }).lookup('s')],
    ['replay guard', () => new DynamoDbReplayGuard({ tableName, client: throttled() }).firstUse('k', 60)],
  ];
  it.each(calls)('%s throws StoreUnavailableError', async (_name, call) => {
    await expect(call()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("a failure a retry will not fix is the store's own error", async () => {
    const missing = () => {
      const client = createDocumentClient({ region: 'us-east-1', maxAttempts: 1, endpoint: 'http://127.0.0.1:9' });
      client.middlewareStack.add(
        () => () => {
          throw new ResourceNotFoundException({ message: 'no table', $metadata: { httpStatusCode: 400 } });
        },
        { step: 'initialize' },
      );
      return client;
    };
    await expect(new DynamoDbApiKeyStore({ tableName, client: missing() }).get('k')).rejects.toBeInstanceOf(
      StateStoreError,
    );
    await expect(new DynamoDbCommandStore({ tableName, client: missing() }).get('s', 'c')).rejects.toBeInstanceOf(
      CommandStoreError,
    );
  });
});
