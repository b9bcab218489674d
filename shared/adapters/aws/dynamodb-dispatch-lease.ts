import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DispatchLease } from '../../ports/dispatch-lease.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { keys, TABLE } from './table.ts';

/** The sort key of a site's dispatch lease, beside its state item. */
export const DISPATCH_LEASE_SK = 'DISPATCH';

/**
 * The dispatch lease as one item per site (`SITE#<id>` / `DISPATCH`, entity `dispatch-lease`, no TTL), taken and
 * given up with conditional puts only, so the dispatcher needs no permission beyond GetItem and PutItem. On a
 * multi-Region strongly consistent table the condition is evaluated against the latest write of either region.
 */
export class DynamoDbDispatchLease implements DispatchLease {
  readonly #table: DynamoTable;

  constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = new DynamoTable({ ...options, subject: 'a dispatch lease' });
  }

  acquire(site: string, holder: string, nowMs: number, untilMs: number): Promise<boolean> {
    return this.#table.putIf({
      Item: this.#item(site, holder, untilMs),
      ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now OR #holder = :holder',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#until': 'until', '#holder': 'holder' },
      ExpressionAttributeValues: { ':now': nowMs, ':holder': holder },
    });
  }

  async release(site: string, holder: string): Promise<void> {
    await this.#table.putIf({
      Item: this.#item(site, holder, 0),
      ConditionExpression: '#holder = :holder',
      ExpressionAttributeNames: { '#holder': 'holder' },
      ExpressionAttributeValues: { ':holder': holder },
    });
  }

  #item(site: string, holder: string, until: number) {
    return {
      [TABLE.partitionKey]: keys.site(site),
      [TABLE.sortKey]: DISPATCH_LEASE_SK,
      [TABLE.entityAttribute]: 'dispatch-lease',
      holder,
      until,
    };
  }
}
