import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { AgentGateway, agentChannelThrottle } from '../constructs/agent-gateway.ts';
import { AlertTopics, alertContactsOf } from '../constructs/alert-topics.ts';
import { Decider, DECIDER_TIMEOUT, visibilityTimeoutFor } from '../constructs/decider.ts';
import { Dispatcher } from '../constructs/dispatcher.ts';
import { hostedZoneIdsOf } from '../constructs/dns-failover.ts';
import { DnsWriter } from '../constructs/dns-writer.ts';
import { FailedInvocations } from '../constructs/failed-invocations.ts';
import { ObservationsQueue } from '../constructs/observations-queue.ts';
import { Observability } from '../constructs/observability.ts';
import { inboundSecretIdsOf, PublicApi } from '../constructs/public-api.ts';
import { WebConsole } from '../constructs/web-console.ts';
import { Reconciler } from '../constructs/reconciler.ts';
import { StateTable } from '../constructs/state-table.ts';
import { WebhookDelivery } from '../constructs/webhook-delivery.ts';

/** Props of the {@link ControlStack}; `env.region` is the configuration's control region. */
export interface ControlStackProps extends StackProps {
  /** The sites.yaml text, inlined into the functions. */
  readonly configYaml: string;
  /** The same configuration, validated: what the stack reads to size its resources. */
  readonly config: FailoverConfig;
}

/**
 * The control region: the observations queue, the decider that consumes it and the table it keeps state in; the
 * dispatcher the table's stream starts, the alert topics it publishes to, and the DNS reconciler of record-swap
 * records. Health-check-gated records live in the data plane's stacks (data-plane-stacks.ts), not here.
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
  /** The dead-letter queue shared by the dispatcher's stream and the reconcile and agent sweep schedules. */
  public readonly failedInvocations: FailedInvocations;
  /** The dispatch function and its event source on the table's stream. */
  public readonly dispatcher: Dispatcher;
  /** The record-swap records' writer (its queue, function and age alarm); only when some record is record-swap. */
  public readonly dnsWriter: DnsWriter | undefined;
  /** The scheduled DNS reconciliation. */
  public readonly reconciler: Reconciler;
  /** The webhook delivery queue, its worker and the key ring sealing subscriptions' secrets. */
  public readonly webhooks: WebhookDelivery;
  /** The public HTTP API (sites, incidents, overrides, maintenance, webhooks) and its API key pepper. */
  public readonly api: PublicApi;
  /** The dashboard and status pages on the API's origin. */
  public readonly web: WebConsole;
  /** The agent channel (WebSocket and HTTPS APIs, expiry sweep); only when some site has an agent. */
  public readonly agentGateway: AgentGateway | undefined;

  constructor(scope: Construct, id: string, props: ControlStackProps) {
    const { configYaml, config, ...stackProps } = props;
    super(scope, id, {
      description: 'Failover control plane: observations queue, decider, state table, dispatcher, alerts, DNS',
      ...stackProps,
    });
    const recordSwapZoneIds = hostedZoneIdsOf(config, 'record-swap');

    this.observations = new ObservationsQueue(this, 'Observations', {
      visibilityTimeout: visibilityTimeoutFor(DECIDER_TIMEOUT),
    });
    this.state = new StateTable(
      this,
      'State',
      config.regions.standby && config.regions.witness
        ? { replication: { standby: config.regions.standby, witness: config.regions.witness } }
        : {},
    );
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
    // One alarm watches the invocations given up by the dispatcher's stream and the schedules (docs/architecture.md).
    this.failedInvocations = new FailedInvocations(this, 'FailedInvocations');
    const deadLetterQueue = this.failedInvocations.deadLetterQueue;
    this.dispatcher = new Dispatcher(this, 'Dispatcher', {
      configYaml,
      table: this.state,
      topics: this.alerts,
      deadLetterQueue,
    });
    if (recordSwapZoneIds.length > 0) {
      this.dnsWriter = new DnsWriter(this, 'DnsWriter', {
        configYaml,
        config,
        table: this.state,
      });
      this.dnsWriter.grantSend(this.dispatcher.function);
    }
    this.reconciler = new Reconciler(this, 'Reconciler', {
      configYaml,
      table: this.state,
      recordSwapZoneIds,
      scheduleDeadLetterQueue: deadLetterQueue,
    });
    this.webhooks = new WebhookDelivery(this, 'Webhooks', { table: this.state });
    this.api = new PublicApi(this, 'Api', {
      configYaml,
      table: this.state,
      webhooks: this.webhooks,
      inboundSecrets: inboundSecretIdsOf(config),
      alerts: this.alerts,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the failover HTTP API' });
    this.web = new WebConsole(this, 'Web', {
      httpApi: this.api.httpApi,
      statusPages: config.statusPages.map((p) => p.id),
    });
    new CfnOutput(this, 'DashboardUrl', { value: `${this.api.url}/`, description: "The operators' dashboard" });
    this.agentGateway = config.sites.some((s) => s.agent)
      ? new AgentGateway(this, 'AgentGateway', {
          configYaml,
          table: this.state,
          sweepDeadLetterQueue: deadLetterQueue,
          rateLimit: agentChannelThrottle(config.sites.filter((s) => s.agent).length).rateLimit,
        })
      : undefined;
    // The dispatcher fans webhook actions out to the delivery queue and issues agent commands.
    this.webhooks.grantPublish(this.dispatcher.function);
    if (this.agentGateway) {
      this.agentGateway.grantIssueCommands(this.dispatcher.function);
      for (const [name, value] of Object.entries(this.agentGateway.commandEnvironment))
        this.dispatcher.function.addEnvironment(name, value);
    }
    // Last, so that it finds every dead-letter queue of the stack.
    new Observability(this, 'Observability', { control: this, config });
  }
}
