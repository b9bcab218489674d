import { dataPlaneLinksOf } from '../config/data-plane.ts';
import type { FailoverConfig, PlannedCheck, SiteConfig } from '../config/model.ts';
import { planRounds } from '../probes/schedule.ts';
import { ASSUMPTION_TEXT, DEFAULT_ASSUMPTIONS, type CostAssumptions } from './assumptions.ts';
import { alwaysOnMetricCount, onEventMetricCount } from './custom-metrics.ts';
import { FREE_TIER, HOURS_PER_MONTH, MINUTES_PER_MONTH, PRICES, type PriceId, type UnitPrice } from './prices.ts';

/** One line of the bill. */
export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly price: PriceId;
  readonly unit: string;
  readonly unitUsd: number;
  readonly monthlyUsd: number;
  /** True when the line does not grow with the checks and sites (alarms, dashboard, keys, idle pollers, ticks). */
  readonly fixed: boolean;
  /** False for costs shown for completeness that the deployment does not add (DNS queries the zone answers anyway). */
  readonly counted: boolean;
}

/** Round durations measured by running the configuration's rounds on this machine. */
export interface MeasuredRounds {
  /** Mean wall time of a round, ms. */
  readonly roundMs: number;
  readonly rounds: number;
  readonly maxRoundMs: number;
}

export interface CostInput {
  readonly config: FailoverConfig;
  readonly assumptions?: Partial<CostAssumptions>;
  readonly measured?: MeasuredRounds;
}

/** Alarm metrics the stacks create, by where they are (CloudWatch bills each metric of an alarm). */
export interface AlarmCount {
  /** Control stack: the observations FIFO DLQ, the shared DLQ of given-up invocations, the webhook DLQ. */
  readonly deadLetterQueues: number;
  /** Actions the dispatcher gave up. */
  readonly dispatcher: number;
  /** With record-swap records: a wanted DNS state waiting too long in the DNS writer's queue. */
  readonly dnsWriter: number;
  /** One alarm on the decider's RegionsReporting, whatever the number of probe regions. */
  readonly silentRegions: number;
  /** The decider's InvalidMessages; the reconciler's errors, sites not reconciled and records drifting. */
  readonly controlPlane: number;
  /** The data plane: one per data-plane site link in each probe region (LinkHealthAlarms). */
  readonly linkAlarms: number;
  /**
   * With two control regions, the standby's own (StandbyAlarms): its two dead-letter queues, its dispatcher, silent
   * regions, invalid messages, the reconciler's three and, with record-swap records, its DNS writer.
   */
  readonly standby: number;
  /**
   * Per probe region: its dead-letter queue (failed ticks and rounds), FailedPublishes, SkippedChecks, StaleRounds
   * and, with data-plane links, FailedHealthPublishes.
   */
  readonly probeRegions: number;
  readonly total: number;
}

export interface CostReport {
  readonly configuration: {
    readonly sites: number;
    readonly checks: number;
    readonly controlChecks: number;
    readonly probeRegions: readonly string[];
    readonly controlRegion: string;
    readonly intervalsSeconds: readonly number[];
    readonly gatedRecords: number;
    /** Site links with a health check set (dataPlaneLinksOf). */
    readonly dataPlaneLinks: number;
    readonly recordSwapRecords: number;
    readonly agents: number;
  };
  readonly workload: {
    readonly roundsPerMonth: number;
    readonly ticksPerMonth: number;
    readonly checkRunsPerMonth: number;
    readonly decisionsPerMonth: number;
    readonly roundMs: number;
    readonly roundMsSource: 'measured' | 'assumed';
    readonly measuredRounds?: number;
    readonly customMetrics: number;
    readonly alarms: AlarmCount;
  };
  readonly assumptions: readonly {
    readonly key: keyof CostAssumptions;
    readonly value: number;
    readonly text: string;
  }[];
  readonly lines: readonly CostLine[];
  /** Every unit price the lines use, with its source and date. */
  readonly prices: readonly (UnitPrice & { readonly id: PriceId })[];
  readonly totals: {
    readonly monthlyUsd: number;
    readonly perCheckUsd: number;
    readonly fixedUsd: number;
    readonly variableUsd: number;
    readonly variablePerCheckUsd: number;
    /** What the always-free tier would take off, were this account using it for nothing else. */
    readonly freeTierUsd: number;
    readonly afterFreeTierUsd: number;
    readonly afterFreeTierPerCheckUsd: number;
    /**
     * What one more check adds, when checks come in sites like these: the bill of the configuration with every site
     * twice (`withSitesRepeated`) less this one, per check added. Step costs (a decide batch, a wave of a round) are
     * in it, averaged over that doubling.
     */
    readonly marginalPerCheckUsd: number;
    /**
     * How many checks, in sites like these, the all-in list price per check needs to fall under TARGET_PER_CHECK_USD,
     * on the straight line through this bill and the doubled one (the fixed part spread over more checks); null when
     * one more check alone costs the target or more.
     */
    readonly checksForTarget: number | null;
  };
  readonly alternatives: {
    readonly route53: {
      readonly perCheckLowUsd: number;
      readonly perCheckHighUsd: number;
      /** Like for like for this configuration's checks that Route 53 can express, with an alarm each to be told. */
      readonly equivalentUsd: number;
      readonly equivalentPerCheckUsd: number;
      readonly expressible: number;
      readonly notExpressible: number;
      readonly explanation: readonly string[];
    };
    readonly synthetics: {
      readonly runsPerCheckMonth: number;
      readonly perCheckUsd: number;
      readonly monthlyUsd: number;
      readonly explanation: string;
    };
  };
  readonly notes: readonly string[];
}

/** Issue 8's target for the 20-site example: under 5 US cents per check and month. */
export const TARGET_PER_CHECK_USD = 0.05;

const DAY_MS = 86_400_000;
/** A Thursday, midnight UTC: the plan of one day, scaled to the billing month. */
const PLAN_START = Date.UTC(2026, 0, 1);
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
const RECONCILES_PER_MONTH = MINUTES_PER_MONTH / 5;
const SQS_CHUNK = 64 * 1024;
const BATCH_ENVELOPE_BYTES = 400;

interface RoundFigures {
  rounds: number;
  checkRuns: number;
  decideInvocations: number;
  roundMsTotal: number;
  sendRequests: number;
  roundQueueSends: number;
  observations: number;
  /** Decisions per site id. */
  batchesBySite: Map<string, number>;
}

/**
 * The alarm metrics the stacks create for `config` (Observability, StandbyAlarms, ProbeRegion and LinkHealthAlarms);
 * test/infra counts the metrics of the synthesized alarms against it. The agent sweep's schedule shares the control
 * stack's DLQ of given-up invocations, so agents add none.
 */
export function alarmCountOf(config: FailoverConfig): AlarmCount {
  const links = dataPlaneLinksOf(config).length;
  const regions = config.regions.probe.length;
  const dnsWriter = config.sites.some((s) => s.dns.some((r) => r.strategy === 'record-swap')) ? 1 : 0;
  const counts = {
    deadLetterQueues: 3,
    dispatcher: 1,
    dnsWriter,
    silentRegions: 1,
    controlPlane: 4,
    linkAlarms: links * regions,
    // Each: its DLQ, FailedPublishes, SkippedChecks, StaleRounds; with data-plane links FailedHealthPublishes.
    probeRegions: regions * (links > 0 ? 5 : 4),
    standby: config.regions.standby ? 2 + 1 + 1 + 1 + 3 + dnsWriter : 0,
  };
  return { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}

/**
 * The monthly AWS bill of a configuration, line by line, with every assumption and unit price, what the always-free
 * tier would take off, what one more check adds and how many checks bring the all-in price under the target, and
 * what the same checks would cost as Route 53 health checks or Synthetics canaries. Pure: the plan comes from
 * planRounds, usage from the assumptions, durations from them or from `measured` (taken as the duration of the
 * doubled configuration's rounds too).
 */
export function estimateCost(input: CostInput): CostReport {
  const report = bill(input);
  const checks = report.configuration.checks;
  if (checks === 0) return report;
  const doubled = bill({ ...input, config: withSitesRepeated(input.config, 2) });
  const total = report.totals.monthlyUsd;
  const marginal = (doubled.totals.monthlyUsd - total) / checks;
  // The line through both bills: total(n) = intercept + marginal * n.
  const intercept = total - marginal * checks;
  const checksForTarget =
    marginal < TARGET_PER_CHECK_USD ? Math.max(1, Math.floor(intercept / (TARGET_PER_CHECK_USD - marginal)) + 1) : null;
  return { ...report, totals: { ...report.totals, marginalPerCheckUsd: marginal, checksForTarget } };
}

/**
 * `config` with every site `copies` times: the copies get the ids `<id>~2`, `<id>~3`... and are otherwise the same
 * (checks, links, DNS records, agent, policy). What "sites like these" means in the report.
 */
export function withSitesRepeated(config: FailoverConfig, copies: number): FailoverConfig {
  const sites: SiteConfig[] = [...config.sites];
  for (let k = 2; k <= copies; k++) {
    for (const site of config.sites) {
      const id = `${site.id}~${k}`;
      sites.push({ ...site, id, checks: site.checks.map((c) => ({ ...c, site: id })) });
    }
  }
  return { ...config, sites };
}

function bill(input: CostInput): CostReport {
  const a: CostAssumptions = { ...DEFAULT_ASSUMPTIONS, ...input.assumptions };
  const { config } = input;
  const regions = config.regions.probe;
  const sites = config.sites;
  const checks = sites.reduce((n, s) => n + s.checks.length, 0);
  const gated = gatedOf(sites);
  const recordSwap = sites.flatMap((s) => s.dns).length - gated.length;
  const agentSites = sites.filter((s) => s.agent);
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, price: PriceId, fixed: boolean, counted = true) => {
    const p = PRICES[price];
    const monthlyUsd = quantity * p.usd;
    lines.push({ service, item, quantity, price, unit: p.unit, unitUsd: p.usd, monthlyUsd, fixed, counted });
  };

  const figures = roundFigures(config, a, input.measured);
  const ticks = regions.length * MINUTES_PER_MONTH;
  const gb = (mb: number) => mb / 1024;

  // Lambda: the probe function (ticks and rounds), then the control functions.
  add('Lambda', 'probe ticks: requests', ticks, 'lambdaRequest', true);
  add('Lambda', 'probe ticks: duration', (ticks * a.tickMs * gb(a.probeMemoryMb)) / 1000, 'lambdaGbSecondArm', true);
  add('Lambda', 'probe rounds: requests', figures.rounds, 'lambdaRequest', false);
  add(
    'Lambda',
    'probe rounds: duration',
    (figures.roundMsTotal * gb(a.probeMemoryMb)) / 1000,
    'lambdaGbSecondArm',
    false,
  );
  const agentBatches = agentSites.reduce(
    (n, s) => n + (s.links.length * (MINUTES_PER_MONTH * 60)) / s.policy.intervalSeconds,
    0,
  );
  // Agents' batches are decided by the agent gateway itself (decideSite), not by the decide function.
  const regionDecisions = sum(figures.batchesBySite.values());
  const decisions = regionDecisions + agentBatches;
  const decideInvocations = figures.decideInvocations;
  const transitions = a.transitionsPerSiteMonth * sites.length;
  const heartbeats = agentSites.length * ((MINUTES_PER_MONTH * 60) / a.agentHeartbeatSeconds);
  const invocations = {
    decide: decideInvocations,
    dispatch: transitions * a.dispatchesPerTransition,
    reconcile: RECONCILES_PER_MONTH,
    api: a.apiRequestsMonth,
    webhooks: a.webhookDeliveriesMonth,
    agents: agentSites.length > 0 ? heartbeats + agentBatches + MINUTES_PER_MONTH : 0,
  };
  const ms = {
    decide: decideInvocations * a.decideBaseMs + regionDecisions * a.decidePerSiteMs,
    dispatch: invocations.dispatch * a.dispatchMs,
    reconcile: RECONCILES_PER_MONTH * (a.reconcileBaseMs + 500 * recordSwap),
    api: invocations.api * a.apiMs,
    webhooks: invocations.webhooks * 1000,
    agents: invocations.agents * a.agentGatewayMs,
  };
  add('Lambda', 'decide: requests', invocations.decide, 'lambdaRequest', false);
  add('Lambda', 'decide: duration', (ms.decide * gb(a.controlMemoryMb)) / 1000, 'lambdaGbSecondArm', false);
  const groups = [
    { label: 'reconcile, API', keys: ['reconcile', 'api'] as const, fixed: true },
    { label: 'dispatch, webhooks, agent gateway', keys: ['dispatch', 'webhooks', 'agents'] as const, fixed: false },
  ];
  for (const g of groups) {
    add('Lambda', `${g.label}: requests`, sum(g.keys.map((k) => invocations[k])), 'lambdaRequest', g.fixed);
    const gbs = (sum(g.keys.map((k) => ms[k])) * gb(a.controlMemoryMb)) / 1000;
    add('Lambda', `${g.label}: duration`, gbs, 'lambdaGbSecondArm', g.fixed);
  }
  const otherInvocations = sum(groups.flatMap((g) => g.keys.map((k) => invocations[k])));
  // Lambda traces every invocation at these rates (1 a second, then 5 %); the probe, decide and agent gateway
  // functions have tracing off (ProbeRegion, Decider, AgentGateway), the others keep the FailoverFunction default.
  const fixedTraces = invocations.reconcile + invocations.api;
  add(
    'X-Ray',
    'traces of the dispatch and webhook functions',
    otherInvocations - fixedTraces - invocations.agents,
    'xrayTrace',
    false,
  );
  add('X-Ray', 'traces of the reconcile and API functions', fixedTraces, 'xrayTrace', true);

  // SQS: every queue with a Lambda event source is polled, busy or idle.
  const eventSourceQueues = regions.length + 2;
  const idleReceives = a.idleReceivesPerMinute * MINUTES_PER_MONTH;
  add(
    'SQS',
    `pollers' long polls on ${regions.length} round queues and the webhook queue`,
    idleReceives * (regions.length + 1),
    'sqsStandardRequest',
    true,
  );
  add('SQS', "pollers' long polls on the observations queue (FIFO)", idleReceives, 'sqsFifoRequest', true);
  add(
    'SQS',
    'round tickets: send, receive, delete',
    figures.roundQueueSends + 2 * figures.rounds,
    'sqsStandardRequest',
    false,
  );
  add(
    'SQS',
    'observation batches (FIFO): send (64 KiB chunks), receive, delete',
    figures.sendRequests + 2 * figures.decideInvocations,
    'sqsFifoRequest',
    false,
  );
  if (a.webhookDeliveriesMonth > 0)
    add('SQS', 'webhook tickets: send, receive, delete', 3 * a.webhookDeliveriesMonth, 'sqsStandardRequest', false);

  // DynamoDB: one consistent read and one conditional write of the state per decision (docs/state.md).
  let writeUnits = 0;
  let readUnits = 0;
  let stateBytes = 0;
  for (const site of sites) {
    const bytes =
      a.stateBaseBytes + a.stateBytesPerStreak * site.checks.length * (regions.length + (site.agent ? 1 : 0));
    stateBytes += bytes;
    const siteDecisions =
      (figures.batchesBySite.get(site.id) ?? 0) +
      (site.agent ? (site.links.length * MINUTES_PER_MONTH * 60) / site.policy.intervalSeconds : 0);
    writeUnits += siteDecisions * a.stateWriteShare * Math.ceil(bytes / 1024);
    readUnits += siteDecisions * Math.ceil(bytes / 4096);
    if (site.dns.length > 0) readUnits += RECONCILES_PER_MONTH * Math.ceil(bytes / 4096);
  }
  const everyRoundExtraUsd =
    a.stateWriteShare > 0 ? (writeUnits / a.stateWriteShare) * (1 - a.stateWriteShare) * PRICES.dynamoWriteUnit.usd : 0;
  // A transition writes its history, clears it from the outbox, and the dispatcher reads, records and clears.
  const historyUnits = transitions * (Math.ceil(a.historyKbPerTransition) + 3);
  add(
    'DynamoDB',
    `state writes (${a.stateWriteShare} per site per round and region) and history`,
    writeUnits + historyUnits + heartbeats,
    'dynamoWriteUnit',
    false,
  );
  add(
    'DynamoDB',
    'state reads (consistent) and reconciliation reads',
    readUnits + 2 * transitions,
    'dynamoReadUnit',
    false,
  );
  // Check history (docs/state.md, "Check history"): one UpdateItem ADD per decision into the site's 5-minute row;
  // the reconcile sweep folds each hour (a Query of 12 rows, a put) and each day (24 rows, a put), and reads each
  // site's fold mark every run. An API read takes about 90 daily, 24 hourly and 12 five-minute rows.
  let rollupWrites = 0;
  let foldWrites = 0;
  let historyReads = 0;
  let historyBytes = 0;
  const hoursPerMonth = MINUTES_PER_MONTH / 60;
  for (const site of sites) {
    const rowBytes = a.rollupRowBaseBytes + a.rollupBytesPerCheck * site.checks.length;
    const foldedBytes = a.rollupRowBaseBytes + a.foldedBytesPerCheck * site.checks.length;
    const siteDecisions =
      (figures.batchesBySite.get(site.id) ?? 0) +
      (site.agent ? (site.links.length * MINUTES_PER_MONTH * 60) / site.policy.intervalSeconds : 0);
    rollupWrites += siteDecisions * Math.ceil(rowBytes / 1024);
    foldWrites += (hoursPerMonth + hoursPerMonth / 24) * Math.ceil(foldedBytes / 1024) + hoursPerMonth;
    historyReads +=
      RECONCILES_PER_MONTH +
      hoursPerMonth * 0.5 * Math.ceil((12 * rowBytes) / 4096) +
      (hoursPerMonth / 24) * 0.5 * Math.ceil((24 * foldedBytes) / 4096);
    historyBytes += 288 * 3 * rowBytes + 24 * 35 * foldedBytes + 400 * foldedBytes;
  }
  const perRequestRows = 90 + 24 + 12;
  const avgFolded = sites.length > 0 ? historyBytes / sites.length / (288 * 3 + 24 * 35 + 400) : 0;
  historyReads += a.historyRequestsMonth * 0.5 * Math.ceil((perRequestRows * avgFolded) / 4096);
  add('DynamoDB', 'check history: one 5-minute row update per decision', rollupWrites, 'dynamoWriteUnit', false);
  add('DynamoDB', 'check history: hourly and daily rows, fold marks', foldWrites, 'dynamoWriteUnit', false);
  add('DynamoDB', 'check history: fold and API reads (eventually consistent)', historyReads, 'dynamoReadUnit', false);
  const storageGb =
    (stateBytes + historyBytes + transitions * a.historyKbPerTransition * 1024 * a.historyRetentionMonths) / 1024 ** 3;
  add('DynamoDB', 'storage (states, transitions, check history)', storageGb, 'dynamoStorage', false);

  add(
    'EventBridge Scheduler',
    'probe ticks, reconcile sweeps' + (agentSites.length > 0 ? ', agent sweeps' : '') + ' (14 million free a month)',
    ticks + RECONCILES_PER_MONTH + (agentSites.length > 0 ? MINUTES_PER_MONTH : 0),
    'schedulerInvocation',
    true,
  );

  // SNS: every alert is one publish, delivered to each subscriber of its topic.
  const alerts = transitions * a.alertsPerTransition;
  const critical = alerts * a.criticalAlertShare;
  const subscribers = (severity: 'critical' | 'warning', kind: 'email' | 'sms') =>
    config.contacts.filter((c) => c.severities.includes(severity) && c[kind]).length;
  add('SNS', 'alert publishes', alerts, 'snsPublish', false);
  add(
    'SNS',
    'alert emails',
    critical * subscribers('critical', 'email') + (alerts - critical) * subscribers('warning', 'email'),
    'snsEmail',
    false,
  );
  add('SNS', 'critical alert SMS (US numbers)', critical * subscribers('critical', 'sms'), 'snsSmsUs', false);

  add('API Gateway', 'HTTP API requests', a.apiRequestsMonth, 'apiHttpRequest', true);
  if (agentSites.length > 0) {
    add(
      'API Gateway',
      'agent WebSocket connection minutes',
      agentSites.length * MINUTES_PER_MONTH,
      'apiWebSocketMinute',
      false,
    );
    add(
      'API Gateway',
      'agent WebSocket messages (heartbeats and answers, observations, commands)',
      2 * heartbeats + agentBatches + 2 * transitions,
      'apiWebSocketMessage',
      false,
    );
  }

  const links = dataPlaneLinksOf(config).length;
  if (links > 0) {
    add(
      'Route 53',
      'health checks of data-plane site links: one per probe region on its alarm (CLOUDWATCH_METRIC)',
      links * regions.length,
      'route53HealthCheckAws',
      false,
    );
    add('Route 53', 'calculated health checks (one per data-plane site link)', links, 'route53HealthCheckAws', false);
  }
  if (gated.length + recordSwap > 0) {
    // The managed records answer the queries the zone answered before: shown, not counted.
    const queries = (gated.length + recordSwap) * a.dnsQueriesPerRecordMonth;
    add('Route 53', 'DNS queries to the managed records (billed anyway)', queries, 'route53Query', false, false);
  }

  const metricsAlways = alwaysOnMetricCount(regions.length, links);
  add(
    'CloudWatch',
    'custom metrics published every hour (outcomes per region, latency, decisions, regions reporting, drift)',
    metricsAlways - links * regions.length,
    'cloudwatchMetric',
    true,
  );
  if (links > 0)
    add(
      'CloudWatch',
      'LinkHealth metrics (one per data-plane site link in each probe region)',
      links * regions.length,
      'cloudwatchMetric',
      false,
    );
  add(
    'CloudWatch',
    `custom metrics published on events (${onEventMetricCount()}, ${a.eventMetricHoursMonth} h a month)`,
    (onEventMetricCount() * a.eventMetricHoursMonth) / HOURS_PER_MONTH,
    'cloudwatchMetric',
    true,
  );
  const alarmCount = alarmCountOf(config);
  add(
    'CloudWatch',
    'alarm metrics (dead-letter queues, dispatcher, DNS writer, silent regions, invalid messages, reconciler; per probe region its DLQ and 3 counters)',
    alarmCount.total - alarmCount.linkAlarms,
    'cloudwatchAlarm',
    true,
  );
  if (links > 0)
    add(
      'CloudWatch',
      'link alarms (one per data-plane site link in each probe region)',
      alarmCount.linkAlarms,
      'cloudwatchAlarm',
      false,
    );
  add('CloudWatch', 'dashboard', 1, 'cloudwatchDashboard', true);
  const logBytes =
    (ticks + figures.rounds + invocations.decide + otherInvocations) * a.lambdaLogBytesPerInvocation +
    figures.rounds * a.roundLogBytes +
    ticks * a.tickLogBytes +
    invocations.decide * a.decideLogBytes +
    figures.observations * a.decideLogBytesPerObservation +
    otherInvocations * a.otherLogBytes;
  const logGb = logBytes / 1024 ** 3;
  add('CloudWatch', 'logs ingested', logGb, 'cloudwatchLogIngest', false);
  add('CloudWatch', 'logs stored', logGb * a.logCompression * a.logRetentionMonths, 'cloudwatchLogStorage', false);
  if (links > 0) {
    add(
      'CloudWatch',
      'PutMetricData of LinkHealth (each probe region, each round of a data-plane site, 1,000 samples a request)',
      healthPutsPerMonth(config),
      'cloudwatchPutMetricData',
      false,
    );
  }

  const secrets = 2 + (agentSites.length > 0 ? 2 : 0);
  add(
    'Secrets Manager',
    `secrets (API key pepper, webhook key ring${agentSites.length > 0 ? ', agent signing key, challenge secret' : ''})`,
    secrets,
    'secretsSecret',
    true,
  );
  add('KMS', 'customer-managed key of the alert topics', 1, 'kmsKey', true);
  add('KMS', 'requests (a data key per alert publish)', alerts, 'kmsRequest', false);

  const counted = lines.filter((l) => l.counted);
  const monthlyUsd = sum(counted.map((l) => l.monthlyUsd));
  const fixedUsd = sum(counted.filter((l) => l.fixed).map((l) => l.monthlyUsd));
  const freeTierUsd = freeTierOf(counted);
  const per = (usd: number) => (checks === 0 ? 0 : usd / checks);
  const used = [...new Set(lines.map((l) => l.price))];

  return {
    configuration: {
      sites: sites.length,
      checks,
      controlChecks: config.controlChecks.length,
      probeRegions: regions,
      controlRegion: config.regions.control,
      intervalsSeconds: [...new Set(sites.map((s) => s.policy.intervalSeconds))].sort((x, y) => x - y),
      gatedRecords: gated.length,
      dataPlaneLinks: links,
      recordSwapRecords: recordSwap,
      agents: agentSites.length,
    },
    workload: {
      roundsPerMonth: figures.rounds,
      ticksPerMonth: ticks,
      checkRunsPerMonth: figures.checkRuns,
      decisionsPerMonth: decisions,
      roundMs: figures.rounds === 0 ? 0 : figures.roundMsTotal / figures.rounds,
      roundMsSource: input.measured ? 'measured' : 'assumed',
      ...(input.measured ? { measuredRounds: input.measured.rounds } : {}),
      customMetrics: metricsAlways,
      alarms: alarmCount,
    },
    assumptions: (Object.keys(DEFAULT_ASSUMPTIONS) as (keyof CostAssumptions)[]).map((key) => ({
      key,
      value: a[key],
      text: ASSUMPTION_TEXT[key],
    })),
    lines,
    prices: used.map((id) => ({ id, ...PRICES[id] })),
    totals: {
      monthlyUsd,
      perCheckUsd: per(monthlyUsd),
      fixedUsd,
      variableUsd: monthlyUsd - fixedUsd,
      variablePerCheckUsd: per(monthlyUsd - fixedUsd),
      freeTierUsd,
      afterFreeTierUsd: monthlyUsd - freeTierUsd,
      afterFreeTierPerCheckUsd: per(monthlyUsd - freeTierUsd),
      marginalPerCheckUsd: per(monthlyUsd - fixedUsd),
      checksForTarget: null,
    },
    alternatives: {
      route53: route53Alternative(config),
      synthetics: syntheticsAlternative(config),
    },
    notes: [
      `State writes: ${a.stateWriteShare} per site per round and region (stateWriteShare: a round that only confirms the state is written every other round); writing every round, as before, would add $${everyRoundExtraUsd.toFixed(2)} a month ($${per(everyRoundExtraUsd).toFixed(4)} per check).`,
      `${eventSourceQueues} queues have a Lambda event source; Lambda polls each of them about ${a.idleReceivesPerMinute} times a minute even when idle, and every poll is a billed request.`,
      "Hosted zones are the customer's and are not counted; neither are secrets that sites.yaml only references (inbound webhook sources).",
      'SMS prices are for US numbers; other countries differ widely. Email and SMS counts assume every subscriber gets every alert of its severity (site filters only lower them).',
      'Free tiers are per account and month, shared with everything else the account runs: the list-price total counts none of them.',
    ],
  };
}

function roundFigures(config: FailoverConfig, a: CostAssumptions, measured: MeasuredRounds | undefined): RoundFigures {
  const f: RoundFigures = {
    rounds: 0,
    checkRuns: 0,
    decideInvocations: 0,
    roundMsTotal: 0,
    sendRequests: 0,
    roundQueueSends: 0,
    observations: 0,
    batchesBySite: new Map(),
  };
  const checksOf = new Map(config.sites.map((s) => [s.id, s.checks.length]));
  for (const region of config.regions.probe) {
    const plan = planRounds(config, region, PLAN_START, PLAN_START + DAY_MS);
    const perMinute = new Map<number, number>();
    for (const round of plan) {
      const minute = Math.floor(round.atMs / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
      const siteIds = [...new Set(round.checks.map((c) => c.site).filter((s): s is string => s !== null))];
      f.rounds += 1;
      f.checkRuns += round.checks.length;
      f.observations += round.checks.filter((c) => c.site !== null).length;
      f.decideInvocations += Math.ceil(siteIds.length / a.decideBatchSize);
      f.roundMsTotal += measured?.roundMs ?? modelledRoundMs(round.checks, config, a);
      f.sendRequests += sendRequestsOf(
        siteIds.map((s) => BATCH_ENVELOPE_BYTES + (checksOf.get(s) ?? 0) * a.observationBytes),
      );
      for (const s of siteIds) f.batchesBySite.set(s, (f.batchesBySite.get(s) ?? 0) + 1);
    }
    for (const n of perMinute.values()) f.roundQueueSends += Math.ceil(n / 10);
  }
  const scale = (n: number) => n * DAYS_PER_MONTH;
  return {
    rounds: scale(f.rounds),
    checkRuns: scale(f.checkRuns),
    decideInvocations: scale(f.decideInvocations),
    roundMsTotal: scale(f.roundMsTotal),
    sendRequests: scale(f.sendRequests),
    roundQueueSends: scale(f.roundQueueSends),
    observations: scale(f.observations),
    batchesBySite: new Map([...f.batchesBySite].map(([k, v]) => [k, scale(v)])),
  };
}

/**
 * A round's wall time: the fixed part, the jittered starts (the last of n checks starts after about n/(n+1) of the
 * jitter), one check latency per wave of `concurrency` checks, and now and then a check that times out twice.
 */
export function modelledRoundMs(checks: readonly PlannedCheck[], config: FailoverConfig, a: CostAssumptions): number {
  const n = checks.length;
  if (n === 0) return a.roundOverheadMs;
  const waves = Math.ceil(n / config.probing.concurrency);
  const slowest = Math.max(...checks.map((c) => 2 * c.timeoutMs + c.confirmRetryMs));
  return (
    a.roundOverheadMs +
    (config.probing.jitterMs * n) / (n + 1) +
    waves * a.checkLatencyMs +
    a.timedOutRoundShare * slowest
  );
}

/** SendMessageBatch requests of ten entries at most, each billed per 64 KiB of payload. */
function sendRequestsOf(messageBytes: readonly number[]): number {
  let requests = 0;
  for (let i = 0; i < messageBytes.length; i += 10) {
    requests += Math.max(1, Math.ceil(sum(messageBytes.slice(i, i + 10)) / SQS_CHUNK));
  }
  return requests;
}

/**
 * PutMetricData requests of the probe regions: each region puts the health of the data-plane sites due in a round
 * in one request per 1,000 samples, so per region one request per distinct round time of those sites.
 */
function healthPutsPerMonth(config: FailoverConfig): number {
  const bySite = new Map<string, number>();
  for (const l of dataPlaneLinksOf(config)) bySite.set(l.site, (bySite.get(l.site) ?? 0) + 1);
  const count = config.regions.probe.length;
  let total = 0;
  for (let index = 0; index < count; index++) {
    // One hour of the plan, times the hours of the month (an interval that does not divide an hour is approximated).
    const perRound = new Map<number, number>();
    for (const site of config.sites) {
      const n = bySite.get(site.id);
      if (!n) continue;
      const intervalMs = site.policy.intervalSeconds * 1000;
      const offset = Math.floor((intervalMs * index) / count);
      for (let t = offset; t < 3_600_000; t += intervalMs) perRound.set(t, (perRound.get(t) ?? 0) + n);
    }
    for (const samples of perRound.values()) total += Math.ceil(samples / 1000) * HOURS_PER_MONTH;
  }
  return total;
}

function gatedOf(sites: readonly SiteConfig[]) {
  return sites.flatMap((s) => s.dns.filter((r) => r.strategy === 'health-check-gated'));
}

/** The free tier, applied once per price (SQS's million covers standard and FIFO requests together). */
function freeTierOf(lines: readonly CostLine[]): number {
  const quantity = new Map<PriceId, number>();
  for (const l of lines) quantity.set(l.price, (quantity.get(l.price) ?? 0) + l.quantity);
  let usd = 0;
  for (const [id, free] of Object.entries(FREE_TIER) as [PriceId, number][]) {
    let left = free;
    const ids: PriceId[] = id === 'sqsStandardRequest' ? ['sqsStandardRequest', 'sqsFifoRequest'] : [id];
    for (const each of ids) {
      const taken = Math.min(left, quantity.get(each) ?? 0);
      usd += taken * PRICES[each].usd;
      left -= taken;
    }
  }
  return usd;
}

/**
 * Route 53 health checks: $0.75 a month for a basic check of a non-AWS endpoint (HTTP, HTTPS or TCP, every 30 s,
 * from several AWS regions), plus $2 for each option: HTTPS, string matching, fast interval (10 s), latency
 * measurement; so $0.75 to $8.75. Like for like here: the options each check needs, latency measurement included
 * (every observation carries one), and a CloudWatch alarm ($0.10) to be told. DNS, SIP and voip checks have no
 * Route 53 equivalent.
 */
function route53Alternative(config: FailoverConfig): CostReport['alternatives']['route53'] {
  const base = PRICES.route53HealthCheckOther.usd;
  const option = PRICES.route53OptionOther.usd;
  let equivalentUsd = 0;
  let expressible = 0;
  let notExpressible = 0;
  for (const site of config.sites) {
    const fast = site.policy.intervalSeconds < 30;
    for (const check of site.checks) {
      const p = check.probe;
      if (p.kind !== 'http' && p.kind !== 'tcp' && p.kind !== 'tls') {
        notExpressible++;
        continue;
      }
      expressible++;
      const https = p.kind === 'tls' || (p.kind === 'http' && p.http.url.startsWith('https:'));
      const match = p.kind === 'http' && (p.http.bodyContains !== undefined || p.http.json !== undefined);
      const options = [https, match, fast, true].filter(Boolean).length;
      equivalentUsd += base + options * option + PRICES.cloudwatchAlarm.usd;
    }
  }
  return {
    perCheckLowUsd: base,
    perCheckHighUsd: base + 4 * option,
    equivalentUsd,
    equivalentPerCheckUsd: expressible === 0 ? 0 : equivalentUsd / expressible,
    expressible,
    notExpressible,
    explanation: [
      `$${base.toFixed(2)} a month for a basic health check of a non-AWS endpoint (HTTP, HTTPS or TCP, every 30 s); $${PRICES.route53HealthCheckAws.usd.toFixed(2)} for an AWS endpoint.`,
      `Each option adds $${option.toFixed(2)} (non-AWS endpoint): HTTPS, string matching, fast interval (10 s), latency measurement; all four make $${(base + 4 * option).toFixed(2)}.`,
      'Like for like: the options each check needs (HTTPS, a body or JSON assertion, an interval under 30 s) plus latency measurement, and a CloudWatch alarm per check to be told; DNS, SIP and voip checks have no equivalent.',
      'Route 53 gives no quorum, no per-link verdicts, no flap damping and no failover of anything but DNS.',
    ],
  };
}

/** CloudWatch Synthetics: one canary per check and probe region, running at the check's interval (1 minute at least). */
function syntheticsAlternative(config: FailoverConfig): CostReport['alternatives']['synthetics'] {
  let runs = 0;
  let checks = 0;
  for (const site of config.sites) {
    const perMonth = (MINUTES_PER_MONTH * 60) / Math.max(60, site.policy.intervalSeconds);
    runs += site.checks.length * perMonth * config.regions.probe.length;
    checks += site.checks.length;
  }
  const monthlyUsd = runs * PRICES.syntheticsRun.usd;
  return {
    runsPerCheckMonth: checks === 0 ? 0 : runs / checks,
    perCheckUsd: checks === 0 ? 0 : monthlyUsd / checks,
    monthlyUsd,
    explanation: `$${PRICES.syntheticsRun.usd} per canary run, one canary per check in each of the ${config.regions.probe.length} probe regions at the check's interval (canaries run once a minute at most), before the canaries' own Lambda, S3 and log charges.`,
  };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
