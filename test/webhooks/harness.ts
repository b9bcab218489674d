import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { systemClock, type Clock } from '../../shared/ports/clock.ts';
import type { DeliveryTicket } from '../../shared/ports/webhook-store.ts';
import type { DeliverOutcome } from '../../shared/usecases/webhooks/deliver-webhook.ts';
import { startLocalWebhookDelivery, type LocalWebhookDelivery } from '../../shared/usecases/webhooks/local-delivery.ts';
import { localSecretBox, type AesGcmSecretBox } from '../../shared/webhooks/secret-box.ts';

/** Short waits instead of minutes and hours: the schedule's shape is what the tests check. */
export const TEST_SCHEDULE = [60, 120, 240];
export const TEST_TIMEOUT_MS = 500;

/** A webhook store on its own dynalite, a secret box, and the local delivery scheduler with a short schedule. */
export interface WebhookHarness {
  readonly dynamo: LocalDynamo;
  readonly store: DynamoDbWebhookStore;
  readonly secretBox: AesGcmSecretBox;
  readonly clock: Clock;
  readonly delivery: LocalWebhookDelivery;
  readonly outcomes: { ticket: DeliveryTicket; outcome: DeliverOutcome }[];
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function startHarness(options: { schedule?: readonly number[] } = {}): Promise<WebhookHarness> {
  const dynamo = await startDynalite();
  const clock = systemClock;
  const store = new DynamoDbWebhookStore({ tableName: dynamo.tableName, client: dynamo.client, clock });
  const secretBox = localSecretBox();
  const outcomes: WebhookHarness['outcomes'] = [];
  const errors: unknown[] = [];
  const delivery = startLocalWebhookDelivery({
    store,
    secretBox,
    clock,
    schedule: options.schedule ?? TEST_SCHEDULE,
    timeoutMs: TEST_TIMEOUT_MS,
    random: () => 0.5,
    errorRetryMs: 50,
    onOutcome: (outcome, ticket) => outcomes.push({ ticket, outcome }),
    onError: (error) => errors.push(error),
  });
  return {
    dynamo,
    store,
    secretBox,
    clock,
    delivery,
    outcomes,
    errors,
    async close() {
      await delivery.close();
      await dynamo.close();
    },
  };
}

/** Waits until `predicate` holds, polling; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
