/**
 * What `failover cost` cannot read from sites.yaml: usage, sizes and durations. Each has a default, a unit and a
 * sentence saying what it stands for; the report prints them all.
 */
export interface CostAssumptions {
  /** Memory of the probe function, MB (ProbeRegion's default). */
  readonly probeMemoryMb: number;
  /** Duration of a tick (plan a minute, one SendMessageBatch), ms. */
  readonly tickMs: number;
  /** Fixed part of a round invocation: receive the ticket, publish, log, ms. */
  readonly roundOverheadMs: number;
  /** Time to the answer of one check attempt, ms. */
  readonly checkLatencyMs: number;
  /** Share of rounds that wait for a check failing by timeout (two attempts and the confirm delay). */
  readonly timedOutRoundShare: number;
  /** Memory of the decide, dispatch, reconcile, API, webhook and agent functions, MB. */
  readonly controlMemoryMb: number;
  /** Decide invocation: fixed part (sites are decided concurrently: about one read and one write), ms. */
  readonly decideBaseMs: number;
  /** Decide invocation: per site decided (CPU: parse, decide, deflate), ms. */
  readonly decidePerSiteMs: number;
  /** Messages of one region's round that a decide invocation takes at most (the event source's batch size). */
  readonly decideBatchSize: number;
  /** Compressed state item: fixed part, bytes. */
  readonly stateBaseBytes: number;
  /** Compressed state item: per (check x probe region) streak, bytes. */
  readonly stateBytesPerStreak: number;
  /** Share of a site's decisions that write its state: rounds that only confirm it are written every other round. */
  readonly stateWriteShare: number;
  /** JSON of one observation in an observation batch, bytes. */
  readonly observationBytes: number;
  /** ReceiveMessage calls per minute that Lambda's pollers make on an idle queue (5 pollers, 20 s long polls). */
  readonly idleReceivesPerMinute: number;
  /** Transitions (failovers, failbacks, degradations...) per site and month. */
  readonly transitionsPerSiteMonth: number;
  /** Alerts per transition (a transition's alert, a reminder or resolution). */
  readonly alertsPerTransition: number;
  /** Share of alerts that are critical (SMS and email) rather than warnings (email). */
  readonly criticalAlertShare: number;
  /** Dispatcher invocations per transition (the actions, then the outbox cleared). */
  readonly dispatchesPerTransition: number;
  /** Dispatch invocation, ms. */
  readonly dispatchMs: number;
  /** Reconcile sweep: fixed part, ms. */
  readonly reconcileBaseMs: number;
  /** Reconcile sweep: each listing page of a record-swap zone (300 records), ms: pages are paced at one a second. */
  readonly reconcilePageMs: number;
  /** A standby reconcile run that leaves the sweep to the primary (one read of the cursor), ms. */
  readonly deferredReconcileMs: number;
  /** Share of transitions that move a site's active link, and so rewrite its record-swap records. */
  readonly linkChangeShare: number;
  /** DNS writer invocation (a token of the budget, one ChangeResourceRecordSets, the state read), ms. */
  readonly dnsWriterMs: number;
  /** HTTP API requests per month (operators, integrations, inbound hooks). */
  readonly apiRequestsMonth: number;
  /** API invocation, ms. */
  readonly apiMs: number;
  /** Webhook deliveries (attempts) per month. */
  readonly webhookDeliveriesMonth: number;
  /** Agent heartbeat period, seconds (agent.yaml heartbeatSeconds default). */
  readonly agentHeartbeatSeconds: number;
  /** Agent gateway invocation, ms. */
  readonly agentGatewayMs: number;
  /** DNS queries per month to each managed record (answered by the customer's zone with or without this system). */
  readonly dnsQueriesPerRecordMonth: number;
  /** Log bytes Lambda itself writes per invocation (START, END, REPORT). */
  readonly lambdaLogBytesPerInvocation: number;
  /** Log bytes our code writes per probe round (the round line). */
  readonly roundLogBytes: number;
  /** Log bytes per tick, per decide invocation (and per observation, EMF values), per other invocation. */
  readonly tickLogBytes: number;
  readonly decideLogBytes: number;
  readonly decideLogBytesPerObservation: number;
  readonly otherLogBytes: number;
  /** Stored (compressed) log bytes per ingested byte, and the log groups' retention in months. */
  readonly logCompression: number;
  readonly logRetentionMonths: number;
  /** Hours per month in which the on-event metrics are published (hours with transitions, dispatches, failures). */
  readonly eventMetricHoursMonth: number;
  /** History kept per transition (transition item with explanation, incident snapshot), KB. */
  readonly historyKbPerTransition: number;
  /** History retention, months (historyRetentionDays 180). */
  readonly historyRetentionMonths: number;
  /** A check history row (docs/state.md, "Check history"): keys, TTL and start, bytes. */
  readonly rollupRowBaseBytes: number;
  /** A 5-minute row, per check: its outcome, latency and histogram counters, bytes. */
  readonly rollupBytesPerCheck: number;
  /** An hourly or daily row, per check (more histogram buckets, larger numbers), bytes. */
  readonly foldedBytesPerCheck: number;
  /** API requests a month that read check history: the dashboard's charts, status pages and badges. */
  readonly historyRequestsMonth: number;
}

export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  probeMemoryMb: 512,
  tickMs: 60,
  roundOverheadMs: 80,
  checkLatencyMs: 250,
  timedOutRoundShare: 0.02,
  controlMemoryMb: 256,
  decideBaseMs: 30,
  decidePerSiteMs: 3,
  decideBatchSize: 10,
  stateBaseBytes: 300,
  stateBytesPerStreak: 20,
  stateWriteShare: 0.52,
  observationBytes: 450,
  idleReceivesPerMinute: 15,
  transitionsPerSiteMonth: 2,
  alertsPerTransition: 2,
  criticalAlertShare: 0.5,
  dispatchesPerTransition: 2,
  dispatchMs: 400,
  reconcileBaseMs: 300,
  reconcilePageMs: 1000,
  deferredReconcileMs: 50,
  linkChangeShare: 1,
  dnsWriterMs: 400,
  apiRequestsMonth: 10_000,
  apiMs: 50,
  webhookDeliveriesMonth: 0,
  agentHeartbeatSeconds: 20,
  agentGatewayMs: 30,
  dnsQueriesPerRecordMonth: 100_000,
  lambdaLogBytesPerInvocation: 350,
  roundLogBytes: 600,
  tickLogBytes: 350,
  decideLogBytes: 350,
  decideLogBytesPerObservation: 12,
  otherLogBytes: 400,
  logCompression: 0.15,
  logRetentionMonths: 1,
  eventMetricHoursMonth: 40,
  historyKbPerTransition: 6,
  historyRetentionMonths: 6,
  rollupRowBaseBytes: 100,
  rollupBytesPerCheck: 80,
  foldedBytesPerCheck: 125,
  historyRequestsMonth: 10_000,
};

/** The sentence printed beside each assumption. */
export const ASSUMPTION_TEXT: Readonly<Record<keyof CostAssumptions, string>> = {
  probeMemoryMb: 'probe function memory, MB (ProbeRegion default)',
  tickMs: 'duration of a tick (plan the next minute, one SendMessageBatch), ms',
  roundOverheadMs: 'fixed part of a round invocation (ticket, publish, log), ms',
  checkLatencyMs: 'time to the answer of one check attempt, ms',
  timedOutRoundShare: 'share of rounds that wait for a check timing out (two attempts plus the confirm delay)',
  controlMemoryMb: 'memory of the control functions, MB',
  decideBaseMs: 'decide invocation, fixed part (sites are decided concurrently: one read and one write), ms',
  decidePerSiteMs: 'decide invocation, per site decided (parse, decide, deflate), ms',
  decideBatchSize: "decide event source batch size: a region's round needs ceil(sites / this) invocations",
  stateBaseBytes: 'compressed state item, fixed part, bytes (docs/state.md: about 530 B for 10 checks x 3 regions)',
  stateBytesPerStreak: 'compressed state item, per check x probe region, bytes',
  stateWriteShare:
    'share of decisions that write the state (docs/state.md, Writes: steady sites every other round; bench:decide measures 0.521; 1 before)',
  observationBytes: 'JSON of one observation in a batch message, bytes',
  idleReceivesPerMinute:
    "ReceiveMessage calls per minute by Lambda's pollers on each queue, busy or idle (observed, not documented)",
  transitionsPerSiteMonth: 'transitions per site and month',
  alertsPerTransition: 'alerts per transition (the alert, a reminder or resolution)',
  criticalAlertShare: 'share of alerts that are critical (SMS and email)',
  dispatchesPerTransition: 'dispatcher invocations per transition',
  dispatchMs: 'dispatch invocation, ms',
  reconcileBaseMs: 'reconcile sweep, fixed part, ms',
  reconcilePageMs: 'reconcile sweep, per listing page of a record-swap zone (300 records), ms: pages paced at 1/s',
  deferredReconcileMs:
    "standby reconcile run that leaves the sweep to the primary's (it read the shared cursor, saved recently), ms",
  linkChangeShare:
    "share of transitions that move a site's active link (failover, failback) and so rewrite its record-swap records",
  dnsWriterMs: 'DNS writer invocation (a budget token, one ChangeResourceRecordSets, the state read), ms',
  apiRequestsMonth: 'HTTP API requests per month',
  apiMs: 'API invocation, ms',
  webhookDeliveriesMonth: 'webhook delivery attempts per month',
  agentHeartbeatSeconds: 'agent heartbeat period, s (each heartbeat and its answer are two WebSocket messages)',
  agentGatewayMs: 'agent gateway invocation, ms',
  dnsQueriesPerRecordMonth:
    "DNS queries per managed record and month (billed to the zone's owner with or without this system)",
  lambdaLogBytesPerInvocation: 'log bytes Lambda writes per invocation (START, END, REPORT)',
  roundLogBytes: 'log bytes per probe round (the round line)',
  tickLogBytes: 'log bytes per tick',
  decideLogBytes:
    'log bytes per decide invocation (EMF records: envelopes, DecisionLatency and RegionsReporting of up to 10 sites)',
  decideLogBytesPerObservation: 'log bytes per observation decided (EMF values of ProbeOutcome and ProbeLatency)',
  otherLogBytes: 'log bytes per other invocation',
  logCompression: 'stored (compressed) bytes per ingested byte',
  logRetentionMonths: 'log retention, months (30 days)',
  eventMetricHoursMonth: 'hours per month in which the on-event metrics are published',
  historyKbPerTransition: 'history kept per transition (transition with explanation, incident snapshot), KB',
  historyRetentionMonths: 'history retention, months (historyRetentionDays 180)',
  rollupRowBaseBytes: 'check history row: keys, TTL, start, bytes (docs/state.md, Check history: 88 measured)',
  rollupBytesPerCheck: '5-minute history row, per check, bytes (77 measured with 5 checks)',
  foldedBytesPerCheck: 'hourly or daily history row, per check, bytes (125 measured)',
  historyRequestsMonth: 'API requests that read check history (dashboard charts, status pages, badges)',
};
