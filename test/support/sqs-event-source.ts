import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** The queue a record came from, as the event source names it. */
export interface QueueOfRecord {
  readonly region: string;
  /** `arn:aws:sqs:<region>:<account>:<name>` */
  readonly arn: string;
}

/** What Lambda's SQS event source gives the function for a message it received (system attributes: `All`). */
export function sqsRecordOf(message: Message, queue: QueueOfRecord): SQSRecord {
  const a = message.Attributes ?? {};
  const fifo = a.MessageGroupId !== undefined;
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount!,
      SentTimestamp: a.SentTimestamp!,
      SenderId: a.SenderId!,
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp!,
      ...(fifo
        ? {
            MessageGroupId: a.MessageGroupId,
            MessageDeduplicationId: a.MessageDeduplicationId,
            SequenceNumber: a.SequenceNumber,
          }
        : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, v]) => [
        name,
        {
          dataType: v.DataType!,
          ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
          ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: queue.region,
  };
}

/** A function as the event source invokes it. */
export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** What one poll did: the records it handed to the function and the function's answer. */
export interface Polled {
  readonly records: readonly SQSRecord[];
  readonly response: SQSBatchResponse;
}

/**
 * A queue read as Lambda's SQS event source reads it, one poll at a time: receive up to `batchSize` visible messages
 * (SQS holds back a FIFO group while any of its messages is in flight, and a delayed message until its delay is
 * over), invoke the function with them, delete those it did not report as failed (ReportBatchItemFailures).
 * `redeliver` can lose the delete of a batch (the event source dies before deleting): its messages are made
 * visible again at once, so that SQS delivers them again, same message id, receive count one higher.
 */
export class SqsEventSource {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #queue: QueueOfRecord;
  readonly #batchSize: number;

  constructor(options: {
    readonly client: SQSClient;
    readonly queueUrl: string;
    readonly region: string;
    readonly account: string;
    /** @default 10 */
    readonly batchSize?: number;
  }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    const name = new URL(options.queueUrl).pathname.split('/').at(-1)!;
    this.#queue = { region: options.region, arn: `arn:aws:sqs:${options.region}:${options.account}:${name}` };
    this.#batchSize = options.batchSize ?? 10;
  }

  /** One receive and, when it got messages, one invocation; undefined when no message was visible. */
  async poll(
    handler: SqsHandler,
    options: { readonly redeliver?: (polled: Polled) => boolean | Promise<boolean> } = {},
  ): Promise<Polled | undefined> {
    const { Messages = [] } = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: this.#batchSize,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return undefined;
    const records = Messages.map((m) => sqsRecordOf(m, this.#queue));
    const response = await handler({ Records: records });
    const polled = { records, response };
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = records.filter((r) => !failed.has(r.messageId));
    if (await options.redeliver?.(polled)) {
      await this.#batched(records, (Entries) =>
        this.#client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: Entries.map((e) => ({ ...e, VisibilityTimeout: 0 })),
          }),
        ),
      );
    } else {
      await this.#batched(done, (Entries) =>
        this.#client.send(new DeleteMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries })),
      );
    }
    return polled;
  }

  async #batched(
    records: readonly SQSRecord[],
    send: (entries: { Id: string; ReceiptHandle: string }[]) => Promise<unknown>,
  ): Promise<void> {
    for (let i = 0; i < records.length; i += 10)
      await send(records.slice(i, i + 10).map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })));
  }
}

/** The messages a queue holds, visible or in flight (SQS's approximate counts, exact on moto). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
