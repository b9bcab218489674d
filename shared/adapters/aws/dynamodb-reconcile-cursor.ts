import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ReconcileCursor, ReconcileCursorStore, StoredReconcileCursor } from '../../ports/dns-writer.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { TABLE } from './table.ts';

const KEY = { [TABLE.partitionKey]: 'RECONCILE', [TABLE.sortKey]: 'CURSOR' };

/**
 * The reconciler's cursor as one item of the failover table (`RECONCILE`/`CURSOR`), with when it was last saved
 * (`savedAt`, ms): the standby control region's reconciler leaves the sweep to the primary's while that is recent.
 */
export class DynamoDbReconcileCursorStore implements ReconcileCursorStore {
  readonly #table: DynamoTable;

  constructor(options: { readonly tableName: string; readonly client: DynamoDBDocumentClient }) {
    this.#table = new DynamoTable({ ...options, subject: 'the reconcile cursor' });
  }

  async load(): Promise<StoredReconcileCursor | null> {
    const item = await this.#table.get(KEY);
    if (!item || typeof item.hostedZoneId !== 'string') return null;
    const next = item.next as { name?: unknown; type?: unknown } | undefined;
    return {
      hostedZoneId: item.hostedZoneId,
      next:
        next && typeof next.name === 'string' && typeof next.type === 'string'
          ? { name: next.name, type: next.type }
          : null,
      ...(typeof item.savedAt === 'number' ? { savedAtMs: item.savedAt } : {}),
    };
  }

  async save(cursor: ReconcileCursor, savedAtMs: number): Promise<void> {
    await this.#table.put({
      Item: {
        ...KEY,
        [TABLE.entityAttribute]: 'reconcile-cursor',
        hostedZoneId: cursor.hostedZoneId,
        ...(cursor.next ? { next: cursor.next } : {}),
        savedAt: savedAtMs,
      },
    });
  }
}
