import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { takeToken, type TokenBucketRule } from '../../domain/dns-batch.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { RateBudget, RateBudgetPriority } from '../../ports/dns-writer.ts';
import { DynamoTable } from './dynamodb-table.ts';
import { TABLE } from './table.ts';

/**
 * Route 53 allows five requests a second per account; the budget keeps one below it for the console and
 * CloudFormation. Reads (the reconciler) leave two tokens to writes.
 */
export const ROUTE53_BUDGET: TokenBucketRule & { readonly readReserve: number } = {
  ratePerSecond: 4,
  capacity: 4,
  readReserve: 2,
};

/**
 * A RateBudget shared by every Lambda invocation at once: one token bucket item in the failover table
 * (`RATE#<name>`), taken with a conditional put on the version read, so that two takers never spend the same
 * token. A lost race answers "ask again" after a few milliseconds.
 */
export class DynamoDbRateBudget implements RateBudget {
  readonly #table: DynamoTable;
  readonly #clock: Clock;
  readonly #rule: TokenBucketRule;
  readonly #readReserve: number;
  readonly #key: Record<string, string>;
  readonly #random: () => number;

  constructor(options: {
    readonly tableName: string;
    readonly client: DynamoDBDocumentClient;
    /** @default 'route53' */
    readonly name?: string;
    /** @default ROUTE53_BUDGET */
    readonly rule?: TokenBucketRule & { readonly readReserve: number };
    readonly clock?: Clock;
    readonly random?: () => number;
  }) {
    this.#table = new DynamoTable({ tableName: options.tableName, client: options.client, subject: 'a rate budget' });
    this.#clock = options.clock ?? systemClock;
    const rule = options.rule ?? ROUTE53_BUDGET;
    this.#rule = { ratePerSecond: rule.ratePerSecond, capacity: rule.capacity };
    this.#readReserve = rule.readReserve;
    const name = options.name ?? 'route53';
    this.#key = { [TABLE.partitionKey]: `RATE#${name}`, [TABLE.sortKey]: 'BUCKET' };
    this.#random = options.random ?? Math.random;
  }

  async take(priority: RateBudgetPriority): Promise<{ granted: true } | { granted: false; waitMs: number }> {
    const item = await this.#table.get(this.#key);
    const held =
      item && typeof item.tokens === 'number' && typeof item.updatedAt === 'number'
        ? { tokens: item.tokens, updatedAt: item.updatedAt }
        : null;
    const out = takeToken(held, this.#rule, this.#clock.now(), priority === 'read' ? this.#readReserve : 0);
    if (!out.granted) return out;
    const made = await this.#table.putIf({
      Item: { ...this.#key, [TABLE.entityAttribute]: 'rate-budget', ...out.bucket },
      ...(held
        ? {
            ConditionExpression: '#u = :u AND #t = :t',
            ExpressionAttributeNames: { '#u': 'updatedAt', '#t': 'tokens' },
            ExpressionAttributeValues: { ':u': held.updatedAt, ':t': held.tokens },
          }
        : {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
          }),
    });
    return made ? { granted: true } : { granted: false, waitMs: 5 + Math.floor(this.#random() * 20) };
  }
}
