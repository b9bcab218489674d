import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../../shared/cost/custom-metrics.ts';
import { allowAlarmsToPublish } from './observability.ts';

/** Props of {@link StandbyAlarms}. */
export interface StandbyAlarmsProps {
  /** The standby's own critical topic and its key: alarms cannot notify a topic of another region. */
  readonly alerts: { readonly critical: sns.ITopic; readonly key: kms.IKey };
  /** The standby's dead-letter queues, each named in its alarm. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The standby control region's own alarms, on its own critical topic (an alarm cannot notify another region's
 * topic, and the primary may be the region that is down): a message in one of its dead-letter queues (the decider
 * kept failing on a message, the stream gave up a batch) and actions its dispatcher gave up.
 */
export class StandbyAlarms extends Construct {
  /** Every alarm of the standby. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: StandbyAlarmsProps) {
    super(scope, id);
    allowAlarmsToPublish(props.alerts);
    const whenAny = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const alarms = Object.entries(props.deadLetterQueues).map(
      ([name, queue]) =>
        new cloudwatch.Alarm(this, `${name}Alarm`, {
          ...whenAny,
          alarmDescription: `Messages were dead-lettered in the standby control region's ${name}: look at them and redrive or drop them`,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: cloudwatch.Stats.MAXIMUM,
          }),
        }),
    );
    alarms.push(
      new cloudwatch.Alarm(this, 'DispatcherFailuresAlarm', {
        ...whenAny,
        alarmDescription:
          "The standby control region's dispatcher gave up actions: DNS changes or alerts did not happen (see the action-failed transitions)",
        metric: new cloudwatch.Metric({
          namespace: METRIC_NAMESPACE,
          metricName: 'ActionsFailed',
          dimensionsMap: { service: 'failover-dispatch' },
          statistic: cloudwatch.Stats.SUM,
          period: FIVE_MINUTES,
        }),
      }),
    );
    const notify = new cwActions.SnsAction(props.alerts.critical);
    for (const alarm of alarms) alarm.addAlarmAction(notify);
    this.alarms = alarms;
  }
}
