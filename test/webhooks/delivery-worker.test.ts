import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverRecords } from '../../functions/webhooks/deliver-records.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { TransientError } from '../../shared/errors.ts';
import type { DeliveryQueue, DeliveryTicket } from '../../shared/ports/webhook-store.ts';
import { createSubscription, publishWebhookEvent } from '../../shared/usecases/webhooks/index.ts';
import { localSecretBox } from '../../shared/webhooks/secret-box.ts';
import { delaySecondsUntil, SqsDeliveryQueue } from '../../shared/adapters/aws/sqs-delivery-queue.ts';
import { startHarness, TEST_SCHEDULE, type WebhookHarness } from './harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { webhookActions, webhookConfig } from './scenario.ts';

const { actions } = webhookActions(webhookConfig());
const started = actions.find((a) => a.event === 'failover.started')!;

/** The queue as the worker sees it: tickets sent, in order. */
function recordingQueue(): DeliveryQueue & { tickets: DeliveryTicket[] } {
  const tickets: DeliveryTicket[] = [];
  return { tickets, enqueue: async (t) => void tickets.push(t) };
}

const record = (body: unknown, id = 'm-1'): SQSRecord =>
  ({ messageId: id, body: typeof body === 'string' ? body : JSON.stringify(body) }) as SQSRecord;

let harness: WebhookHarness | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await harness?.close();
  await receiver?.close();
});

describe('the delivery worker (SQS batch)', () => {
  it('attempts due tickets, queues the retry, sends on early ones, and reports only what must come again', async () => {
    harness = await startHarness();
    receiver = await startReceiver([500]);
    const h = harness;
    const created = await createSubscription(
      { store: h.store, secretBox: h.secretBox, clock: h.clock, allowPrivateUrls: true },
      { url: receiver.url },
    );
    const fanOut = recordingQueue();
    await publishWebhookEvent({ store: h.store, queue: fanOut, clock: h.clock }, started);
    const [ticket] = fanOut.tickets;
    expect(ticket).toMatchObject({ subscriptionId: created.subscription.id, attempt: 0 });

    const queue = recordingQueue();
    const deps = {
      store: h.store,
      queue,
      secretBox: h.secretBox,
      clock: h.clock,
      schedule: TEST_SCHEDULE,
      random: () => 0.5,
    };
    const early = { ...ticket!, notBefore: h.clock.now() + 20 * 60_000 };
    const out = await deliverRecords(deps, [record(ticket, 'due'), record(early, 'early'), record('{nope', 'junk')]);
    expect(out.batchItemFailures).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
    expect(queue.tickets).toHaveLength(2);
    expect(queue.tickets).toContainEqual(early);
    const retry = queue.tickets.find((t) => t.notBefore !== early.notBefore)!;
    expect(retry).toMatchObject({ attempt: 1, deliveryId: ticket!.deliveryId });
    expect(retry.notBefore - h.clock.now()).toBeLessThanOrEqual(TEST_SCHEDULE[0]!);

    // The same ticket again (SQS delivers at least once) is stale: no second request.
    expect((await deliverRecords(deps, [record(ticket, 'again')])).batchItemFailures).toEqual([]);
    expect(receiver.requests).toHaveLength(1);

    // A ticket whose attempt another worker holds comes back later.
    const delivery = (await h.store.getDelivery(retry.subscriptionId, retry.deliveryId))!;
    await h.store.updateDelivery({ ...delivery, leaseUntil: h.clock.now() + 60_000, version: delivery.version + 1 });
    expect((await deliverRecords(deps, [record(retry, 'held')])).batchItemFailures).toEqual([
      { itemIdentifier: 'held' },
    ]);

    // A store that fails makes the ticket come back too.
    const broken = { ...deps, store: new DynamoDbWebhookStore({ tableName: 'missing', client: h.dynamo.client }) };
    expect((await deliverRecords(broken, [record(retry, 'broken')])).batchItemFailures).toEqual([
      { itemIdentifier: 'broken' },
    ]);
  });
});

describe('a subscription whose secrets no longer open', () => {
  it('cancels its deliveries instead of retrying forever', async () => {
    harness = await startHarness();
    receiver = await startReceiver([200]);
    const h = harness;
    const created = await createSubscription(
      { store: h.store, secretBox: h.secretBox, clock: h.clock, allowPrivateUrls: true },
      { url: receiver.url },
    );
    const fanOut = recordingQueue();
    await publishWebhookEvent({ store: h.store, queue: fanOut, clock: h.clock }, started);
    // Another key ring: the sealed secrets were made under a key it does not hold.
    const deps = { store: h.store, queue: recordingQueue(), secretBox: localSecretBox(), clock: h.clock };
    const out = await deliverRecords(deps, [record(fanOut.tickets[0])]);
    expect(out.batchItemFailures).toEqual([]);
    expect(receiver.requests).toHaveLength(0);
    const delivery = await h.store.getDelivery(created.subscription.id, fanOut.tickets[0]!.deliveryId);
    expect(delivery).toMatchObject({ status: 'cancelled', leaseUntil: null });
    expect(delivery?.statusReason).toMatch(/^cannot open the subscription's secrets/);
  });
});

describe('SqsDeliveryQueue', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());

  it('delays a ticket until it is due, at most 15 minutes', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: '1' });
    const now = 1_000_000;
    const queue = new SqsDeliveryQueue({
      queueUrl: 'https://sqs/q',
      client: new SQSClient({}),
      clock: { now: () => now },
    });
    const ticket = { subscriptionId: 's', deliveryId: 'a:1:1:s', attempt: 3, notBefore: now + 125_500 };
    await queue.enqueue(ticket);
    await queue.enqueue({ ...ticket, notBefore: now + 4 * 3_600_000 });
    const calls = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.DelaySeconds)).toEqual([126, 900]);
    expect(JSON.parse(calls[0]!.MessageBody!)).toEqual(ticket);
    expect([delaySecondsUntil(now - 5, now), delaySecondsUntil(now + 1, now)]).toEqual([0, 1]);
  });

  it('turns throttling into a TransientError', async () => {
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const queue = new SqsDeliveryQueue({ queueUrl: 'https://sqs/q', client: new SQSClient({}) });
    await expect(
      queue.enqueue({ subscriptionId: 's', deliveryId: 'd', attempt: 0, notBefore: 0 }),
    ).rejects.toBeInstanceOf(TransientError);
  });
});
