import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { Page } from '../../ports/state-store.ts';
import {
  DeliveryConflictError,
  MAX_ATTEMPTS_KEPT,
  type DeliveryStatus,
  type WebhookDelivery,
  type WebhookStore,
  type WebhookSubscription,
} from '../../ports/webhook-store.ts';
import { WebhookDeliveryItem, WebhookSubscriptionItem } from './dynamodb-records.ts';
import { decodeCursor, DynamoTable, encodeCursor, StateStoreError, type Item } from './dynamodb-table.ts';
import type { RESERVED_ATTRIBUTES } from './table.ts';
import { TABLE } from './table.ts';

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
  readonly #table: DynamoTable;
  readonly #retentionSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbWebhookStoreOptions) {
    this.#table = new DynamoTable({
      tableName: options.tableName,
      ...(options.client ? { client: options.client } : {}),
    });
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
    await this.#table.putIf(
      {
        Item: item,
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
      },
      (cause) => new StateStoreError(`subscription ${subscription.id} exists already`, { cause }),
    );
  }

  async getSubscription(id: string): Promise<WebhookSubscription | null> {
    const item = await this.#table.get(subscriptionKey(id));
    return item ? this.#table.decode(WebhookSubscriptionItem, item, 'a webhook subscription') : null;
  }

  async listSubscriptions(): Promise<WebhookSubscription[]> {
    const items = await this.#table.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': webhookKeys.subscriptionsPk, ':prefix': webhookKeys.subscriptionPrefix },
      ConsistentRead: true,
    });
    return items
      .map((item) => this.#table.decode(WebhookSubscriptionItem, item, 'a webhook subscription'))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  setSubscriptionEnabled(id: string, enabled: boolean, reason: string | null, at: number): Promise<boolean> {
    return this.#table.updateIf({
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
    });
  }

  async deleteSubscription(id: string): Promise<boolean> {
    const out = await this.#table.call('DeleteItem', () =>
      this.#table.client.send(
        new DeleteCommand({ TableName: this.#table.name, Key: subscriptionKey(id), ReturnValues: 'ALL_OLD' }),
      ),
    );
    return out.Attributes !== undefined;
  }

  createDelivery(delivery: WebhookDelivery): Promise<boolean> {
    return this.#table.putIf({
      Item: this.#deliveryItem({ ...delivery, version: 1 }),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
    });
  }

  async getDelivery(subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null> {
    const actionId = actionIdOf(subscriptionId, deliveryId);
    if (actionId === null) return null;
    const item = await this.#table.get({
      [TABLE.partitionKey]: webhookKeys.deliveryPk(subscriptionId),
      [TABLE.sortKey]: webhookKeys.deliverySk(actionId),
    });
    return item ? this.#table.decode(WebhookDeliveryItem, item, 'a webhook delivery') : null;
  }

  async updateDelivery(delivery: WebhookDelivery): Promise<void> {
    await this.#table.putIf(
      {
        Item: this.#deliveryItem(delivery),
        ConditionExpression: '#version = :previous',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':previous': delivery.version - 1 },
      },
      (cause) => new DeliveryConflictError(delivery.id, { cause }),
    );
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
    const start =
      query.cursor === undefined
        ? undefined
        : decodeCursor(
            query.cursor,
            CURSOR_KEYS,
            (k) => k[TABLE.partitionKey] === pk && k[TABLE.gsi1.partitionKey] === pk,
            'cursor does not belong to this subscription',
          );
    const { items, next } = await this.#table.queryPage(
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
      items: items.map((item) => this.#table.decode(WebhookDeliveryItem, item, 'a webhook delivery')),
      ...(next ? { cursor: encodeCursor(next, CURSOR_KEYS) } : {}),
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

/** A JSON copy: no undefined fields whatever the client's marshalling options. */
function plain(value: object): Item {
  return JSON.parse(JSON.stringify(value)) as Item;
}

const CURSOR_KEYS = [TABLE.partitionKey, TABLE.sortKey, TABLE.gsi1.partitionKey, TABLE.gsi1.sortKey] as const;
