import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import {
  allowAlarmsToPublish,
  deadLetterAlarm,
  dispatcherFailuresAlarm,
  dnsWriterAgeAlarm,
  invalidMessagesAlarm,
  probeRegionsSilentAlarm,
  reconcilerAlarms,
  type ObservedControlPlane,
} from './observability.ts';

/** Props of {@link StandbyAlarms}. */
export interface StandbyAlarmsProps {
  /** The configuration: its probe regions and intervals (the silent-region alarm). */
  readonly config: FailoverConfig;
  /** The standby's own critical topic and its key: alarms cannot notify a topic of another region. */
  readonly alerts: ObservedControlPlane['alerts'];
  /** The standby's dead-letter queues, each named in its alarm. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** The standby's DNS writer, when some record is record-swap. */
  readonly dnsWriter?: ObservedControlPlane['dnsWriter'];
  /** The standby's reconciler, when it has one. */
  readonly reconciler?: { readonly function: lambda.IFunction } | undefined;
}

/**
 * The standby control region's own alarms, on its own critical topic (an alarm cannot notify another region's
 * topic, and the primary may be the region that is down), on the same metrics as the primary's (Observability)
 * for the parts the standby runs: a message in one of its dead-letter queues, actions its dispatcher gave up, a
 * probe region's observations not reaching its decider (its queue is the one the probes may silently miss: they
 * only log that), messages its decider could not read, a wanted DNS state waiting in its writer's queue, and its
 * reconciler's trouble.
 */
export class StandbyAlarms extends Construct {
  /** Every alarm of the standby. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: StandbyAlarmsProps) {
    super(scope, id);
    allowAlarmsToPublish(props.alerts);
    const where = "the standby control region's";
    const alarms = Object.entries(props.deadLetterQueues).map(([name, queue]) =>
      deadLetterAlarm(this, `${name}Alarm`, `${where} ${name}`, queue),
    );
    alarms.push(
      dispatcherFailuresAlarm(
        this,
        "The standby control region's dispatcher gave up actions: DNS changes or alerts did not happen (see the action-failed transitions)",
      ),
      probeRegionsSilentAlarm(this, props.config, `${where} decider`),
      invalidMessagesAlarm(this, "The standby control region's decider"),
    );
    if (props.dnsWriter) alarms.push(dnsWriterAgeAlarm(this, props.dnsWriter, where));
    if (props.reconciler)
      alarms.push(
        ...Object.values(
          reconcilerAlarms(this, props.reconciler.function, "The standby control region's DNS reconciler"),
        ),
      );
    const notify = new cwActions.SnsAction(props.alerts.critical);
    for (const alarm of alarms) alarm.addAlarmAction(notify);
    this.alarms = alarms;
  }
}
