import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyExistsError, type ApiKeyRecord, type ApiKeyStore } from '../../ports/api-key-store.ts';
import type { FailoverError } from '../../errors.ts';
import { createDocumentClient, storeCall, storeError } from './dynamodb-state-store.ts';
import { TABLE } from './table.ts';

/** Keys of API key items (docs/state.md, "API keys and maintenance windows"). */
export const apiKeyKeys = {
  pk: (id: string) => `APIKEY#${id}`,
  sk: 'APIKEY',
  /** gsi1 partition listing every key. */
  indexPk: 'APIKEY',
  indexSk: (createdAt: number, id: string) => `${new Date(createdAt).toISOString()}#${id}`,
} as const;

type Item = Record<string, unknown>;

/**
 * ApiKeyStore on the failover table: one item per key (`APIKEY#<id>` / `APIKEY`), listed through gsi1 (partition
 * `APIKEY`). Only single-item gets, conditional puts and queries: a use (`touch`) is a put conditioned on the key
 * not being revoked, so it can never undo a revocation.
 */
export class DynamoDbApiKeyStore implements ApiKeyStore {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;

  constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#client = options.client ?? createDocumentClient();
  }

  async create(record: ApiKeyRecord): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new ApiKeyExistsError(record.id);
      throw this.#mapped(error, 'PutItem');
    }
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const out = await this.#call('GetItem', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { [TABLE.partitionKey]: apiKeyKeys.pk(id), [TABLE.sortKey]: apiKeyKeys.sk },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? fromItem(out.Item) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#call('Query', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: TABLE.gsi1.name,
            KeyConditionExpression: '#gpk = :gpk',
            ExpressionAttributeNames: { '#gpk': TABLE.gsi1.partitionKey },
            ExpressionAttributeValues: { ':gpk': apiKeyKeys.indexPk },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of out.Items ?? []) records.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }

  async revoke(id: string, at: number): Promise<ApiKeyRecord | null> {
    for (;;) {
      const current = await this.get(id);
      if (!current || current.revokedAt !== null) return current;
      const revoked = { ...current, revokedAt: at };
      try {
        await this.#put(revoked, 'attribute_exists(#pk) AND attribute_not_exists(#revokedAt)');
        return revoked;
      } catch (error) {
        if (!isConditionFailed(error)) throw this.#mapped(error, 'PutItem');
      }
    }
  }

  async touch(record: ApiKeyRecord, at: number): Promise<void> {
    try {
      await this.#put({ ...record, lastUsedAt: at }, 'attribute_exists(#pk) AND attribute_not_exists(#revokedAt)');
    } catch (error) {
      if (!isConditionFailed(error)) throw this.#mapped(error, 'PutItem');
    }
  }

  #put(record: ApiKeyRecord, condition: string) {
    return this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: toItem(record),
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#revokedAt': 'revokedAt' },
      }),
    );
  }

  #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return storeCall(operation, this.#table, run, 'an API key');
  }

  #mapped(error: unknown, operation: string): FailoverError {
    return storeError(error, operation, this.#table, 'an API key');
  }
}

function toItem(r: ApiKeyRecord): Item {
  return {
    [TABLE.partitionKey]: apiKeyKeys.pk(r.id),
    [TABLE.sortKey]: apiKeyKeys.sk,
    [TABLE.gsi1.partitionKey]: apiKeyKeys.indexPk,
    [TABLE.gsi1.sortKey]: apiKeyKeys.indexSk(r.createdAt, r.id),
    [TABLE.entityAttribute]: 'api-key',
    id: r.id,
    name: r.name,
    scope: r.scope,
    hash: r.hash,
    createdAt: r.createdAt,
    // Absent, not null, while valid: conditions test attribute_not_exists(revokedAt).
    ...(r.revokedAt !== null ? { revokedAt: r.revokedAt } : {}),
    ...(r.lastUsedAt !== null ? { lastUsedAt: r.lastUsedAt } : {}),
  };
}

function fromItem(item: Item): ApiKeyRecord {
  return {
    id: String(item.id),
    name: String(item.name),
    scope: item.scope === 'write' ? 'write' : 'read',
    hash: String(item.hash),
    createdAt: Number(item.createdAt),
    revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : null,
    lastUsedAt: typeof item.lastUsedAt === 'number' ? item.lastUsedAt : null,
  };
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
