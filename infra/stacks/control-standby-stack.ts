import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { AlertTopics, alertContactsOf } from '../constructs/alert-topics.ts';
import { Decider, DECIDER_TIMEOUT, visibilityTimeoutFor } from '../constructs/decider.ts';
import { Dispatcher } from '../constructs/dispatcher.ts';
import { DnsWriter } from '../constructs/dns-writer.ts';
import { hostedZoneIdsOf } from '../constructs/dns-failover.ts';
import { FailedInvocations } from '../constructs/failed-invocations.ts';
import { ObservationsQueue } from '../constructs/observations-queue.ts';
import { Reconciler } from '../constructs/reconciler.ts';
import { StandbyAlarms } from '../constructs/standby-alarms.ts';
import { StateTableReplica } from '../constructs/state-table.ts';

/** Props of the {@link ControlStandbyStack}; `env.region` is the configuration's standby control region. */
export interface ControlStandbyStackProps extends StackProps {
  /** The sites.yaml text, inlined into the functions. */
  readonly configYaml: string;
  /** The same configuration, validated. */
  readonly config: FailoverConfig;
}

/**
 * The standby control region: its own observations queue (every probe region sends each round to both), a decider
 * and a dispatcher on the global state table's replica here, and alert topics of its own, so that failover
 * decisions and alerts go on while the primary control region is down; a DNS reconciler that sweeps while the
 * primary's does not; and alarms of its own on the parts it runs (StandbyAlarms). The API, the agent channel,
 * webhook delivery and the dashboard stay in the primary (docs/architecture.md, "Control regions").
 */
export class ControlStandbyStack extends Stack {
  /** The queue every probe region also sends its observations to. */
  public readonly observations: ObservationsQueue;
  /** The replica of the state table in this region. */
  public readonly state: StateTableReplica;
  /** The decide function on this region's queue and replica. */
  public readonly decider: Decider;
  /** This region's critical and warning topics, with the same subscriptions as the primary's. */
  public readonly alerts: AlertTopics;
  /** Where Lambda describes the dispatcher's stream batches it gave up on. */
  public readonly failedInvocations: FailedInvocations;
  /** The dispatch function on this replica's stream. */
  public readonly dispatcher: Dispatcher;
  /** The writer of this region's record-swap changes, when some record is record-swap. */
  public readonly dnsWriter: DnsWriter | undefined;
  /**
   * The DNS reconciler of this region, on the replica: it sweeps only while the primary's has not saved the shared
   * cursor for STANDBY_DEFERS_MS (functions/reconcile/handler.ts).
   */
  public readonly reconciler: Reconciler;
  /** This region's own alarms, on its own critical topic. */
  public readonly alarms: StandbyAlarms;

  constructor(scope: Construct, id: string, props: ControlStandbyStackProps) {
    const { configYaml, config, ...stackProps } = props;
    super(scope, id, {
      description: 'Failover standby control region: observations queue, decider and dispatcher on the global table',
      ...stackProps,
    });
    this.observations = new ObservationsQueue(this, 'Observations', {
      visibilityTimeout: visibilityTimeoutFor(DECIDER_TIMEOUT),
    });
    this.state = new StateTableReplica(this, 'State');
    this.decider = new Decider(this, 'Decider', {
      configYaml,
      table: this.state,
      queue: this.observations.queue,
      timeout: DECIDER_TIMEOUT,
    });
    this.alerts = new AlertTopics(this, 'Alerts', { contacts: alertContactsOf(config) });
    new CfnOutput(this, 'CriticalTopicArn', { value: this.alerts.critical.topicArn });
    new CfnOutput(this, 'WarningTopicArn', { value: this.alerts.warning.topicArn });
    this.failedInvocations = new FailedInvocations(this, 'FailedInvocations');
    this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      configYaml,
      table: this.state,
      topics: this.alerts,
      deadLetterQueue: this.failedInvocations.deadLetterQueue,
    });
    // Record swap from this region too: its own writer, on the same Route 53 budget item of the global table.
    if (hostedZoneIdsOf(config, 'record-swap').length > 0) {
      this.dnsWriter = new DnsWriter(this, 'DnsWriter', { configYaml, config, table: this.state });
      this.dnsWriter.grantSend(this.dispatcher.function);
    }
    this.reconciler = new Reconciler(this, 'Reconciler', {
      configYaml,
      table: this.state,
      recordSwapZoneIds: hostedZoneIdsOf(config, 'record-swap'),
      scheduleDeadLetterQueue: this.failedInvocations.deadLetterQueue,
    });
    this.alarms = new StandbyAlarms(this, 'Alarms', {
      config,
      alerts: this.alerts,
      dnsWriter: this.dnsWriter,
      reconciler: this.reconciler,
      deadLetterQueues: {
        ObservationsDeadLetterQueue: this.observations.deadLetterQueue,
        FailedInvocationsDeadLetterQueue: this.failedInvocations.deadLetterQueue,
      },
    });
  }
}
