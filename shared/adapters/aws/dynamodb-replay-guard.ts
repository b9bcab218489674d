import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { ReplayGuard } from '../../ports/replay-guard.ts';
import { StoreUnavailableError } from '../../ports/state-store.ts';
import { isUnavailable } from './dynamodb-state-store.ts';
import { TABLE } from './table.ts';

/**
 * ReplayGuard on the failover table: one item per key (`REPLAY#<key>`), written with a condition, so that only the
 * first use of a key within its lifetime succeeds. TTL deletes items lazily, so an item past its time counts as
 * absent.
 */
export class DynamoDbReplayGuard implements ReplayGuard {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #clock: Clock;

  constructor(options: { tableName: string; client: DynamoDBDocumentClient; clock?: Clock }) {
    this.#table = options.tableName;
    this.#client = options.client;
    this.#clock = options.clock ?? systemClock;
  }

  async firstUse(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Math.floor(this.#clock.now() / 1000);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            [TABLE.partitionKey]: `REPLAY#${key}`,
            [TABLE.sortKey]: 'REPLAY',
            [TABLE.entityAttribute]: 'replay',
            [TABLE.ttlAttribute]: now + Math.max(1, Math.ceil(ttlSeconds)),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
      if (isUnavailable(error)) throw new StoreUnavailableError('replay guard unavailable', { cause: error });
      throw error;
    }
  }
}
