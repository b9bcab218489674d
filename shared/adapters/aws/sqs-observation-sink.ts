import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { ObservationBatch } from '../../contracts/observation.ts';
import type { ObservationSink } from '../../ports/observation-sink.ts';
import { ObservationsNotDeliveredError } from './errors.ts';
import { sqsClient } from './sqs-client.ts';

/** The largest SQS message body, and the largest total of one SendMessageBatch request. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_ENTRIES_PER_REQUEST = 10;

export interface SqsObservationSinkOptions {
  /** URL of the decider's FIFO queue, possibly in another region. */
  readonly queueUrl: string;
  /**
   * The queue's region, which requests are signed for. An emulator's queue URL names none (moto's is
   * `http://127.0.0.1:5000/<account>/<name>` in every region); a URL that names another region is refused.
   * @default the region named in the queue URL (else the function's own)
   */
  readonly region?: string;
  /** @default a client for the queue's region, made once */
  readonly client?: SQSClient;
  /** Tries of each message, the first included, before its batch counts as lost. @default 4 */
  readonly maxAttempts?: number;
  /** Ceiling of the first backoff; each retry doubles it (full jitter). @default 100 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * SendMessageBatch requests in flight at once. Requests are independent: each message is deduplicated on its own
   * and a site's batch is one message (or parts the consumer adds up), so their order does not matter.
   * @default 10
   */
  readonly concurrency?: number;
}

interface OutgoingMessage {
  /** Index of the batch this message carries (all or part of). */
  readonly batch: number;
  readonly entry: SendMessageBatchRequestEntry & { Id: string; MessageBody: string };
  readonly bytes: number;
}

/**
 * Hands observation batches to an SQS FIFO queue: one message per batch, grouped by site (ordered per site, parallel
 * across sites), deduplicated by vantage, round and site so that a resent batch is dropped by SQS. Requests of ten
 * entries go out `concurrency` at a time. Entries SQS refuses are retried with exponential backoff; batches still
 * undelivered raise ObservationsNotDeliveredError.
 */
export class SqsObservationSink implements ObservationSink {
  readonly #queueUrl: string;
  readonly #client: SQSClient;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #random: () => number;
  readonly #concurrency: number;

  constructor(options: SqsObservationSinkOptions) {
    this.#queueUrl = options.queueUrl;
    // Requests are signed for the client's region: it must be the queue's region, not the function's.
    this.#client = options.client ?? sqsClient({ region: queueRegionOf(options.queueUrl, options.region) });
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#baseDelayMs = options.baseDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 2000;
    this.#random = options.random ?? Math.random;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 10));
  }

  async publish(batches: readonly ObservationBatch[]): Promise<void> {
    const lost = new Set<number>();
    const reasons = new Map<string, number>();
    const note = (batch: number, reason: string) => {
      lost.add(batch);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    let pending: OutgoingMessage[] = [];
    batches.forEach((batch, index) => {
      const messages = toMessages(batch, index);
      if (messages === undefined) note(index, 'an observation alone exceeds the SQS message size');
      else pending.push(...messages);
    });

    for (let attempt = 1; pending.length > 0 && attempt <= this.#maxAttempts; attempt++) {
      if (attempt > 1) await sleep(this.#backoffMs(attempt - 1));
      const retry: OutgoingMessage[] = [];
      const requests = chunks(pending);
      // Up to `concurrency` requests in flight; after an error no further request starts, those in flight finish.
      let next = 0;
      const failed: { error?: unknown; chunks: OutgoingMessage[][] } = { chunks: [] };
      const worker = async () => {
        while (failed.chunks.length === 0 && next < requests.length) {
          const chunk = requests[next++]!;
          try {
            for (const { message, failure } of await this.#send(chunk)) {
              if (failure.SenderFault) note(message.batch, `${failure.Code ?? 'refused'}: ${failure.Message ?? ''}`);
              else retry.push(message);
            }
          } catch (error) {
            if (failed.chunks.length === 0) failed.error = error;
            failed.chunks.push(chunk);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, requests.length) }, worker));
      if (failed.chunks.length > 0) {
        const unsent = [...failed.chunks.flat(), ...requests.slice(next).flat(), ...retry];
        const undelivered = new Set([...lost, ...unsent.map((m) => m.batch)]);
        throw new ObservationsNotDeliveredError(undelivered.size, batches.length, describe(failed.error), {
          cause: failed.error,
          lostBatches: undelivered,
        });
      }
      pending = retry;
    }
    for (const message of pending) note(message.batch, `still refused after ${this.#maxAttempts} attempts`);
    if (lost.size > 0) {
      const detail = [...reasons].map(([reason, count]) => `${reason} (${count})`).join('; ');
      throw new ObservationsNotDeliveredError(lost.size, batches.length, detail, { lostBatches: lost });
    }
  }

  /** Sends one request; resolves the entries SQS did not accept. */
  async #send(
    chunk: readonly OutgoingMessage[],
  ): Promise<{ message: OutgoingMessage; failure: BatchResultErrorEntry }[]> {
    const response = await this.#client.send(
      new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: chunk.map((m) => m.entry) }),
    );
    const failed = new Map((response.Failed ?? []).map((f) => [f.Id, f]));
    const accepted = new Set((response.Successful ?? []).map((s) => s.Id));
    return chunk
      .filter((m) => failed.has(m.entry.Id) || !accepted.has(m.entry.Id))
      .map((message) => ({
        message,
        failure: failed.get(message.entry.Id) ?? {
          Id: message.entry.Id,
          SenderFault: false,
          Code: 'NoResult',
          Message: 'entry missing from the response',
        },
      }));
  }

  #backoffMs(retry: number): number {
    return Math.floor(this.#random() * Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (retry - 1)));
  }
}

/** The SHA-256 (hex) of `vantage|roundId|site`: the same batch sent twice gets the same id. */
export function deduplicationId(batch: Pick<ObservationBatch, 'vantage' | 'roundId' | 'site'>): string {
  return createHash('sha256').update(`${batch.vantage}|${batch.roundId}|${batch.site}`).digest('hex');
}

/** `us-east-1` from `https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo` (or the legacy host form). */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  const host = URL.canParse(queueUrl) ? new URL(queueUrl).hostname : '';
  return /^sqs\.([a-z0-9-]+)\./.exec(host)?.[1] ?? /^([a-z]{2}(?:-[a-z]+)+-\d)\.queue\./.exec(host)?.[1];
}

/**
 * The region of the queue at `queueUrl`: `region` when given, else the one the URL names. Throws when the URL names
 * a region other than `region`: requests signed for one region never reach a queue of another.
 */
export function queueRegionOf(queueUrl: string, region?: string): string | undefined {
  const named = regionOfQueueUrl(queueUrl);
  if (region && named && named !== region)
    throw new RangeError(`queue URL ${queueUrl} names region ${named}, but the queue is expected in ${region}`);
  return region ?? named;
}

/**
 * One message per batch; a batch whose JSON exceeds the SQS limit is split across several messages of the same
 * group, each a valid batch carrying some of the observations, with the part in its dedup id. Undefined when a
 * single observation cannot fit.
 */
function toMessages(batch: ObservationBatch, index: number): OutgoingMessage[] | undefined {
  const dedup = deduplicationId(batch);
  const whole = JSON.stringify(batch);
  if (byteLength(whole) <= MAX_MESSAGE_BYTES) return [message(batch.site, index, 0, whole, dedup)];

  const envelope = byteLength(JSON.stringify({ ...batch, observations: [] }));
  const parts: ObservationBatch['observations'][] = [];
  let current: ObservationBatch['observations'] = [];
  let size = envelope;
  for (const observation of batch.observations) {
    const bytes = byteLength(JSON.stringify(observation)) + 1;
    if (envelope + bytes > MAX_MESSAGE_BYTES) return undefined;
    if (size + bytes > MAX_MESSAGE_BYTES) {
      parts.push(current);
      current = [];
      size = envelope;
    }
    current.push(observation);
    size += bytes;
  }
  parts.push(current);
  return parts.map((observations, part) =>
    message(
      batch.site,
      index,
      part,
      JSON.stringify({ ...batch, observations }),
      `${dedup}-${part + 1}of${parts.length}`,
    ),
  );
}

function message(site: string, batch: number, part: number, body: string, dedupId: string): OutgoingMessage {
  return {
    batch,
    bytes: byteLength(body),
    entry: {
      Id: `b${batch}p${part}`,
      MessageBody: body,
      MessageGroupId: site,
      MessageDeduplicationId: dedupId,
    },
  };
}

/** Requests of at most ten entries and at most MAX_MESSAGE_BYTES in all, in order. */
function chunks(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const out: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const m of messages) {
    if (current.length === MAX_ENTRIES_PER_REQUEST || (current.length > 0 && size + m.bytes > MAX_MESSAGE_BYTES)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += m.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
