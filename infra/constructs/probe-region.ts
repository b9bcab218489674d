import { Aws, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LINK_HEALTH_NAMESPACE } from '../../shared/config/data-plane.ts';
import { visibilityTimeoutFor } from './decider.ts';
import { deadLetterQueue } from './failed-invocations.ts';
import { FailoverFunction } from './failover-function.ts';
import { InvokeExactFunction } from './invoke-exact-function.ts';
import { OBSERVATIONS_QUEUE_NAME } from './observations-queue.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** The Scheduler's input: the context attribute is replaced by the time the invocation was scheduled for. */
export const PROBE_SCHEDULE_INPUT = { scheduledTime: scheduler.ContextAttribute.scheduledTime };

/**
 * Fixed physical names in every probe region, so that the control region's dashboard can show them (a
 * CloudFormation reference cannot cross regions).
 */
export const PROBE_NAMES = {
  function: 'failover-probe',
  roundQueue: 'failover-rounds',
  deadLetterQueue: 'failover-probe-dlq',
} as const;

/** The probe function's Powertools service name: the `service` dimension of its EMF metrics. */
export const PROBE_SERVICE_NAME = 'failover-probe';

/** Prefix of the probe regions' alarm names; the control region forwards alarms with it to the critical topic. */
export const PROBE_ALARM_PREFIX = 'failover-probe-';

/** Props of a {@link ProbeRegion}. */
export interface ProbeRegionProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** The region of the control stack, which owns the observations queue and the critical alert topic. */
  readonly controlRegion: string;
  /**
   * The standby control region: each round goes to its observations queue too (STANDBY_OBSERVATIONS_QUEUE_URL).
   * @default - none
   */
  readonly standbyRegion?: string;
  /** Wall time one round may take (config `probing.roundBudgetMs`, resolved). */
  readonly roundBudgetMs: number;
  /** The region's own alert topic: every alarm of the region has it as its action (RegionAlerts). */
  readonly alertTopic: sns.ITopic;
  /** Whether the function puts link health to CloudWatch (some record is health-check-gated). */
  readonly publishesLinkHealth: boolean;
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
   * Time after the round budget before the function is stopped.
   * @default Duration.seconds(30)
   */
  readonly timeoutMargin?: Duration;
  /**
   * X-Ray tracing of the probe function. Off by default: the function runs twice a minute per region, Lambda traces
   * every such invocation, and the traces would cost more than the function's compute; the round log line has the
   * timings.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
}

/**
 * One probe region, without idle waiting: an EventBridge Scheduler schedule ticks the function every minute (no
 * retry: a late tick is worthless); the tick queues one ticket per round of the next minute on the region's round
 * queue, each delayed (DelaySeconds) until its round is due; the queue delivers each ticket to the same function,
 * which runs that round, sends its observations to the control region's FIFO queue and puts its link health to
 * CloudWatch here (data plane). Nothing is retried, and every failure lands in the region's one dead-letter queue:
 * a tick the Scheduler could not deliver, a tick that failed (the function's asynchronous DLQ), a round ticket that
 * failed or was throttled (one receive). One alarm on that queue covers the function's errors and dead-lettered
 * messages, others the rounds whose observations or health were not handed on. Each alarm alerts on the region's
 * own topic and is also forwarded to the control region's default event bus (to its critical alert topic).
 */
export class ProbeRegion extends Construct {
  /** The probe function: ticks and rounds. */
  public readonly function: FailoverFunction;
  /** The every-minute schedule that ticks it. */
  public readonly schedule: scheduler.Schedule;
  /**
   * Every tick or round that did not run: ticks the Scheduler could not deliver, ticks that failed, tickets whose
   * round failed (received once, never retried).
   */
  public readonly deadLetterQueue: sqs.Queue;
  /** One delayed ticket per round, consumed by the function. */
  public readonly roundQueue: sqs.Queue;
  /** The event source mapping of the function on the round queue. */
  public readonly eventSource: SqsEventSource;
  /**
   * The region's alarms: a message in the dead-letter queue (a failed tick or round), rounds whose observations did
   * not reach the control queue (FailedPublishes), checks a round skipped (SkippedChecks), rounds dropped late
   * (StaleRounds), and, with data-plane links, rounds whose link health was not put to CloudWatch
   * (FailedHealthPublishes).
   */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** ARN of the observations queue in the control region. */
  public readonly observationsQueueArn: string;
  /** URL of the observations queue in the control region. */
  public readonly observationsQueueUrl: string;
  /** ARN and URL of the standby control region's observations queue, when there is one. */
  public readonly standbyObservationsQueue: { readonly arn: string; readonly url: string } | undefined;

  constructor(scope: Construct, id: string, props: ProbeRegionProps) {
    super(scope, id);
    const queueName = props.observationsQueueName ?? OBSERVATIONS_QUEUE_NAME;
    // The queue lives in another stack and region: CloudFormation cannot reference it, so its ARN and URL are
    // spelled out from the control region, this account and the queue's fixed name.
    const arnIn = (region: string) => `arn:${Aws.PARTITION}:sqs:${region}:${Aws.ACCOUNT_ID}:${queueName}`;
    const urlIn = (region: string) => `https://sqs.${region}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/${queueName}`;
    this.observationsQueueArn = arnIn(props.controlRegion);
    this.observationsQueueUrl = urlIn(props.controlRegion);
    this.standbyObservationsQueue = props.standbyRegion
      ? { arn: arnIn(props.standbyRegion), url: urlIn(props.standbyRegion) }
      : undefined;

    const margin = props.timeoutMargin ?? Duration.seconds(30);
    const timeout = Duration.seconds(Math.min(900, Math.ceil(props.roundBudgetMs / 1000) + margin.toSeconds()));
    this.deadLetterQueue = deadLetterQueue(
      this,
      'DeadLetterQueue',
      'of the round queue, the Scheduler target and the function',
      { queueName: PROBE_NAMES.deadLetterQueue },
    );
    this.roundQueue = new sqs.Queue(this, 'RoundQueue', {
      queueName: PROBE_NAMES.roundQueue,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeoutFor(timeout),
      // A ticket waits two minutes at most; an hour outlives any hiccup of the event source.
      retentionPeriod: Duration.hours(1),
      // One receive: a round that failed would be late by its retry; it is parked and alarmed on instead.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 1 },
    });

    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.probe,
      functionName: PROBE_NAMES.function,
      description: 'Queues a delayed ticket per round of the next minute, and runs each round when its ticket arrives',
      serviceName: PROBE_SERVICE_NAME,
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 512,
      timeout,
      tracing: props.tracing ?? lambda.Tracing.DISABLED,
      // A tick that fails, or waits over a minute, is not retried but recorded here (the alarm's one signal).
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        OBSERVATIONS_QUEUE_URL: this.observationsQueueUrl,
        ROUNDS_QUEUE_URL: this.roundQueue.queueUrl,
        ...(this.standbyObservationsQueue ? { STANDBY_OBSERVATIONS_QUEUE_URL: this.standbyObservationsQueue.url } : {}),
      },
    });
    // Exactly SendMessage on the two queues (grantSendMessages would add GetQueueAttributes and GetQueueUrl).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [
          this.observationsQueueArn,
          ...(this.standbyObservationsQueue ? [this.standbyObservationsQueue.arn] : []),
          this.roundQueue.queueArn,
        ],
      }),
    );
    this.eventSource = new SqsEventSource(this.roundQueue, { batchSize: 1, reportBatchItemFailures: true });
    this.function.addEventSource(this.eventSource);

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Queues the probe rounds of the next minute in this region',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeExactFunction(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject(PROBE_SCHEDULE_INPUT),
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });

    if (props.publishesLinkHealth) grantLinkHealthMetric(this, this.function);
    this.alarms = this.#alarms(props.publishesLinkHealth);
    const action = new cloudwatchActions.SnsAction(props.alertTopic);
    for (const alarm of this.alarms) alarm.addAlarmAction(action);
    const region = Stack.of(this).region;
    // Alarm actions cannot cross regions; alarm state changes can, through EventBridge. In the control region
    // itself they are on its default bus already.
    if (Token.isUnresolved(region) || region !== props.controlRegion) {
      const controlBus = events.EventBus.fromEventBusArn(
        this,
        'ControlBus',
        `arn:${Aws.PARTITION}:events:${props.controlRegion}:${Aws.ACCOUNT_ID}:event-bus/default`,
      );
      new events.Rule(this, 'ForwardAlarms', {
        description: 'Forwards the probe alarms of this region to the control region',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: this.alarms.map((a) => a.alarmArn),
        },
        targets: [new eventTargets.EventBus(controlBus)],
      });
    }
  }

  #alarms(linkHealth: boolean): cloudwatch.Alarm[] {
    const region = Stack.of(this).region;
    const probeMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'Failover',
        metricName,
        dimensionsMap: { service: PROBE_SERVICE_NAME },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      });
    const atLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    return [
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmName: `${PROBE_ALARM_PREFIX}${region}-dlq`,
        alarmDescription:
          `The probe function failed in ${region}, or a tick was not delivered: a tick or round in ` +
          `${PROBE_NAMES.deadLetterQueue} (the function threw, timed out, was throttled or could not start)`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        ...atLeastOnce,
      }),
      new cloudwatch.Alarm(this, 'FailedPublishesAlarm', {
        alarmName: `${PROBE_ALARM_PREFIX}${region}-failed-publishes`,
        alarmDescription:
          `Observations of ${region} did not reach the control region's queue (FailedPublishes): the decider ` +
          'sees this region as stale. If every probe region raises this, suspect the control region.',
        metric: probeMetric('FailedPublishes'),
        ...atLeastOnce,
      }),
      new cloudwatch.Alarm(this, 'SkippedChecksAlarm', {
        alarmName: `${PROBE_ALARM_PREFIX}${region}-skipped-checks`,
        alarmDescription:
          `Rounds of ${region} skipped checks (SkippedChecks): the round budget could not fit them, and this region ` +
          'abstains on their paths until they run again. Suspect an overloaded probe function or too many checks ' +
          'per ticket (probing.maxChecksPerTicket).',
        metric: probeMetric('SkippedChecks'),
        ...atLeastOnce,
      }),
      new cloudwatch.Alarm(this, 'StaleRoundsAlarm', {
        alarmName: `${PROBE_ALARM_PREFIX}${region}-stale-rounds`,
        alarmDescription:
          `Rounds of ${region} started too late and were dropped unrun (StaleRounds): throttled or backed-up ` +
          'invocations, or late ticks. Sites whose rounds keep being dropped go stale in this region.',
        metric: probeMetric('StaleRounds'),
        ...atLeastOnce,
      }),
      ...(linkHealth
        ? [
            new cloudwatch.Alarm(this, 'FailedHealthPublishesAlarm', {
              alarmName: `${PROBE_ALARM_PREFIX}${region}-failed-health-publishes`,
              alarmDescription:
                `Link health of ${region} was not put to CloudWatch (FailedHealthPublishes): Route 53 counts this ` +
                'region as healthy for every data-plane link (missing data abstains) until it is back.',
              metric: probeMetric('FailedHealthPublishes'),
              ...atLeastOnce,
            }),
          ]
        : []),
    ];
  }
}

/**
 * Lets the probe function put the LinkHealth metric, in the Failover namespace only, in a policy of its own:
 * PutMetricData has no resource-level permissions, so its `Resource: *` carries its own cdk-nag acknowledgement.
 */
function grantLinkHealthMetric(scope: Construct, fn: lambda.IFunction): iam.Policy {
  const policy = new iam.Policy(scope, 'PutLinkHealthPolicy', {
    roles: fn.role ? [fn.role] : [],
    statements: [
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': LINK_HEALTH_NAMESPACE } },
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: `cloudwatch:PutMetricData accepts no resource but *; the cloudwatch:namespace condition limits it to the ${LINK_HEALTH_NAMESPACE} namespace of the LinkHealth metric.`,
  });
  fn.node.addDependency(policy);
  return policy;
}
