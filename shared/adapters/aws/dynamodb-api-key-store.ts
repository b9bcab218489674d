import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiKeyExistsError, type ApiKeyRecord, type ApiKeyStore } from '../../ports/api-key-store.ts';
import { ApiKeyItem } from './dynamodb-records.ts';
import { DynamoTable, type Item } from './dynamodb-table.ts';
import { TABLE } from './table.ts';

/** Keys of API key items (docs/state.md, "API keys and maintenance windows"). */
export const apiKeyKeys = {
  pk: (id: string) => `APIKEY#${id}`,
  sk: 'APIKEY',
  /** gsi1 partition listing every key. */
  indexPk: 'APIKEY',
  indexSk: (createdAt: number, id: string) => `${new Date(createdAt).toISOString()}#${id}`,
} as const;

/**
 * ApiKeyStore on the failover table: one item per key (`APIKEY#<id>` / `APIKEY`), listed through gsi1 (partition
 * `APIKEY`). Only single-item gets, conditional puts and queries: a use (`touch`) is a put conditioned on the key
 * not being revoked, so it can never undo a revocation.
 */
export class DynamoDbApiKeyStore implements ApiKeyStore {
  readonly #table: DynamoTable;

  constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = new DynamoTable({ ...options, subject: 'an API key' });
  }

  async create(record: ApiKeyRecord): Promise<void> {
    await this.#table.putIf(
      {
        Item: toItem(record),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
      },
      () => new ApiKeyExistsError(record.id),
    );
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const item = await this.#table.get({ [TABLE.partitionKey]: apiKeyKeys.pk(id), [TABLE.sortKey]: apiKeyKeys.sk });
    return item ? this.#decode(item) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const items = await this.#table.queryAll({
      IndexName: TABLE.gsi1.name,
      KeyConditionExpression: '#gpk = :gpk',
      ExpressionAttributeNames: { '#gpk': TABLE.gsi1.partitionKey },
      ExpressionAttributeValues: { ':gpk': apiKeyKeys.indexPk },
    });
    return items.map((item) => this.#decode(item));
  }

  async revoke(id: string, at: number): Promise<ApiKeyRecord | null> {
    for (;;) {
      const current = await this.get(id);
      if (!current || current.revokedAt !== null) return current;
      const revoked = { ...current, revokedAt: at };
      if (await this.#putIfValid(revoked)) return revoked;
    }
  }

  async touch(record: ApiKeyRecord, at: number): Promise<void> {
    await this.#putIfValid({ ...record, lastUsedAt: at });
  }

  #putIfValid(record: ApiKeyRecord): Promise<boolean> {
    return this.#table.putIf({
      Item: toItem(record),
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#revokedAt)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#revokedAt': 'revokedAt' },
    });
  }

  #decode(item: Item): ApiKeyRecord {
    return this.#table.decode(ApiKeyItem, item, 'an API key');
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
