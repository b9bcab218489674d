import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { FailoverError } from '../../errors.ts';
import type { MaintenanceStore, StoredMaintenanceWindow } from '../../ports/maintenance-store.ts';
import { createDocumentClient, storeCall, storeError } from './dynamodb-state-store.ts';
import { TABLE } from './table.ts';

/** Keys of maintenance window items (docs/state.md, "API keys and maintenance windows"). */
export const maintenanceKeys = {
  pk: (site: string) => `MAINTENANCE#${site}`,
  sk: (id: string) => `WINDOW#${id}`,
  skPrefix: 'WINDOW#',
} as const;

/** How long a window's item is kept after its end (TTL). */
const RETENTION_SECONDS = 90 * 86_400;
const ID = /^([a-z0-9][a-z0-9_-]{0,62})\.mw-[0-9a-f]{12}$/i;

/** The site of a window id made by the API, or null when `id` is not one. */
export function siteOfWindowId(id: string): string | null {
  return ID.exec(id)?.[1] ?? null;
}

/** A window with this id exists already. */
export class MaintenanceWindowExistsError extends FailoverError {
  constructor(id: string) {
    super('MAINTENANCE_WINDOW_EXISTS', `maintenance window ${id} exists already`);
    this.name = 'MaintenanceWindowExistsError';
  }
}

type Item = Record<string, unknown>;

/**
 * MaintenanceStore on the failover table: a site's windows share one partition (`MAINTENANCE#<site>`, sort key
 * `WINDOW#<id>`), so the decider reads them with one consistent Query. Cancelling is a conditional put (the item is
 * kept, with who cancelled it); TTL removes items 90 days after their end.
 */
export class DynamoDbMaintenanceStore implements MaintenanceStore {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;

  constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#client = options.client ?? createDocumentClient();
  }

  async create(window: StoredMaintenanceWindow): Promise<void> {
    if (siteOfWindowId(window.id) !== window.site)
      throw new RangeError(`not a window id of ${window.site}: ${window.id}`);
    try {
      await this.#put(window, 'attribute_not_exists(#pk)');
    } catch (error) {
      if (isConditionFailed(error)) throw new MaintenanceWindowExistsError(window.id);
      throw this.#mapped(error, 'PutItem');
    }
  }

  async get(id: string): Promise<StoredMaintenanceWindow | null> {
    const site = siteOfWindowId(id);
    if (!site) return null;
    const out = await this.#call('GetItem', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: { [TABLE.partitionKey]: maintenanceKeys.pk(site), [TABLE.sortKey]: maintenanceKeys.sk(id) },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? fromItem(out.Item) : null;
  }

  async listForSite(site: string, endingAfter: number): Promise<StoredMaintenanceWindow[]> {
    const windows: StoredMaintenanceWindow[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#call('Query', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            FilterExpression: '#endMs > :after AND attribute_not_exists(#cancelledAt)',
            ExpressionAttributeNames: {
              '#pk': TABLE.partitionKey,
              '#sk': TABLE.sortKey,
              '#endMs': 'endMs',
              '#cancelledAt': 'cancelledAt',
            },
            ExpressionAttributeValues: {
              ':pk': maintenanceKeys.pk(site),
              ':prefix': maintenanceKeys.skPrefix,
              ':after': endingAfter,
            },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ),
      );
      for (const item of out.Items ?? []) windows.push(fromItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return windows.sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
  }

  async cancel(id: string, by: string, at: number): Promise<StoredMaintenanceWindow | null> {
    const current = await this.get(id);
    if (!current || current.cancelledAt !== null) return null;
    const cancelled = { ...current, cancelledAt: at, cancelledBy: by };
    try {
      await this.#put(cancelled, 'attribute_exists(#pk) AND attribute_not_exists(#cancelledAt)');
      return cancelled;
    } catch (error) {
      if (isConditionFailed(error)) return null;
      throw this.#mapped(error, 'PutItem');
    }
  }

  #put(w: StoredMaintenanceWindow, condition: string) {
    return this.#client.send(
      new PutCommand({
        TableName: this.#table,
        Item: toItem(w),
        ConditionExpression: condition,
        ExpressionAttributeNames: {
          '#pk': TABLE.partitionKey,
          ...(condition.includes('#cancelledAt') ? { '#cancelledAt': 'cancelledAt' } : {}),
        },
      }),
    );
  }

  #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return storeCall(operation, this.#table, run, 'a maintenance window');
  }

  #mapped(error: unknown, operation: string): FailoverError {
    return storeError(error, operation, this.#table, 'a maintenance window');
  }
}

function toItem(w: StoredMaintenanceWindow): Item {
  return {
    [TABLE.partitionKey]: maintenanceKeys.pk(w.site),
    [TABLE.sortKey]: maintenanceKeys.sk(w.id),
    [TABLE.entityAttribute]: 'maintenance-window',
    [TABLE.ttlAttribute]: Math.floor(w.endMs / 1000) + RETENTION_SECONDS,
    id: w.id,
    site: w.site,
    start: w.start,
    end: w.end,
    timezone: w.timezone,
    startMs: w.startMs,
    endMs: w.endMs,
    reason: w.reason,
    createdBy: w.createdBy,
    createdAt: w.createdAt,
    ...(w.ticket !== null ? { ticket: w.ticket } : {}),
    // Absent while in force: conditions test attribute_not_exists(cancelledAt).
    ...(w.cancelledAt !== null ? { cancelledAt: w.cancelledAt, cancelledBy: w.cancelledBy } : {}),
  };
}

function fromItem(item: Item): StoredMaintenanceWindow {
  return {
    id: String(item.id),
    site: String(item.site),
    start: String(item.start),
    end: String(item.end),
    timezone: String(item.timezone),
    startMs: Number(item.startMs),
    endMs: Number(item.endMs),
    reason: String(item.reason),
    ticket: typeof item.ticket === 'string' ? item.ticket : null,
    createdBy: String(item.createdBy),
    createdAt: Number(item.createdAt),
    cancelledAt: typeof item.cancelledAt === 'number' ? item.cancelledAt : null,
    cancelledBy: typeof item.cancelledBy === 'string' ? item.cancelledBy : null,
  };
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
