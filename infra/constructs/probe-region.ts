import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FailoverFunction } from './failover-function.ts';
import { OBSERVATIONS_QUEUE_NAME } from './observations-queue.ts';
import { InvokeExactFunction } from './invoke-exact-function.ts';

/** The Scheduler's input: the context attribute is replaced by the time the invocation was scheduled for. */
export const PROBE_SCHEDULE_INPUT = { scheduledTime: scheduler.ContextAttribute.scheduledTime };

/** Longest a window of rounds may occupy: the window itself (a minute) before the last round starts. */
const WINDOW = Duration.minutes(1);

/** Props of a {@link ProbeRegion}. */
export interface ProbeRegionProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** The region of the control stack, which owns the observations queue. */
  readonly controlRegion: string;
  /** Wall time one round may take (config `probing.roundBudgetMs`, resolved). */
  readonly roundBudgetMs: number;
  /**
   * Physical name of the observations queue in the control region.
   * @default OBSERVATIONS_QUEUE_NAME
   */
  readonly observationsQueueName?: string;
  /**
   * Memory of the probe function; CPU, and so TLS handshakes under concurrency, scale with it.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Time after the window and the round budget before the function is stopped.
   * @default Duration.seconds(30)
   */
  readonly timeoutMargin?: Duration;
}

/**
 * One probe region: a function that runs the region's rounds of each minute and sends their observations to the
 * control region's FIFO queue, invoked every minute by an EventBridge Scheduler schedule that never retries (a late
 * round is worthless) and parks failed invocations in a dead-letter queue.
 */
export class ProbeRegion extends Construct {
  /** The probe function. */
  public readonly function: FailoverFunction;
  /** The every-minute schedule that invokes it. */
  public readonly schedule: scheduler.Schedule;
  /** Invocations the Scheduler could not deliver to the function. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  /** ARN of the observations queue in the control region. */
  public readonly observationsQueueArn: string;
  /** URL of the observations queue in the control region. */
  public readonly observationsQueueUrl: string;

  constructor(scope: Construct, id: string, props: ProbeRegionProps) {
    super(scope, id);
    const queueName = props.observationsQueueName ?? OBSERVATIONS_QUEUE_NAME;
    // The queue lives in another stack and region: CloudFormation cannot reference it, so its ARN and URL are
    // spelled out from the control region, this account and the queue's fixed name.
    this.observationsQueueArn = `arn:${Aws.PARTITION}:sqs:${props.controlRegion}:${Aws.ACCOUNT_ID}:${queueName}`;
    this.observationsQueueUrl = `https://sqs.${props.controlRegion}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/${queueName}`;

    const margin = props.timeoutMargin ?? Duration.seconds(30);
    const timeoutSeconds = WINDOW.toSeconds() + Math.ceil(props.roundBudgetMs / 1000) + margin.toSeconds();
    this.function = new FailoverFunction(this, 'Function', {
      entry: 'functions/probe/handler.ts',
      description:
        'Runs the probe rounds of one minute in this region and sends the observations to the control region',
      serviceName: 'failover-probe',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 512,
      timeout: Duration.seconds(Math.min(900, timeoutSeconds)),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      environment: { OBSERVATIONS_QUEUE_URL: this.observationsQueueUrl },
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.observationsQueueArn] }),
    );

    this.scheduleDeadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.scheduleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue (of the Scheduler target), which cdk-nag cannot see.',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Starts the probe rounds of this region every minute',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeExactFunction(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject(PROBE_SCHEDULE_INPUT),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
  }
}
