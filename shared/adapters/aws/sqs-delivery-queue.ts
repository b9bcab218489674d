import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import '../../contracts/zod-english.ts';
import { TransientError } from '../../errors.ts';
import type { DeliveryQueue, DeliveryTicket } from '../../ports/webhook-store.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import { isTransientAwsError } from './sdk-errors.ts';
import { sqsClient } from './sqs-client.ts';

/** SQS delays a message by at most 15 minutes; the worker sends a ticket that is not yet due on again. */
export const MAX_SQS_DELAY_SECONDS = 900;

/** The body of a delivery message. */
export const DeliveryTicketMessage = z.object({
  subscriptionId: z.string().check(z.minLength(1)),
  deliveryId: z.string().check(z.minLength(1)),
  attempt: z.int().check(z.minimum(0)),
  notBefore: z.number(),
});

/**
 * The cloud DeliveryQueue: one SQS message per scheduled attempt, delayed by DelaySeconds up to 15 minutes. A
 * ticket due later is sent with the longest delay, and the worker sends it on again until it is due
 * (functions/webhooks/deliver-records.ts).
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #clock: Clock;

  constructor(options: { queueUrl: string; client?: SQSClient; clock?: Clock }) {
    this.#queueUrl = options.queueUrl;
    this.#client = options.client ?? sqsClient();
    this.#clock = options.clock ?? systemClock;
  }

  async enqueue(ticket: DeliveryTicket): Promise<void> {
    try {
      await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: JSON.stringify(ticket),
          DelaySeconds: delaySecondsUntil(ticket.notBefore, this.#clock.now()),
        }),
      );
    } catch (error) {
      if (isTransientAwsError(error)) throw new TransientError('webhook delivery queue unavailable', { cause: error });
      throw error;
    }
  }
}

/** The DelaySeconds that brings a message closest to `notBefore` without passing it (0 to 900). */
export function delaySecondsUntil(notBefore: number, now: number): number {
  return Math.max(0, Math.min(MAX_SQS_DELAY_SECONDS, Math.ceil((notBefore - now) / 1000)));
}
