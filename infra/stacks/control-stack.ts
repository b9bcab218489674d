import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { AlertTopics, alertContactsOf } from '../constructs/alert-topics.ts';
import { Decider, DECIDER_TIMEOUT, visibilityTimeoutFor } from '../constructs/decider.ts';
import { Dispatcher } from '../constructs/dispatcher.ts';
import { DnsFailover, hasGatedRecords, hostedZoneIdsOf } from '../constructs/dns-failover.ts';
import { ObservationsQueue } from '../constructs/observations-queue.ts';
import { Reconciler } from '../constructs/reconciler.ts';
import { StateTable } from '../constructs/state-table.ts';

/** Props of the {@link ControlStack}; `env.region` is the configuration's control region. */
export interface ControlStackProps extends StackProps {
  /** The sites.yaml text, inlined into the functions. */
  readonly configYaml: string;
  /** The same configuration, validated: what the stack reads to size its resources. */
  readonly config: FailoverConfig;
}

/**
 * The control region: the observations queue, the decider that consumes it and the table it keeps state in; the
 * dispatcher the table's stream starts, the alert topics it publishes to, the Route 53 failover records of
 * health-check-gated records, and the DNS reconciler.
 */
export class ControlStack extends Stack {
  /** The queue every probe region sends its observations to. */
  public readonly observations: ObservationsQueue;
  /** Sites' state, transitions and incidents. */
  public readonly state: StateTable;
  /** The decide function and its event source on the observations queue. */
  public readonly decider: Decider;
  /** The critical and warning alert topics and their subscriptions. */
  public readonly alerts: AlertTopics;
  /** The dispatch function and its event source on the table's stream. */
  public readonly dispatcher: Dispatcher;
  /** Alarms, health checks and failover records of the health-check-gated records. */
  public readonly dnsFailover: DnsFailover;
  /** The scheduled DNS reconciliation. */
  public readonly reconciler: Reconciler;

  constructor(scope: Construct, id: string, props: ControlStackProps) {
    const { configYaml, config, ...stackProps } = props;
    super(scope, id, {
      description: 'Failover control plane: observations queue, decider, state table, dispatcher, alerts, DNS',
      ...stackProps,
    });
    const recordSwapZoneIds = hostedZoneIdsOf(config, 'record-swap');
    const publishesPrimaryActive = hasGatedRecords(config);

    this.observations = new ObservationsQueue(this, 'Observations', {
      visibilityTimeout: visibilityTimeoutFor(DECIDER_TIMEOUT),
    });
    this.state = new StateTable(this, 'State');
    this.decider = new Decider(this, 'Decider', {
      configYaml,
      table: this.state,
      queue: this.observations.queue,
      timeout: DECIDER_TIMEOUT,
    });
    this.alerts = new AlertTopics(this, 'Alerts', { contacts: alertContactsOf(config) });
    // For operators: where to look for subscriptions waiting to be confirmed (docs/deploy.md).
    new CfnOutput(this, 'CriticalTopicArn', { value: this.alerts.critical.topicArn });
    new CfnOutput(this, 'WarningTopicArn', { value: this.alerts.warning.topicArn });
    this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      configYaml,
      table: this.state,
      topics: this.alerts,
      recordSwapZoneIds,
      publishesPrimaryActive,
    });
    // The alarms must be where the dispatcher publishes the metric: this stack's region.
    this.dnsFailover = new DnsFailover(this, 'DnsFailover', { sites: config.sites });
    this.reconciler = new Reconciler(this, 'Reconciler', {
      configYaml,
      table: this.state,
      recordSwapZoneIds,
      publishesPrimaryActive,
    });
  }
}
