import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import {
  METRIC_NAMESPACE,
  OUTCOME_STATISTIC,
  REGION_DIMENSION,
  REGIONS_REPORTING_METRIC,
} from '../../shared/cost/custom-metrics.ts';
import { PROBE_ALARM_PREFIX, PROBE_NAMES } from './probe-region.ts';

/** What the construct watches in the control stack (the ControlStack fits it). */
export interface ObservedControlPlane {
  readonly decider: { readonly function: lambda.IFunction };
  readonly dispatcher: { readonly function: lambda.IFunction };
  readonly reconciler: { readonly function: lambda.IFunction };
  /** The record-swap records' writer, when there is one: its queue's oldest message is alarmed. */
  readonly dnsWriter?: { readonly queue: sqs.IQueue; readonly maxChangeAge: Duration } | undefined;
  /** Alarms notify the critical topic, encrypted with `key`. */
  readonly alerts: { readonly critical: sns.ITopic; readonly key: kms.IKey };
}

/** Props of {@link Observability}. */
export interface ObservabilityProps {
  /** The control plane to watch; its stack's dead-letter queues are found by their construct id. */
  readonly control: ObservedControlPlane;
  /** The configuration: its probe regions and their intervals. */
  readonly config: FailoverConfig;
  /**
   * Name of the CloudWatch dashboard.
   * @default 'Failover'
   */
  readonly dashboardName?: string;
}

/** The period of the silent-region alarm: three of the shortest intervals, five minutes at least. */
export function heartbeatPeriodOf(config: FailoverConfig): Duration {
  const intervals = config.sites.map((s) => s.policy.intervalSeconds);
  const shortest = intervals.length > 0 ? Math.min(...intervals) : 60;
  return Duration.minutes(Math.max(5, Math.ceil((3 * shortest) / 60)));
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The system's own health, in the control region, with one metric per alarm (CloudWatch bills alarms per metric):
 * alarms on every dead-letter queue of the control stack (found by construct ids ending in `DeadLetterQueue`), on
 * actions the dispatcher gave up, and on a probe region that stopped reporting (the Minimum of the decider's
 * `RegionsReporting` under the region count, or no decision at all, for a heartbeat period), all notifying the
 * critical alert topic; an EventBridge rule that sends the probe regions' own alarms (forwarded by each ProbeRegion)
 * to the same topic; and a dashboard, with cross-region widgets for what lives in the probe regions.
 */
export class Observability extends Construct {
  /** Per dead-letter queue of the control stack. */
  public readonly deadLetterAlarms: ReadonlyMap<sqs.IQueue, cloudwatch.Alarm>;
  /**
   * Actions the dispatcher gave up. Its failed sites and failed invocations are retried by the stream, and end in a
   * dead-letter queue (alarmed) when the retries do not help.
   */
  public readonly dispatcherAlarm: cloudwatch.Alarm;
  /** Some probe region's observations stopped reaching the decider, or no decision was made, for a heartbeat period. */
  public readonly regionsAlarm: cloudwatch.Alarm;
  /** The decider dropped messages it could not read (a probe stack on another configuration, or a bug). */
  public readonly invalidMessagesAlarm: cloudwatch.Alarm;
  /** The reconciler's own trouble: keeps failing, leaves sites unchecked, or finds records drifting again and again. */
  public readonly reconcilerAlarms: {
    readonly errors: cloudwatch.Alarm;
    readonly sitesNotReconciled: cloudwatch.Alarm;
    readonly recordsDrifted: cloudwatch.Alarm;
  };
  /** A wanted DNS state has waited longer than the writer's `maxChangeAge` (throttled, Route 53 impaired, the writer failing). */
  public readonly dnsWriterAlarm: cloudwatch.Alarm | undefined;
  /** Sends the probe regions' alarms (state ALARM) to the critical topic. */
  public readonly probeAlarmRule: events.Rule;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { control, config } = props;
    const critical = control.alerts.critical;
    allowAlarmsToPublish(control.alerts);
    const notify = new cwActions.SnsAction(critical);

    const deadLetterQueues = Stack.of(this)
      .node.findAll()
      .filter((c): c is sqs.Queue => c instanceof sqs.Queue && c.node.id.endsWith('DeadLetterQueue'));
    const dlqAlarms = new Map<sqs.IQueue, cloudwatch.Alarm>();
    for (const queue of deadLetterQueues) {
      const owner = queue.node.scope?.node.id ?? '';
      const alarm = deadLetterAlarm(this, `${owner}${queue.node.id}Alarm`, `${owner}/${queue.node.id}`, queue);
      alarm.addAlarmAction(notify);
      dlqAlarms.set(queue, alarm);
    }
    this.deadLetterAlarms = dlqAlarms;

    this.dispatcherAlarm = dispatcherFailuresAlarm(
      this,
      'The dispatcher gave up actions: DNS changes, alerts or agent commands did not happen (see the action-failed transitions)',
    );
    this.dnsWriterAlarm = control.dnsWriter ? dnsWriterAgeAlarm(this, control.dnsWriter, 'the') : undefined;
    this.regionsAlarm = probeRegionsSilentAlarm(this, config, 'the decider');
    this.invalidMessagesAlarm = invalidMessagesAlarm(this, 'The decider');
    this.reconcilerAlarms = reconcilerAlarms(this, control.reconciler.function, 'The DNS reconciler');
    for (const alarm of [
      this.dispatcherAlarm,
      this.dnsWriterAlarm,
      this.regionsAlarm,
      this.invalidMessagesAlarm,
      ...Object.values(this.reconcilerAlarms),
    ])
      alarm?.addAlarmAction(notify);

    this.probeAlarmRule = this.#forwardProbeAlarms(critical);
    this.dashboard = this.#dashboard(props.dashboardName ?? 'Failover', config, control, deadLetterQueues);
  }

  #forwardProbeAlarms(critical: sns.ITopic): events.Rule {
    // A role of its own (not the topic policy): only this rule may publish, not any EventBridge rule anywhere.
    const role = new iam.Role(this, 'ProbeAlarmsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Publishes the probe regions alarms to the critical alert topic',
    });
    critical.grantPublish(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'SNS documents kms:GenerateDataKey* (with kms:Decrypt) for publishers to a KMS-encrypted topic; it spans only the GenerateDataKey variants, on the alert topics key alone.',
    });
    const field = (path: string) => events.EventField.fromPath(path);
    return new events.Rule(this, 'ProbeAlarmsRule', {
      description: "Sends the probe regions' alarms to the critical alert topic",
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: PROBE_ALARM_PREFIX }], state: { value: ['ALARM'] } },
      },
      targets: [
        new eventTargets.SnsTopic(critical, {
          authorizeUsingRole: true,
          role,
          message: events.RuleTargetInput.fromText(
            `[FAILOVER SYSTEM] ${field('$.detail.alarmName')} in ${field('$.region')}: ${field('$.detail.state.reason')}`,
          ),
        }),
      ],
    });
  }

  /** A decider metric of one probe region; labelled for graphs. */
  #probeMetric(metricName: string, region: string, statistic: string, period: Duration, label?: string) {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'failover-decide', [REGION_DIMENSION]: region },
      statistic,
      period,
      ...(label ? { label } : {}),
    });
  }

  #dashboard(
    name: string,
    config: FailoverConfig,
    control: ObservedControlPlane,
    deadLetterQueues: readonly sqs.Queue[],
  ): cloudwatch.Dashboard {
    const regions = config.regions.probe;
    const minute = Duration.minutes(1);
    const perRegion = (metricName: string, statistic: string) =>
      regions.map((r) => this.#probeMetric(metricName, r, statistic, minute, r));
    const failover = (service: string, metricName: string, statistic: string, label?: string) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { service },
        statistic,
        period: minute,
        ...(label ? { label } : {}),
      });
    // Metrics of the probe regions, read cross-region by their fixed names.
    const inRegions = (namespace: string, metricName: string, dimension: Record<string, string>, statistic: string) =>
      regions.map(
        (region) =>
          new cloudwatch.Metric({
            namespace,
            metricName,
            dimensionsMap: dimension,
            statistic,
            period: FIVE_MINUTES,
            region,
            label: region,
          }),
      );
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 6, height: 6 });
    const probeFn = { FunctionName: PROBE_NAMES.function };

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: name,
      defaultInterval: Duration.hours(6),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '## Failover: the system itself\nProbe outcomes and latency as the decider receives them (per probe region), decisions and actions in the control region; the probe functions and their queues in their own regions.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Observations received per region (heartbeat)', perRegion('ProbeOutcome', cloudwatch.Stats.SAMPLE_COUNT), [
        regionsReportingMetric(cloudwatch.Stats.MINIMUM, minute, 'regions reporting (min)'),
      ]),
      graph('Checks down per region', perRegion('ProbeOutcome', OUTCOME_STATISTIC.down)),
      graph('Checks degraded per region', perRegion('ProbeOutcome', OUTCOME_STATISTIC.degraded)),
      graph('Probe latency, all regions (ms)', [
        failover('failover-decide', 'ProbeLatency', cloudwatch.Stats.p(50), 'p50'),
        failover('failover-decide', 'ProbeLatency', cloudwatch.Stats.p(90), 'p90'),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Decisions',
        [failover('failover-decide', 'DecisionLatency', cloudwatch.Stats.SAMPLE_COUNT, 'decisions')],
        [failover('failover-decide', 'DecisionLatency', cloudwatch.Stats.p(90), 'decision latency p90 (ms)')],
      ),
      graph('Transitions and decider failures', [
        failover('failover-decide', 'Transitions', cloudwatch.Stats.SUM),
        failover('failover-decide', 'FailedSites', cloudwatch.Stats.SUM),
        failover('failover-decide', 'InvalidMessages', cloudwatch.Stats.SUM),
      ]),
      graph('Action latency (ms)', [
        failover('failover-dispatch', 'ActionLatency', cloudwatch.Stats.p(50), 'p50'),
        failover('failover-dispatch', 'ActionLatency', cloudwatch.Stats.p(90), 'p90'),
        failover('failover-dispatch', 'ActionLatency', cloudwatch.Stats.MAXIMUM, 'max'),
      ]),
      graph('Actions', [
        failover('failover-dispatch', 'ActionsApplied', cloudwatch.Stats.SUM),
        failover('failover-dispatch', 'ActionsFailed', cloudwatch.Stats.SUM),
        failover('failover-dispatch', 'FailedSites', cloudwatch.Stats.SUM, 'dispatch FailedSites'),
        control.dispatcher.function.metricErrors({ period: minute, label: 'dispatch errors' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Probe function errors per region', inRegions('AWS/Lambda', 'Errors', probeFn, cloudwatch.Stats.SUM)),
      graph(
        'Probe invocations per region (ticks + rounds)',
        inRegions('AWS/Lambda', 'Invocations', probeFn, cloudwatch.Stats.SUM),
      ),
      graph('Probe duration p90 per region (ms)', inRegions('AWS/Lambda', 'Duration', probeFn, cloudwatch.Stats.p(90))),
      graph(
        'Probe dead-letter queue per region (failed ticks and rounds)',
        inRegions(
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          { QueueName: PROBE_NAMES.deadLetterQueue },
          cloudwatch.Stats.MAXIMUM,
        ),
      ),
    );
    dashboard.addWidgets(
      graph(
        'Control dead-letter queues',
        deadLetterQueues.map((q) =>
          q.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: cloudwatch.Stats.MAXIMUM,
            label: `${q.node.scope?.node.id ?? ''}/${q.node.id}`,
          }),
        ),
      ),
      graph('Control function errors', [
        control.decider.function.metricErrors({ period: minute, label: 'decide' }),
        control.reconciler.function.metricErrors({ period: minute, label: 'reconcile' }),
      ]),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms (control region)',
        alarms: [...this.deadLetterAlarms.values(), this.dispatcherAlarm, this.regionsAlarm],
        width: 12,
        height: 6,
      }),
    );
    return dashboard;
  }
}

const WHEN_ANY = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
};

/** A count the failover functions publish (EMF), summed over five minutes. */
function counted(service: string, metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: cloudwatch.Stats.SUM,
    period: FIVE_MINUTES,
  });
}

/**
 * An alarm when the metric is 1 or more in one period or, with `periods`, in that many periods in a row; no data is
 * fine.
 */
function whenAny(
  scope: Construct,
  id: string,
  alarmDescription: string,
  metric: cloudwatch.IMetric,
  periods?: number,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    ...WHEN_ANY,
    ...(periods !== undefined ? { evaluationPeriods: periods, datapointsToAlarm: periods } : {}),
    alarmDescription,
    metric,
  });
}

/*
 * The alarms below are made by both control regions' stacks (Observability in the primary, StandbyAlarms in the
 * standby), on the same metrics of their own region; the caller adds its region's critical topic as the action.
 */

/** A message in a dead-letter queue (`name` says which, in the description). */
export function deadLetterAlarm(scope: Construct, id: string, name: string, queue: sqs.IQueue): cloudwatch.Alarm {
  return whenAny(
    scope,
    id,
    `Messages were dead-lettered in ${name}: look at them and redrive or drop them`,
    queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
  );
}

/** Actions the region's dispatcher gave up (`ActionsFailed`). */
export function dispatcherFailuresAlarm(scope: Construct, alarmDescription: string): cloudwatch.Alarm {
  return whenAny(scope, 'DispatcherFailuresAlarm', alarmDescription, counted('failover-dispatch', 'ActionsFailed'));
}

/** The decider dropped observation messages it could not read (`InvalidMessages`); `who` starts the description. */
export function invalidMessagesAlarm(scope: Construct, who: string): cloudwatch.Alarm {
  return whenAny(
    scope,
    'InvalidMessagesAlarm',
    `${who} dropped observation messages it could not read: a probe stack deployed with another configuration, or a bug (its log names each one)`,
    counted('failover-decide', 'InvalidMessages'),
    1,
  );
}

/** A wanted DNS state waiting in the writer's queue longer than its `maxChangeAge`; `whose` names the writer. */
export function dnsWriterAgeAlarm(
  scope: Construct,
  writer: NonNullable<ObservedControlPlane['dnsWriter']>,
  whose: string,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'DnsWriterAgeAlarm', {
    alarmDescription: `A wanted DNS state has waited more than ${writer.maxChangeAge.toMinutes()} minutes in ${whose} DNS writer's queue to be written to Route 53 (throttled, Route 53's control plane impaired, or the writer failing: see its logs); it is still being retried`,
    metric: writer.queue.metricApproximateAgeOfOldestMessage({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    threshold: writer.maxChangeAge.toSeconds(),
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/**
 * Some probe region's observations stopped reaching `decider` (the Minimum of its `RegionsReporting` under the
 * region count), or nothing was decided (no data is breaching), for a heartbeat period.
 */
export function probeRegionsSilentAlarm(scope: Construct, config: FailoverConfig, decider: string): cloudwatch.Alarm {
  const heartbeat = heartbeatPeriodOf(config);
  return new cloudwatch.Alarm(scope, 'ProbeRegionsSilentAlarm', {
    alarmDescription:
      `A probe region's observations stopped reaching ${decider}, or nothing was decided, for ${heartbeat.toMinutes()} ` +
      'minutes: the dashboard shows the observations received per region',
    metric: regionsReportingMetric(cloudwatch.Stats.MINIMUM, heartbeat),
    threshold: config.regions.probe.length,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
}

/**
 * The reconciler's own trouble; it sweeps every five minutes and one bad sweep is retried by the next, so these
 * wait for a second (errors, drift) or a third (sites not checked). `who` starts the descriptions.
 */
export function reconcilerAlarms(scope: Construct, reconciler: lambda.IFunction, who: string) {
  return {
    errors: whenAny(
      scope,
      'ReconcilerErrorsAlarm',
      `${who} failed two sweeps in a row: record-swap records are not being compared with the state (see its log)`,
      reconciler.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      2,
    ),
    sitesNotReconciled: whenAny(
      scope,
      'SitesNotReconciledAlarm',
      `${who} could not check some sites three sweeps in a row (Route 53 or the table refused it; see its log)`,
      counted('failover-reconcile', 'SitesNotReconciled'),
      3,
    ),
    recordsDrifted: whenAny(
      scope,
      'RecordsDriftedAlarm',
      'Record-swap records drifted in two sweeps in a row: something besides failover keeps changing them (see the dns-drift transitions)',
      counted('failover-reconcile', 'RecordsDrifted'),
      2,
    ),
  };
}

/** The decider's count of regions reporting on the sites it decided; no label (it would turn an alarm's into math). */
function regionsReportingMetric(statistic: string, period: Duration, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: REGIONS_REPORTING_METRIC,
    dimensionsMap: { service: 'failover-decide' },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/**
 * Alarm actions publish as the CloudWatch service: the topic policy (which enforceSSL made explicit) and the key
 * policy must let it, for this account's alarms only.
 */
export function allowAlarmsToPublish(alerts: ObservedControlPlane['alerts']): void {
  const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  alerts.critical.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowAlarmsOfThisAccount',
      principals: [cloudwatchService],
      actions: ['sns:Publish'],
      resources: [alerts.critical.topicArn],
      conditions: {
        ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      },
    }),
  );
  alerts.key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowAlarmsToPublishToEncryptedTopics',
      principals: [cloudwatchService],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
}
