import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import '../../contracts/zod-english.ts';
import { MAX_TICKET_DELAY_MS, type DelayedTicket, type RoundQueue } from '../../usecases/probe-region.ts';
import { sqsClient } from './sqs-client.ts';

const MAX_ENTRIES_PER_REQUEST = 10;

/** The body of a round ticket message; `shard` and `shards` are absent on tickets of unsharded rounds (before). */
export const RoundTicketMessage = z
  .strictObject({
    v: z.literal(1),
    region: z.string().check(z.minLength(1)),
    atMs: z.int().check(z.nonnegative()),
    shard: z.optional(z.int().check(z.nonnegative())),
    shards: z.optional(z.int().check(z.positive())),
  })
  .check(
    z.refine((t) => (t.shard === undefined) === (t.shards === undefined) && (t.shard ?? 0) < (t.shards ?? 1), {
      message: 'expected shard and shards together, shard below shards',
    }),
  );
export type RoundTicketMessage = z.infer<typeof RoundTicketMessage>;

export interface SqsRoundQueueOptions {
  /** URL of this region's round queue (a standard queue: FIFO queues have no per-message delay). */
  readonly queueUrl: string;
  /** @default a client for the function's region, made once */
  readonly client?: SQSClient;
  /** Tries of each entry SQS refuses for its own fault, the first included. @default 3 */
  readonly maxAttempts?: number;
}

/**
 * The round queue on SQS: one message per ticket, delayed (DelaySeconds, rounded up to whole seconds so that a round
 * never arrives early) until its round is due, sent ten to a SendMessageBatch request. Entries SQS refuses for its
 * own fault are sent again; anything still refused throws.
 */
export class SqsRoundQueue implements RoundQueue {
  readonly #queueUrl: string;
  readonly #client: SQSClient;
  readonly #maxAttempts: number;

  constructor(options: SqsRoundQueueOptions) {
    this.#queueUrl = options.queueUrl;
    this.#client = options.client ?? sqsClient();
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  }

  async enqueue(tickets: readonly DelayedTicket[]): Promise<void> {
    let pending = tickets.map((t, i) => entryOf(t, i));
    const refused: string[] = [];
    for (let attempt = 1; pending.length > 0 && attempt <= this.#maxAttempts; attempt++) {
      const retry: typeof pending = [];
      for (let i = 0; i < pending.length; i += MAX_ENTRIES_PER_REQUEST) {
        const chunk = pending.slice(i, i + MAX_ENTRIES_PER_REQUEST);
        const response = await this.#client.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: chunk }),
        );
        const accepted = new Set((response.Successful ?? []).map((s) => s.Id));
        const failed = new Map((response.Failed ?? []).map((f) => [f.Id, f]));
        for (const entry of chunk) {
          if (accepted.has(entry.Id)) continue;
          const failure = failed.get(entry.Id);
          if (failure?.SenderFault) refused.push(`${entry.Id}: ${failure.Code ?? 'refused'} ${failure.Message ?? ''}`);
          else retry.push(entry);
        }
      }
      pending = retry;
    }
    refused.push(...pending.map((e) => `${e.Id}: still refused after ${this.#maxAttempts} attempts`));
    if (refused.length > 0) {
      throw new Error(`${refused.length} of ${tickets.length} round tickets not queued: ${refused.join('; ')}`);
    }
  }
}

function entryOf(
  { ticket, delayMs }: DelayedTicket,
  index: number,
): SendMessageBatchRequestEntry & { Id: string; MessageBody: string } {
  const body: RoundTicketMessage = {
    v: 1,
    region: ticket.region,
    atMs: ticket.atMs,
    ...(ticket.shard !== undefined ? { shard: ticket.shard, shards: ticket.shards } : {}),
  };
  return {
    Id: `r${index}`,
    MessageBody: JSON.stringify(body),
    DelaySeconds: Math.min(MAX_TICKET_DELAY_MS / 1000, Math.max(0, Math.ceil(delayMs / 1000))),
  };
}
