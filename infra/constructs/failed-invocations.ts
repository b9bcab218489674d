import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * A dead-letter queue as every one here is made: SQS-managed encryption, TLS only, 14 days' retention, and the
 * cdk-nag SQS3 finding (a queue without a dead-letter queue of its own) acknowledged: `of` says whose it is.
 */
export function deadLetterQueue(
  scope: Construct,
  id: string,
  of: string,
  props: Pick<sqs.QueueProps, 'queueName' | 'retentionPeriod'> = {},
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    ...props,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason: `This queue is itself a dead-letter queue (${of}), which cdk-nag cannot see.`,
  });
  return queue;
}

/** Props of {@link FailedInvocations}. */
export interface FailedInvocationsProps {
  /**
   * How long a record of a given-up invocation is kept for someone to look at.
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
}

/**
 * One standard dead-letter queue for the control stack's invocations that were given up and cannot be replayed by a
 * redrive: the descriptions of the dispatcher's stream batches (shard and sequence numbers, not the records), and
 * the reconcile and agent sweep schedules' undelivered invocations. They share it because their handling is the
 * same (read the record, fix the cause, purge) and one alarm then watches them all; a queue whose messages can be
 * redriven (the webhook tickets, the FIFO observations) keeps a dead-letter queue of its own.
 */
export class FailedInvocations extends Construct {
  /** The queue; its construct id ends in `DeadLetterQueue`, which is how Observability finds and alarms on it. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: FailedInvocationsProps = {}) {
    super(scope, id);
    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      'of the dispatcher stream and of Scheduler targets',
      {
        retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      },
    );
  }
}
