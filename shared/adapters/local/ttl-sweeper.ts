import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE } from '../aws/table.ts';

type Key = Record<string, unknown>;

export interface TtlSweeperOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Items read (not only deleted) per step, so that one step's work is bounded whatever the table holds. @default 200 */
  readonly pageSize?: number;
}

/** What one step did. */
export interface TtlSweepStep {
  readonly scanned: number;
  readonly deleted: number;
  /** The step reached the end of the table; the next one starts from the beginning again. */
  readonly wrapped: boolean;
}

/**
 * DynamoDB's TTL for dynalite, which has none: each `step()` reads the next `pageSize` items of the table (a Scan that
 * resumes where the previous step stopped, and starts over at the end) and deletes those whose `expiresAt` has
 * passed. A delete is conditional on the item still being expired, so an item written again meanwhile stays. Like
 * DynamoDB's, the deletion comes some time after the expiry (one pass over the table): readers ignore expired items.
 */
export class TtlSweeper {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;
  readonly #pageSize: number;
  #cursor: Key | undefined;

  constructor(options: TtlSweeperOptions) {
    const pageSize = options.pageSize ?? 200;
    if (!Number.isInteger(pageSize) || pageSize < 1) {
      throw new RangeError(`TTL sweeper pageSize ${pageSize}: expected a whole number >= 1`);
    }
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now;
    this.#pageSize = pageSize;
  }

  async step(): Promise<TtlSweepStep> {
    const now = Math.floor(this.#now() / 1000);
    const names = { '#ttl': TABLE.ttlAttribute };
    const out = await this.#client.send(
      new ScanCommand({
        TableName: this.#table,
        Limit: this.#pageSize,
        FilterExpression: '#ttl < :now',
        ProjectionExpression: '#pk, #sk, #ttl',
        ExpressionAttributeNames: { ...names, '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
        ExpressionAttributeValues: { ':now': now },
        ...(this.#cursor ? { ExclusiveStartKey: this.#cursor } : {}),
      }),
    );
    this.#cursor = out.LastEvaluatedKey;
    let deleted = 0;
    for (const item of out.Items ?? []) {
      try {
        await this.#client.send(
          new DeleteCommand({
            TableName: this.#table,
            Key: { [TABLE.partitionKey]: item[TABLE.partitionKey], [TABLE.sortKey]: item[TABLE.sortKey] },
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        deleted++;
      } catch (error) {
        if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
    return { scanned: out.ScannedCount ?? 0, deleted, wrapped: out.LastEvaluatedKey === undefined };
  }

  /** One whole pass over the table, from its beginning; returns the items deleted. */
  async sweepAll(): Promise<number> {
    this.#cursor = undefined;
    let deleted = 0;
    for (;;) {
      const step = await this.step();
      deleted += step.deleted;
      if (step.wrapped) return deleted;
    }
  }
}
