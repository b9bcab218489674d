import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  MaintenanceWindowExistsError,
  siteOfWindowId,
  type MaintenanceStore,
  type StoredMaintenanceWindow,
} from '../../ports/maintenance-store.ts';
import { MaintenanceWindowItem } from './dynamodb-records.ts';
import { DynamoTable, type Item } from './dynamodb-table.ts';
import { PARTITION, TABLE } from './table.ts';

/** Keys of maintenance window items (docs/state.md, "API keys and maintenance windows"). */
export const maintenanceKeys = {
  pk: (site: string) => `${PARTITION.maintenance}${site}`,
  sk: (id: string) => `WINDOW#${id}`,
  skPrefix: 'WINDOW#',
} as const;

/** How long a window's item is kept after its end (TTL). */
const RETENTION_SECONDS = 90 * 86_400;

/**
 * MaintenanceStore on the failover table: a site's windows share one partition (`MAINTENANCE#<site>`, sort key
 * `WINDOW#<id>`), so the decider reads them with one consistent Query. Cancelling is a conditional put (the item is
 * kept, with who cancelled it); TTL removes items 90 days after their end.
 */
export class DynamoDbMaintenanceStore implements MaintenanceStore {
  readonly #table: DynamoTable;

  constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = new DynamoTable({ ...options, subject: 'a maintenance window' });
  }

  async create(window: StoredMaintenanceWindow): Promise<void> {
    if (siteOfWindowId(window.id) !== window.site)
      throw new RangeError(`not a window id of ${window.site}: ${window.id}`);
    await this.#table.putIf(
      {
        Item: toItem(window),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
      },
      () => new MaintenanceWindowExistsError(window.id),
    );
  }

  async get(id: string): Promise<StoredMaintenanceWindow | null> {
    const site = siteOfWindowId(id);
    if (!site) return null;
    const item = await this.#table.get({
      [TABLE.partitionKey]: maintenanceKeys.pk(site),
      [TABLE.sortKey]: maintenanceKeys.sk(id),
    });
    return item ? this.#decode(item) : null;
  }

  async listForSite(site: string, endingAfter: number): Promise<StoredMaintenanceWindow[]> {
    const items = await this.#table.queryAll({
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
    });
    return items.map((item) => this.#decode(item)).sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
  }

  async cancel(id: string, by: string, at: number): Promise<StoredMaintenanceWindow | null> {
    const current = await this.get(id);
    if (!current || current.cancelledAt !== null) return null;
    const cancelled = { ...current, cancelledAt: at, cancelledBy: by };
    const made = await this.#table.putIf({
      Item: toItem(cancelled),
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#cancelledAt)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#cancelledAt': 'cancelledAt' },
    });
    return made ? cancelled : null;
  }

  #decode(item: Item): StoredMaintenanceWindow {
    return this.#table.decode(MaintenanceWindowItem, item, 'a maintenance window');
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
