import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** The visibility of a message returned after its first transient failure, in seconds, before jitter. */
export const RETRY_VISIBILITY_BASE_SECONDS = 4;
/** The longest visibility a transient failure asks for, in seconds (the queue's own is 180 s). */
export const RETRY_VISIBILITY_MAX_SECONDS = 60;
const MAX_ENTRIES_PER_REQUEST = 10;

/**
 * How long a message returned after a transient failure stays invisible: 4 s after its first receive, doubling
 * with each further receive up to 60 s, and jittered down to half that at random, so that the messages of many
 * sites throttled together do not come back together.
 */
export function retryVisibilitySeconds(receiveCount: number, random: () => number = Math.random): number {
  const receives = Number.isInteger(receiveCount) && receiveCount > 1 ? receiveCount : 1;
  const ceiling = Math.min(RETRY_VISIBILITY_MAX_SECONDS, RETRY_VISIBILITY_BASE_SECONDS * 2 ** (receives - 1));
  return Math.max(1, Math.round(ceiling * (0.5 + 0.5 * random())));
}

/** What {@link returnSoon} did: the messages made visible sooner, and those SQS refused (they wait out the queue's). */
export interface ReturnSoonResult {
  readonly changed: number;
  readonly refused: readonly { readonly messageId: string; readonly reason: string }[];
}

/**
 * Shortens the visibility of `records` (received from `queueUrl`, about to be reported as batch item failures) to
 * {@link retryVisibilitySeconds}: a FIFO group waits seconds for its next try instead of the queue's whole
 * visibility timeout. Never throws: a message SQS does not change keeps the timeout it has.
 *
 * The messages of one group get one timeout: SQS holds a group back while any of its messages is in flight, so a
 * message visible before the others of its group would come back alone and hold them for the queue's whole timeout.
 */
export async function returnSoon(
  client: SQSClient,
  queueUrl: string,
  records: readonly SQSRecord[],
  random: () => number = Math.random,
): Promise<ReturnSoonResult> {
  let changed = 0;
  const refused: { messageId: string; reason: string }[] = [];
  const receives = new Map<string, number>();
  const groupOf = (record: SQSRecord) => record.attributes.MessageGroupId ?? `message:${record.messageId}`;
  for (const record of records) {
    const count = Number(record.attributes.ApproximateReceiveCount);
    receives.set(groupOf(record), Math.max(receives.get(groupOf(record)) ?? 1, Number.isFinite(count) ? count : 1));
  }
  const timeouts = new Map([...receives].map(([group, count]) => [group, retryVisibilitySeconds(count, random)]));
  for (let from = 0; from < records.length; from += MAX_ENTRIES_PER_REQUEST) {
    const chunk = records.slice(from, from + MAX_ENTRIES_PER_REQUEST);
    try {
      const out = await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((record, i) => ({
            Id: String(i),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: timeouts.get(groupOf(record)),
          })),
        }),
      );
      changed += out.Successful?.length ?? 0;
      for (const failed of out.Failed ?? [])
        refused.push({ messageId: chunk[Number(failed.Id)]?.messageId ?? '?', reason: `${failed.Code}` });
    } catch (error) {
      const reason = (error as Error).name || 'Error';
      for (const record of chunk) refused.push({ messageId: record.messageId, reason });
    }
  }
  return { changed, refused };
}
