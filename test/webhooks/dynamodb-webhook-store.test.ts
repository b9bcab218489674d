import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadCursorError } from '../../shared/ports/state-store.ts';
import { actionIdOf, DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import {
  DeliveryConflictError,
  MAX_ATTEMPTS_KEPT,
  type DeliveryAttempt,
  type WebhookDelivery,
  type WebhookSubscription,
} from '../../shared/ports/webhook-store.ts';

const T0 = Date.UTC(2026, 0, 1);
let dynamo: LocalDynamo;
let store: DynamoDbWebhookStore;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoDbWebhookStore({ tableName: dynamo.tableName, client: dynamo.client, clock: { now: () => T0 } });
});
afterAll(() => dynamo.close());

const subscription = (id: string, createdAt = T0): WebhookSubscription => ({
  id,
  url: 'https://hooks.example.com/x',
  format: 'generic',
  events: [],
  sites: ['store-12'],
  description: '',
  options: { tags: ['a'] },
  enabled: true,
  disabledReason: null,
  disabledAt: null,
  createdAt,
  sealed: 'v1.k1.iv.data',
});

const delivery = (
  subscriptionId: string,
  n: number,
  status: WebhookDelivery['status'] = 'pending',
): WebhookDelivery => ({
  id: `store-12:${n}:1:${subscriptionId}`,
  subscriptionId,
  actionId: `store-12:${n}:1`,
  event: 'failover.started',
  site: 'store-12',
  incidentId: 'store-12.1',
  createdAt: T0 + n * 1000,
  envelope: '{"type":"failover.started"}',
  status,
  statusReason: null,
  attempts: [],
  attemptCount: 0,
  scheduledAttempts: 0,
  nextAttemptAt: T0,
  leaseUntil: null,
  version: 1,
});

const attempt = (n: number): DeliveryAttempt => ({
  n,
  at: T0 + n,
  durationMs: 3,
  status: 500,
  outcome: 'retry',
  error: 'HTTP 500',
  response: null,
  redelivery: false,
});

describe('DynamoDbWebhookStore: subscriptions', () => {
  it('creates, lists oldest first, disables, enables and deletes', async () => {
    await store.createSubscription(subscription('sub_b', T0 + 1));
    await store.createSubscription(subscription('sub_a', T0 + 2));
    await expect(store.createSubscription(subscription('sub_a'))).rejects.toThrow(/exists already/);
    expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_b', 'sub_a']);
    expect(await store.getSubscription('sub_a')).toEqual(subscription('sub_a', T0 + 2));

    expect(await store.setSubscriptionEnabled('sub_a', false, 'receiver answered 410 Gone', T0 + 5)).toBe(true);
    expect(await store.getSubscription('sub_a')).toMatchObject({
      enabled: false,
      disabledReason: 'receiver answered 410 Gone',
      disabledAt: T0 + 5,
    });
    expect(await store.setSubscriptionEnabled('sub_a', true, null, T0 + 6)).toBe(true);
    expect(await store.getSubscription('sub_a')).toMatchObject({
      enabled: true,
      disabledReason: null,
      disabledAt: null,
    });
    expect(await store.setSubscriptionEnabled('sub_none', false, 'x', T0)).toBe(false);

    expect(await store.deleteSubscription('sub_b')).toBe(true);
    expect(await store.deleteSubscription('sub_b')).toBe(false);
    expect(await store.getSubscription('sub_b')).toBeNull();
  });
});

describe('DynamoDbWebhookStore: deliveries', () => {
  it('creates a delivery once, and updates it only over the version it read', async () => {
    const d = delivery('sub_d', 1);
    expect(await store.createDelivery(d)).toBe(true);
    expect(await store.createDelivery({ ...d, status: 'failed' })).toBe(false);
    expect(await store.getDelivery('sub_d', d.id)).toEqual(d);

    const next = { ...d, attempts: [attempt(1)], attemptCount: 1, version: 2 };
    await store.updateDelivery(next);
    await expect(store.updateDelivery({ ...d, status: 'delivered', version: 2 })).rejects.toBeInstanceOf(
      DeliveryConflictError,
    );
    expect(await store.getDelivery('sub_d', d.id)).toEqual(next);
    expect(await store.getDelivery('sub_other', d.id)).toBeNull();
    expect(actionIdOf('sub_d', d.id)).toBe('store-12:1:1');
    expect(actionIdOf('sub_d', 'sub_d')).toBeNull();
  });

  it('keeps the latest attempts only', async () => {
    const d = delivery('sub_long', 1);
    await store.createDelivery(d);
    const attempts = Array.from({ length: MAX_ATTEMPTS_KEPT + 5 }, (_, i) => attempt(i + 1));
    await store.updateDelivery({ ...d, attempts, attemptCount: attempts.length, version: 2 });
    const stored = await store.getDelivery('sub_long', d.id);
    expect(stored?.attempts).toHaveLength(MAX_ATTEMPTS_KEPT);
    expect(stored?.attempts[0]?.n).toBe(6);
    expect(stored?.attemptCount).toBe(MAX_ATTEMPTS_KEPT + 5);
  });

  it('lists a subscription’s deliveries newest first, in pages, optionally of one status', async () => {
    for (let n = 1; n <= 7; n++)
      await store.createDelivery(delivery('sub_list', n, n % 2 === 0 ? 'failed' : 'pending'));
    await store.createDelivery(delivery('sub_elsewhere', 9));
    const first = await store.listDeliveries('sub_list', { limit: 3 });
    expect(first.items.map((d) => d.actionId)).toEqual(['store-12:7:1', 'store-12:6:1', 'store-12:5:1']);
    const second = await store.listDeliveries('sub_list', { limit: 3, cursor: first.cursor! });
    expect(second.items.map((d) => d.actionId)).toEqual(['store-12:4:1', 'store-12:3:1', 'store-12:2:1']);
    const last = await store.listDeliveries('sub_list', { limit: 3, cursor: second.cursor! });
    expect(last.items.map((d) => d.actionId)).toEqual(['store-12:1:1']);
    expect(last.cursor).toBeUndefined();

    const failed = await store.listDeliveries('sub_list', { status: 'failed', limit: 2 });
    expect(failed.items.map((d) => d.actionId)).toEqual(['store-12:6:1', 'store-12:4:1']);
    const rest = await store.listDeliveries('sub_list', { status: 'failed', limit: 2, cursor: failed.cursor! });
    expect(rest.items.map((d) => d.actionId)).toEqual(['store-12:2:1']);

    await expect(store.listDeliveries('sub_elsewhere', { cursor: first.cursor! })).rejects.toBeInstanceOf(
      BadCursorError,
    );
    await expect(store.listDeliveries('sub_list', { cursor: 'garbage' })).rejects.toBeInstanceOf(BadCursorError);
  });
});
