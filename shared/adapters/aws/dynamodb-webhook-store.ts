import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { FailoverError } from '../../errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import { BadCursorError, type Page } from '../../ports/state-store.ts';
import {
  DeliveryConflictError,
  MAX_ATTEMPTS_KEPT,
  type DeliveryStatus,
  type WebhookDelivery,
  type WebhookStore,
  type WebhookSubscription,
} from '../../ports/webhook-store.ts';
import { createDocumentClient, queryPage, StateStoreError, storeCall, storeError } from './dynamodb-state-store.ts';
import { RESERVED_ATTRIBUTES, TABLE } from './table.ts';

/** Key values of webhook items (docs/state.md, "Webhook items"). */
export const webhookKeys = {
  /** The one partition of every subscription: listing them is one Query. */
  subscriptionsPk: 'WEBHOOKS',
  subscriptionSk: (id: string) => `SUBSCRIPTION#${id}`,
  subscriptionPrefix: 'SUBSCRIPTION#',
  /** A subscription's deliveries share its partition, and its gsi1 partition for the time-ordered log. */
  deliveryPk: (subscriptionId: string) => `WEBHOOK#${subscriptionId}`,
  deliverySk: (actionId: string) => `DELIVERY#${actionId}`,
  deliveryIndexSk: (createdAt: number, actionId: string) => `${new Date(createdAt).toISOString()}#${actionId}`,
} as const;

/** Deliveries per page when the query names no limit; a larger limit is lowered to the maximum. */
export const DEFAULT_DELIVERY_LIMIT = 50;
export const MAX_DELIVERY_LIMIT = 200;

type Item = Record<string, unknown>;

// A record field named like a key attribute would be silently overwritten: make that a compile error.
type Collision = Extract<keyof WebhookSubscription | keyof WebhookDelivery, (typeof RESERVED_ATTRIBUTES)[number]>;
const _noCollision: [Collision] extends [never] ? true : never = true;

export interface DynamoDbWebhookStoreOptions {
  readonly tableName: string;
  /** @default a client for the function's region (see createDocumentClient) */
  readonly client?: DynamoDBDocumentClient;
  /** How long a delivery and its log are kept after it was created (TTL). @default 30 */
  readonly deliveryRetentionDays?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * The WebhookStore on the failover table. Subscriptions are items of one partition; each delivery is one item in
 * its subscription's partition, found by id through its key and listed newest first through gsi1. Every write is a
 * single-item conditional write; SDK errors become StoreUnavailableError (retry later) or StateStoreError.
 */
export class DynamoDbWebhookStore implements WebhookStore {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #retentionSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbWebhookStoreOptions) {
    this.#table = options.tableName;
    this.#client = options.client ?? createDocumentClient();
    this.#retentionSeconds = Math.round((options.deliveryRetentionDays ?? 30) * 86_400);
    this.#clock = options.clock ?? systemClock;
  }

  async createSubscription(subscription: WebhookSubscription): Promise<void> {
    const item = {
      ...plain(subscription),
      [TABLE.partitionKey]: webhookKeys.subscriptionsPk,
      [TABLE.sortKey]: webhookKeys.subscriptionSk(subscription.id),
      [TABLE.entityAttribute]: 'webhook-subscription',
    };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error))
        throw new StateStoreError(`subscription ${subscription.id} exists already`, { cause: error });
      throw this.#mapped(error, 'PutItem');
    }
  }

  async getSubscription(id: string): Promise<WebhookSubscription | null> {
    const out = await this.#call('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: subscriptionKey(id), ConsistentRead: true })),
    );
    return out.Item ? (withoutKeys(out.Item) as unknown as WebhookSubscription) : null;
  }

  async listSubscriptions(): Promise<WebhookSubscription[]> {
    const found: WebhookSubscription[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#query({
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
        ExpressionAttributeValues: { ':pk': webhookKeys.subscriptionsPk, ':prefix': webhookKeys.subscriptionPrefix },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      for (const item of out.Items ?? []) found.push(withoutKeys(item) as unknown as WebhookSubscription);
      start = out.LastEvaluatedKey;
    } while (start);
    return found.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async setSubscriptionEnabled(id: string, enabled: boolean, reason: string | null, at: number): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: subscriptionKey(id),
          UpdateExpression: 'SET #enabled = :enabled, #reason = :reason, #at = :at',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: {
            '#pk': TABLE.partitionKey,
            '#enabled': 'enabled',
            '#reason': 'disabledReason',
            '#at': 'disabledAt',
          },
          ExpressionAttributeValues: {
            ':enabled': enabled,
            ':reason': enabled ? null : reason,
            ':at': enabled ? null : at,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw this.#mapped(error, 'UpdateItem');
    }
  }

  async deleteSubscription(id: string): Promise<boolean> {
    const out = await this.#call('DeleteItem', () =>
      this.#client.send(
        new DeleteCommand({ TableName: this.#table, Key: subscriptionKey(id), ReturnValues: 'ALL_OLD' }),
      ),
    );
    return out.Attributes !== undefined;
  }

  async createDelivery(delivery: WebhookDelivery): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#deliveryItem({ ...delivery, version: 1 }),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw this.#mapped(error, 'PutItem');
    }
  }

  async getDelivery(subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    const actionId = actionIdOf(subscriptionId, deliveryId);
    if (actionId === null) return null;
    const out = await this.#call('GetItem', () =>
      this.#client.send(
        new GetCommand({
          TableName: this.#table,
          Key: {
            [TABLE.partitionKey]: webhookKeys.deliveryPk(subscriptionId),
            [TABLE.sortKey]: webhookKeys.deliverySk(actionId),
          },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? (withoutKeys(out.Item) as unknown as WebhookDelivery) : null;
  }

  async updateDelivery(delivery: WebhookDelivery): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#deliveryItem(delivery),
          ConditionExpression: '#version = :previous',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':previous': delivery.version - 1 },
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) throw new DeliveryConflictError(delivery.id, { cause: error });
      throw this.#mapped(error, 'PutItem');
    }
  }

  async listDeliveries(
    subscriptionId: string,
    query: { status?: DeliveryStatus; limit?: number; cursor?: string } = {},
  ): Promise<Page<WebhookDelivery>> {
    const limit = Math.min(MAX_DELIVERY_LIMIT, Math.max(1, Math.floor(query.limit ?? DEFAULT_DELIVERY_LIMIT)));
    const pk = webhookKeys.deliveryPk(subscriptionId);
    const names: Record<string, string> = { '#gpk': TABLE.gsi1.partitionKey };
    const values: Record<string, unknown> = { ':gpk': pk };
    let filter: string | undefined;
    if (query.status !== undefined) {
      names['#status'] = 'status';
      values[':status'] = query.status;
      filter = '#status = :status';
    }
    const start = query.cursor === undefined ? undefined : decodeCursor(query.cursor, pk);
    const { items, next } = await queryPage(
      (input) => this.#query(input),
      {
        IndexName: TABLE.gsi1.name,
        KeyConditionExpression: '#gpk = :gpk',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(filter ? { FilterExpression: filter } : {}),
      },
      limit,
      start,
    );
    return {
      items: items.map((item) => withoutKeys(item) as unknown as WebhookDelivery),
      ...(next ? { cursor: encodeCursor(next) } : {}),
    };
  }

  #deliveryItem(delivery: WebhookDelivery): Item {
    const attempts = delivery.attempts.slice(-MAX_ATTEMPTS_KEPT);
    return {
      ...plain({ ...delivery, attempts }),
      [TABLE.partitionKey]: webhookKeys.deliveryPk(delivery.subscriptionId),
      [TABLE.sortKey]: webhookKeys.deliverySk(delivery.actionId),
      [TABLE.gsi1.partitionKey]: webhookKeys.deliveryPk(delivery.subscriptionId),
      [TABLE.gsi1.sortKey]: webhookKeys.deliveryIndexSk(delivery.createdAt, delivery.actionId),
      [TABLE.entityAttribute]: 'webhook-delivery',
      [TABLE.ttlAttribute]: Math.floor(Math.max(delivery.createdAt, this.#clock.now()) / 1000) + this.#retentionSeconds,
    };
  }

  #query(input: Omit<QueryCommandInput, 'TableName'>): Promise<QueryCommandOutput> {
    return this.#call('Query', () => this.#client.send(new QueryCommand({ TableName: this.#table, ...input })));
  }

  #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return storeCall(operation, this.#table, run);
  }

  #mapped(error: unknown, operation: string): FailoverError {
    return storeError(error, operation, this.#table);
  }
}

/** The action id inside a delivery id (`<action id>:<subscription id>`), or null when it is not one of its own. */
export function actionIdOf(subscriptionId: string, deliveryId: string): string | null {
  const suffix = `:${subscriptionId}`;
  return deliveryId.endsWith(suffix) && deliveryId.length > suffix.length ? deliveryId.slice(0, -suffix.length) : null;
}

const subscriptionKey = (id: string) => ({
  [TABLE.partitionKey]: webhookKeys.subscriptionsPk,
  [TABLE.sortKey]: webhookKeys.subscriptionSk(id),
});

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** A JSON copy: no undefined fields whatever the client's marshalling options. */
function plain(value: object): Item {
  return JSON.parse(JSON.stringify(value)) as Item;
}

function withoutKeys(item: Item): Item {
  const record = { ...item };
  for (const name of RESERVED_ATTRIBUTES) delete record[name];
  return record;
}

const CURSOR_KEYS = [TABLE.partitionKey, TABLE.sortKey, TABLE.gsi1.partitionKey, TABLE.gsi1.sortKey] as const;

function encodeCursor(item: Item): string {
  const key: Item = {};
  for (const name of CURSOR_KEYS) key[name] = item[name];
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string, pk: string): Record<string, string> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new BadCursorError('malformed cursor', { cause: error });
  }
  const k = key as Record<string, unknown> | null;
  const valid =
    typeof k === 'object' &&
    k !== null &&
    !Array.isArray(k) &&
    Object.keys(k).length === CURSOR_KEYS.length &&
    CURSOR_KEYS.every((name) => typeof k[name] === 'string') &&
    encodeCursor(k) === cursor;
  if (!valid) throw new BadCursorError('malformed cursor');
  if (k[TABLE.partitionKey] !== pk || k[TABLE.gsi1.partitionKey] !== pk)
    throw new BadCursorError('cursor does not belong to this subscription');
  return k as Record<string, string>;
}
