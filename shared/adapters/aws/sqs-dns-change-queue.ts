import { createHash } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DnsChangeMessage } from '../../contracts/dns-change.ts';
import { stripDot } from '../../domain/dns-values.ts';
import type { DnsAction } from '../../domain/model.ts';
import { FailoverError, TransientError } from '../../errors.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';
import { isTransientAwsError } from './sdk-errors.ts';
import { sqsClient } from './sqs-client.ts';

/**
 * The dispatcher's side of a record-swap record: the action's wanted state goes to the DNS writer's SQS FIFO
 * queue, grouped by hosted zone (one writer per zone at a time, in order) and deduplicated by action id (a
 * redispatched action within SQS's five minutes is dropped; later, it is one more UPSERT of the same values).
 * The writer (functions/dns-writer) batches and writes them within the account's Route 53 budget.
 */
export class SqsDnsChangeQueue implements DnsRouter {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { readonly queueUrl: string; readonly client?: SQSClient }) {
    this.#queueUrl = options.queueUrl;
    this.#client = options.client ?? sqsClient();
  }

  async apply(action: DnsAction): Promise<DnsApplyResult> {
    if (action.strategy !== 'record-swap')
      throw new FailoverError('DNS_STRATEGY_UNKNOWN', `${action.name} is ${action.strategy}, not record-swap`);
    const body: DnsChangeMessage = { v: 1, ...action, strategy: 'record-swap' };
    let messageId: string | undefined;
    try {
      const out = await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: action.hostedZoneId,
          MessageDeduplicationId: createHash('sha256').update(action.id).digest('hex').slice(0, 64),
        }),
      );
      messageId = out.MessageId;
    } catch (error) {
      if (isTransientAwsError(error))
        throw new TransientError(`DNS writer queue unavailable for ${stripDot(action.name)} ${action.type}`, {
          cause: error,
        });
      throw new FailoverError('DNS_QUEUE_REFUSED', `DNS writer queue refused ${stripDot(action.name)} ${action.type}`, {
        cause: error,
      });
    }
    return {
      detail: `${stripDot(action.name)} ${action.type} -> ${action.values.join(', ')} (link ${action.link}, TTL ${action.ttl} s) queued for the writer of hosted zone ${action.hostedZoneId}, message ${messageId ?? '?'}`,
      status: 'QUEUED',
    };
  }

  /** Reads are the reconciler's (by zone pages), not the dispatcher's. */
  async read(_record: DnsRecordRef): Promise<undefined> {
    return undefined;
  }
}
