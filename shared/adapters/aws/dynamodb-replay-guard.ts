import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { ReplayGuard } from '../../ports/replay-guard.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { PARTITION, TABLE } from './table.ts';

/**
 * ReplayGuard on the failover table: one item per key (`REPLAY#<key>`), written with a condition, so that only the
 * first use of a key within its lifetime succeeds. TTL deletes items lazily, so an item past its time counts as
 * absent.
 */
export class DynamoDbReplayGuard implements ReplayGuard {
  readonly #table: DynamoTable;
  readonly #clock: Clock;

  constructor(options: { tableName: string; client: DynamoDBDocumentClient; clock?: Clock }) {
    this.#table = new DynamoTable({ tableName: options.tableName, client: options.client, subject: 'a replay key' });
    this.#clock = options.clock ?? systemClock;
  }

  firstUse(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Math.floor(this.#clock.now() / 1000);
    return this.#table.putIf({
      Item: {
        [TABLE.partitionKey]: `${PARTITION.replay}${key}`,
        [TABLE.sortKey]: 'REPLAY',
        [TABLE.entityAttribute]: 'replay',
        [TABLE.ttlAttribute]: now + Math.max(1, Math.ceil(ttlSeconds)),
      },
      ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
      ExpressionAttributeValues: { ':now': now },
    });
  }
}
