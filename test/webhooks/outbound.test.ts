import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookAction } from '../../shared/domain/model.ts';
import {
  createSubscription,
  DELIVERY_SCHEDULE_MS,
  deliverWebhook,
  getSubscription,
  listDeliveries,
  publishWebhookEvent,
  redeliver,
  setSubscriptionEnabled,
  SubscriptionDisabledError,
  webhookHandler,
  type CreateSubscriptionInput,
} from '../../shared/usecases/webhooks/index.ts';
import { startHarness, TEST_SCHEDULE, TEST_TIMEOUT_MS, until, type WebhookHarness } from './harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { webhookActions, webhookConfig } from './scenario.ts';

const config = webhookConfig();
const { actions } = webhookActions(config);
const started = actions.find((a) => a.event === 'failover.started')!;
const failback = actions.find((a) => a.event === 'failback')!;

let harness: WebhookHarness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await harness?.close();
  await receiver?.close();
  harness = undefined;
  receiver = undefined;
});

async function setUp(replies: Parameters<typeof startReceiver>[0], input: Partial<CreateSubscriptionInput> = {}) {
  harness = await startHarness();
  receiver = await startReceiver(replies);
  const h = harness;
  const created = await createSubscription(
    { store: h.store, secretBox: h.secretBox, clock: h.clock, config, allowPrivateUrls: true },
    { url: receiver.url, ...input },
  );
  const handler = webhookHandler({ store: h.store, queue: h.delivery.queue, clock: h.clock });
  return { h, r: receiver, created, handler };
}

/** Verifies a received request with the Standard Webhooks reference library, as a receiver would. */
function verified(secret: string, request: { headers: Record<string, unknown>; body: string }): unknown {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

describe('outbound delivery', () => {
  it('retries after a 500 and a timeout, then delivers; every attempt is signed and logged', async () => {
    const { h, r, created, handler } = await setUp([500, 'hang', 200]);
    const { detail } = await handler(started);
    expect(detail).toContain('1 of 1 delivery queued');
    await r.waitFor(3);
    await until(async () => (await h.store.listDeliveries(created.subscription.id)).items[0]?.status === 'delivered');

    const deliveryId = `${started.id}:${created.subscription.id}`;
    for (const request of r.requests) {
      expect(request.headers['webhook-id']).toBe(deliveryId);
      expect(request.headers['content-type']).toBe('application/json');
      expect(verified(created.secret, request)).toMatchObject({
        type: 'failover.started',
        data: { incidentKey: 'failover-store-12.1', site: 'store-12' },
      });
    }
    // Each retry waits at least its step of the schedule (jitter is off: random 0.5).
    const gaps = r.requests.slice(1).map((req, i) => req.at - r.requests[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(TEST_SCHEDULE[0]! - 5);
    expect(gaps[1]).toBeGreaterThanOrEqual(TEST_SCHEDULE[1]! + TEST_TIMEOUT_MS - 5);

    const page = await listDeliveries({ store: h.store }, { subscriptionId: created.subscription.id });
    expect(page.items).toHaveLength(1);
    const delivery = page.items[0]!;
    expect(delivery).toMatchObject({ id: deliveryId, status: 'delivered', attemptCount: 3, nextAttemptAt: null });
    expect(delivery.attempts.map((a) => [a.n, a.status, a.outcome])).toEqual([
      [1, 500, 'retry'],
      [2, null, 'retry'],
      [3, 200, 'ok'],
    ]);
    expect(delivery.attempts[0]!.error).toBe('HTTP 500');
    expect(delivery.attempts[0]!.response).toBe('status 500');
    expect(delivery.attempts[1]!.error).toBe(`timeout after ${TEST_TIMEOUT_MS} ms`);
    expect(delivery.attempts[1]!.durationMs).toBeGreaterThanOrEqual(TEST_TIMEOUT_MS - 5);
    expect(h.errors).toEqual([]);
  });

  it('gives up, marked failed, once the schedule is used up', async () => {
    const { h, r, created, handler } = await setUp([503]);
    await handler(started);
    await r.waitFor(TEST_SCHEDULE.length + 1);
    await until(async () => (await h.store.listDeliveries(created.subscription.id)).items[0]?.status === 'failed');
    const [delivery] = (await h.store.listDeliveries(created.subscription.id)).items;
    expect(delivery!.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'failed']);
    expect(delivery!.statusReason).toMatch(/^gave up after 4 attempts/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(TEST_SCHEDULE.length + 1);
  });

  it('disables the subscription on 410 Gone, and sends it nothing more', async () => {
    const { h, r, created, handler } = await setUp([410, 200]);
    await handler(started);
    await r.waitFor(1);
    await until(async () => !(await h.store.getSubscription(created.subscription.id))!.enabled);
    await h.delivery.idle();
    const subscription = await getSubscription({ store: h.store }, { id: created.subscription.id });
    expect(subscription).toMatchObject({ enabled: false, disabledReason: 'receiver answered 410 Gone' });
    const [delivery] = (await h.store.listDeliveries(created.subscription.id)).items;
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(delivery!.attempts[0]).toMatchObject({ status: 410, outcome: 'gone' });

    // A later event creates no delivery; a ticket for an old one is cancelled without a request.
    expect((await handler(failback)).detail).toContain('no subscription wants it');
    const pending = { ...delivery!, id: `${failback.id}:${created.subscription.id}`, actionId: failback.id };
    await h.store.createDelivery({
      ...pending,
      status: 'pending',
      attempts: [],
      attemptCount: 0,
      scheduledAttempts: 0,
    });
    const outcome = await deliverWebhook(
      { store: h.store, queue: h.delivery.queue, secretBox: h.secretBox, clock: h.clock },
      { subscriptionId: created.subscription.id, deliveryId: pending.id, attempt: 0, notBefore: 0 },
    );
    expect(outcome.type).toBe('cancelled');
    await expect(
      redeliver(
        { store: h.store, secretBox: h.secretBox, clock: h.clock },
        { subscriptionId: created.subscription.id, deliveryId: delivery!.id },
      ),
    ).rejects.toBeInstanceOf(SubscriptionDisabledError);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toHaveLength(1);

    // Enabled again by an operator, it receives new events.
    await setSubscriptionEnabled({ store: h.store, clock: h.clock }, { id: created.subscription.id, enabled: true });
    const next: WebhookAction = { ...failback, id: 'store-12:3:1' };
    await handler(next);
    await r.waitFor(2);
  });

  it('redelivers with the same webhook-id and a fresh valid signature, logged as a redelivery', async () => {
    const { h, r, created, handler } = await setUp([200]);
    await handler(started);
    await r.waitFor(1);
    await until(async () => (await h.store.listDeliveries(created.subscription.id)).items[0]?.status === 'delivered');
    const deliveryId = `${started.id}:${created.subscription.id}`;
    const out = await redeliver(
      { store: h.store, secretBox: h.secretBox, clock: h.clock },
      { subscriptionId: created.subscription.id, deliveryId },
    );
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1]!.headers['webhook-id']).toBe(deliveryId);
    expect(r.requests[1]!.body).toBe(r.requests[0]!.body);
    expect(verified(created.secret, r.requests[1]!)).toMatchObject({ type: 'failover.started' });
    expect(out.attempt).toMatchObject({ n: 2, status: 200, outcome: 'ok', redelivery: true });
    expect(out.delivery.attempts.map((a) => a.redelivery)).toEqual([false, true]);
    expect(out.delivery.status).toBe('delivered');
  });

  it('fans out once per action and subscription, however often the dispatcher runs', async () => {
    const { h, r, created } = await setUp([200]);
    const deps = { store: h.store, queue: h.delivery.queue, clock: h.clock };
    const first = await publishWebhookEvent(deps, started);
    const again = await Promise.all([publishWebhookEvent(deps, started), publishWebhookEvent(deps, started)]);
    expect(first.deliveries).toEqual([`${started.id}:${created.subscription.id}`]);
    for (const out of again) expect(out.deliveries).toEqual(first.deliveries);
    await r.waitFor(1);
    await h.delivery.idle();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.requests).toHaveLength(1);
    expect((await h.store.listDeliveries(created.subscription.id)).items).toHaveLength(1);
  });

  it('sends only the events, sites and formats a subscription asked for', async () => {
    const { h, r, handler } = await setUp([200], { events: ['failback'], sites: ['store-12'] });
    expect((await handler(started)).detail).toContain('no subscription wants it');
    expect((await handler({ ...failback, site: 'store-13' })).detail).toContain('no subscription wants it');
    await handler(failback);
    await r.waitFor(1);
    await h.delivery.idle();
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({ type: 'failback' });

    const pd = await createSubscription(
      { store: h.store, secretBox: h.secretBox, clock: h.clock, allowPrivateUrls: true },
      { url: r.url, format: 'pagerduty', routingKey: 'R0UT1NGKEY0000000000000000000001' },
    );
    const maintenance: WebhookAction = {
      ...started,
      id: 'store-12:9:1',
      event: 'maintenance.started',
      incidentId: null,
      data: { site: 'store-12', window: 'w1', reason: 'upgrade', ticket: null },
    };
    const out = await publishWebhookEvent({ store: h.store, queue: h.delivery.queue, clock: h.clock }, maintenance);
    expect(out.deliveries.some((id) => id.endsWith(pd.subscription.id))).toBe(false);
  });

  it('sends each format signed, with the subscription’s extra headers and PagerDuty routing key', async () => {
    const { h, r } = await setUp([202]);
    const pd = await createSubscription(
      { store: h.store, secretBox: h.secretBox, clock: h.clock, allowPrivateUrls: true },
      {
        url: r.url,
        format: 'pagerduty',
        routingKey: 'R0UT1NGKEY0000000000000000000001',
        headers: { 'X-Api-Key': 'k-123' },
      },
    );
    const deps = { store: h.store, queue: h.delivery.queue, clock: h.clock };
    await publishWebhookEvent(deps, failback);
    await r.waitFor(2);
    await h.delivery.idle();
    const request = r.requests.find((q) => q.headers['webhook-id'] === `${failback.id}:${pd.subscription.id}`)!;
    expect(request.headers['x-api-key']).toBe('k-123');
    expect(verified(pd.secret, request)).toEqual({
      routing_key: 'R0UT1NGKEY0000000000000000000001',
      event_action: 'resolve',
      dedup_key: 'failover-store-12.1',
    });
  });
});

describe('Opsgenie', () => {
  it('creates the alert by its alias, then closes it at the alias’s close endpoint, with the GenieKey', async () => {
    const { h, r } = await setUp([202]);
    const deps = { store: h.store, secretBox: h.secretBox, clock: h.clock, allowPrivateUrls: true };
    const og = await createSubscription(deps, {
      url: r.url.replace('/hook', '/v2/alerts'),
      format: 'opsgenie',
      headers: { Authorization: 'GenieKey 0a1b2c3d-0000-4000-8000-000000000001' },
    });
    const publish = { store: h.store, queue: h.delivery.queue, clock: h.clock };
    await publishWebhookEvent(publish, started);
    await publishWebhookEvent(publish, failback);
    await r.waitFor(4);
    await h.delivery.idle();
    const mine = r.requests.filter((q) => String(q.headers['webhook-id']).endsWith(og.subscription.id));
    expect(mine.map((q) => q.url)).toEqual(['/v2/alerts', '/v2/alerts/failover-store-12.1/close?identifierType=alias']);
    for (const q of mine) expect(q.headers.authorization).toBe('GenieKey 0a1b2c3d-0000-4000-8000-000000000001');
    expect(verified(og.secret, mine[0]!)).toMatchObject({ alias: 'failover-store-12.1', priority: 'P1' });
    expect(verified(og.secret, mine[1]!)).toMatchObject({ source: 'store-12', user: 'failover' });

    await expect(createSubscription(deps, { url: r.url, format: 'opsgenie' })).rejects.toMatchObject({
      problems: ['headers.authorization: required for opsgenie, as "GenieKey <API key of an API integration>"'],
    });
  });
});

describe('the local scheduler', () => {
  it('resumes the deliveries an earlier run left pending', async () => {
    const { h, r, created } = await setUp([200]);
    // An earlier run made the delivery, then stopped before its ticket was handled.
    const lost = { enqueue: async () => undefined };
    await publishWebhookEvent({ store: h.store, queue: lost, clock: h.clock }, started);
    expect(r.requests).toHaveLength(0);
    expect(await h.delivery.resume()).toBe(1);
    await r.waitFor(1);
    await until(async () => (await h.store.listDeliveries(created.subscription.id)).items[0]?.status === 'delivered');
    expect(await h.delivery.resume()).toBe(0);
  });
});

describe('subscriptions', () => {
  it('returns the whsec_ secret once and stores it only sealed', async () => {
    const { h, created } = await setUp([200]);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const stored = await h.store.getSubscription(created.subscription.id);
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6));
    expect(created.subscription).not.toHaveProperty('sealed');
    expect(JSON.parse(await h.secretBox.open(stored!.sealed, stored!.id))).toEqual({ secret: created.secret });
  });

  it('refuses requests with every problem listed', async () => {
    harness = await startHarness();
    const deps = { store: harness.store, secretBox: harness.secretBox, clock: harness.clock, config };
    await expect(
      createSubscription(deps, {
        url: 'http://127.0.0.1:9/x',
        format: 'pagerduty',
        sites: ['nowhere'],
        headers: { 'Webhook-Signature': 'x' },
      }),
    ).rejects.toMatchObject({
      code: 'WEBHOOK_INVALID',
      problems: [
        'url: expected https://',
        'url: 127.0.0.1 is a local or private address',
        'routingKey: required for the pagerduty format',
        'headers.Webhook-Signature: set by the sender itself',
        'sites: unknown site "nowhere"',
      ],
    });
    await expect(createSubscription(deps, { url: 'https://[fd00::1]/x' })).rejects.toMatchObject({
      problems: ['url: fd00::1 is a local or private address'],
    });
    await expect(createSubscription(deps, { url: 'https://169.254.169.254/latest' })).rejects.toMatchObject({
      code: 'WEBHOOK_INVALID',
    });
    await expect(
      createSubscription(deps, { url: 'https://hooks.example.com/x', format: 'jira' }),
    ).rejects.toMatchObject({
      problems: ['options.projectKey: required for jira'],
    });
    await expect(createSubscription(deps, { url: 'ftp://example.com/x' })).rejects.toMatchObject({
      code: 'WEBHOOK_INVALID',
    });
    const ok = await createSubscription(deps, { url: 'https://hooks.example.com/x', events: ['failback'] });
    expect(ok.subscription).toMatchObject({ format: 'generic', events: ['failback'], sites: [], enabled: true });
  });
});

describe('the retry schedule', () => {
  it('keeps trying for more than a day, with growing waits', () => {
    const total = DELIVERY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);
    expect(total * 0.9).toBeGreaterThan(24 * 3_600_000); // the earliest, with 10% jitter
    expect(DELIVERY_SCHEDULE_MS[0]).toBe(30_000);
    for (let i = 1; i < DELIVERY_SCHEDULE_MS.length; i++)
      expect(DELIVERY_SCHEDULE_MS[i]!).toBeGreaterThanOrEqual(DELIVERY_SCHEDULE_MS[i - 1]!);
  });
});
