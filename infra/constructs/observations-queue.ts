import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Fixed physical name of the observations queue, so that probe stacks in other regions can address it. */
export const OBSERVATIONS_QUEUE_NAME = 'failover-observations.fifo';

/** Props of an {@link ObservationsQueue}. */
export interface ObservationsQueueProps {
  /**
   * Physical name of the queue; must end in `.fifo`.
   * @default OBSERVATIONS_QUEUE_NAME
   */
  readonly queueName?: string;
  /**
   * Receives of one message before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout; AWS asks for at least six times the timeout of a Lambda consumer (the decider's is 30 s).
   * @default Duration.seconds(180)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long an undelivered observation is kept: older ones are stale for the decider anyway.
   * @default Duration.days(1)
   */
  readonly retentionPeriod?: Duration;
}

/**
 * The FIFO queue where every vantage hands on its observation batches: one message group per site, explicit
 * deduplication ids (content-based deduplication off), SQS-managed encryption (no KMS key for senders to be granted),
 * TLS enforced, and a FIFO dead-letter queue for messages the decider keeps failing on.
 */
export class ObservationsQueue extends Construct {
  /** The queue the probe regions send to and the decider consumes. */
  public readonly queue: sqs.Queue;
  /** Messages received `maxReceiveCount` times without being deleted. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ObservationsQueueProps = {}) {
    super(scope, id);
    const queueName = props.queueName ?? OBSERVATIONS_QUEUE_NAME;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: queueName.replace(/\.fifo$/, '-dlq.fifo'),
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: the limits apply per site, and our dedup ids already name the site.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(180),
      retentionPeriod: props.retentionPeriod ?? Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
