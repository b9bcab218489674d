import { dataPlaneLinksOf } from '../config/data-plane.ts';
import type { FailoverConfig, PlannedCheck, SiteConfig } from '../config/model.ts';
import { planRounds, shardRound, ticketCapacityOf } from '../probes/schedule.ts';
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
    /** The standby control region and the global table's witness, with two control regions. */
    readonly standbyRegion?: string;
    readonly witnessRegion?: string;
    readonly intervalsSeconds: readonly number[];
    readonly gatedRecords: number;
    /** Site links with a health check set (dataPlaneLinksOf). */
    readonly dataPlaneLinks: number;
    readonly recordSwapRecords: number;
    readonly agents: number;
  };
  readonly workload: {
    readonly roundsPerMonth: number;
    /** Probe invocations: each round is one ticket or more of at most `ticketCapacity` checks. */
    readonly ticketsPerMonth: number;
    readonly ticketCapacity: number;
    readonly ticksPerMonth: number;
    /** Wanted record-swap states handed to the DNS writer (each one ChangeResourceRecordSets). */
    readonly dnsChangesPerMonth: number;
    /** ListResourceRecordSets pages of the reconcile sweeps. */
    readonly reconcilePagesPerMonth: number;
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
     * on the straight line through this bill and the doubled one (the fixed part spread over more checks) and, when
     * that is further than the doubled bill, on the line through this bill and the bill of about that many checks
     * (rounds split into more tickets step the bill up); null when one more check alone costs the target or more.
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
  /** Probe invocations: a round is one ticket or more (shardRound). */
  tickets: number;
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
  // Where the line through this bill and another of `copies` times the sites crosses the target:
  // total(n) = intercept + slope * n.
  const crossing = (slope: number) =>
    slope < TARGET_PER_CHECK_USD
      ? Math.max(1, Math.floor((total - slope * checks) / (TARGET_PER_CHECK_USD - slope)) + 1)
      : null;
  let checksForTarget = crossing(marginal);
  // Further out the rounds may be split into more tickets (each one more probe invocation, running the control
  // checks again), which the doubled bill does not show: one more step, on the line through the bill of about
  // that many checks.
  if (checksForTarget !== null && checksForTarget > 2 * checks) {
    const copies = Math.ceil(checksForTarget / checks);
    const far = bill({ ...input, config: withSitesRepeated(input.config, copies) });
    checksForTarget = crossing((far.totals.monthlyUsd - total) / ((copies - 1) * checks));
  }
  return { ...report, totals: { ...report.totals, marginalPerCheckUsd: marginal, checksForTarget } };
}

/**
 * The bill of a configuration alone: estimateCost without what one more check adds and the checks for the target
 * (which bill the configuration again with its sites repeated); `marginalPerCheckUsd` is the variable part per check.
 */
export function monthlyBill(input: CostInput): CostReport {
  return bill(input);
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
  const capacity = ticketCapacityOf(config);
  add(
    'Lambda',
    `probe rounds: requests (one per round ticket of at most ${capacity} checks)`,
    figures.tickets,
    'lambdaRequest',
    false,
  );
  add(
    'Lambda',
    'probe rounds: duration (each ticket runs the control checks too)',
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
  // A transition that moves the active link hands each record-swap record of the site to the DNS writer: one FIFO
  // message, and (records arriving apart) one writer invocation and one ChangeResourceRecordSets each.
  const wantedStates = sum(
    sites.map(
      (s) => a.transitionsPerSiteMonth * a.linkChangeShare * s.dns.filter((r) => r.strategy === 'record-swap').length,
    ),
  );
  // A sweep lists every record-swap zone, 300 record sets a page (its NS and SOA included).
  const pagesPerSweep = sum([...recordSwapCountsByZone(sites).values()].map((n) => Math.ceil((n + 2) / 300)));
  const standby = config.regions.standby;
  const invocations = {
    decide: decideInvocations,
    dispatch: transitions * a.dispatchesPerTransition,
    dnsWriter: wantedStates,
    reconcile: RECONCILES_PER_MONTH,
    api: a.apiRequestsMonth,
    webhooks: a.webhookDeliveriesMonth,
    agents: agentSites.length > 0 ? heartbeats + agentBatches + MINUTES_PER_MONTH : 0,
  };
  const ms = {
    decide: decideInvocations * a.decideBaseMs + regionDecisions * a.decidePerSiteMs,
    dispatch: invocations.dispatch * a.dispatchMs,
    dnsWriter: wantedStates * a.dnsWriterMs,
    reconcile: RECONCILES_PER_MONTH * (a.reconcileBaseMs + a.reconcilePageMs * pagesPerSweep),
    api: invocations.api * a.apiMs,
    webhooks: invocations.webhooks * 1000,
    agents: invocations.agents * a.agentGatewayMs,
  };
  add('Lambda', 'decide: requests', invocations.decide, 'lambdaRequest', false);
  add('Lambda', 'decide: duration', (ms.decide * gb(a.controlMemoryMb)) / 1000, 'lambdaGbSecondArm', false);
  const groups = [
    { label: 'reconcile, API', keys: ['reconcile', 'api'] as const, fixed: true },
    { label: 'dispatch, webhooks, agent gateway', keys: ['dispatch', 'webhooks', 'agents'] as const, fixed: false },
    ...(recordSwap > 0
      ? [{ label: 'DNS writer (one run per wanted record state)', keys: ['dnsWriter'] as const, fixed: false }]
      : []),
  ];
  for (const g of groups) {
    add('Lambda', `${g.label}: requests`, sum(g.keys.map((k) => invocations[k])), 'lambdaRequest', g.fixed);
    const gbs = (sum(g.keys.map((k) => ms[k])) * gb(a.controlMemoryMb)) / 1000;
    add('Lambda', `${g.label}: duration`, gbs, 'lambdaGbSecondArm', g.fixed);
  }
  // The standby control region: its decider decides every batch too (its queue gets every round), its dispatcher
  // is woken by every state write with actions (the replica's stream) and applies them when it holds the site's
  // lease (so alerts and DNS changes are not doubled), and its reconciler runs on its own schedule, reading the
  // shared cursor and leaving the sweep to the primary's while that one is saving it.
  const standbyInvocations = standby
    ? { decide: decideInvocations, dispatch: invocations.dispatch, reconcile: RECONCILES_PER_MONTH }
    : { decide: 0, dispatch: 0, reconcile: 0 };
  if (standby) {
    const at = `standby control region (${standby})`;
    add(
      'Lambda',
      `${at}: decide requests (every batch, as the primary)`,
      standbyInvocations.decide,
      'lambdaRequest',
      false,
    );
    add('Lambda', `${at}: decide duration`, (ms.decide * gb(a.controlMemoryMb)) / 1000, 'lambdaGbSecondArm', false);
    add(
      'Lambda',
      `${at}: dispatch requests (woken by every write with actions; applies them under the site's lease)`,
      standbyInvocations.dispatch,
      'lambdaRequest',
      false,
    );
    add('Lambda', `${at}: dispatch duration`, (ms.dispatch * gb(a.controlMemoryMb)) / 1000, 'lambdaGbSecondArm', false);
    add(
      'Lambda',
      `${at}: reconcile requests (leaving the sweep to the primary's)`,
      standbyInvocations.reconcile,
      'lambdaRequest',
      true,
    );
    add(
      'Lambda',
      `${at}: reconcile duration`,
      (standbyInvocations.reconcile * a.deferredReconcileMs * gb(a.controlMemoryMb)) / 1000,
      'lambdaGbSecondArm',
      true,
    );
  }
  const otherInvocations =
    sum(groups.flatMap((g) => g.keys.map((k) => invocations[k]))) +
    standbyInvocations.dispatch +
    standbyInvocations.reconcile;
  // Lambda traces every invocation at these rates (1 a second, then 5 %); the probe, decide and agent gateway
  // functions have tracing off (ProbeRegion, Decider, AgentGateway), the others keep the FailoverFunction default.
  const fixedTraces = invocations.reconcile + invocations.api + standbyInvocations.reconcile;
  add(
    'X-Ray',
    `traces of the dispatch${recordSwap > 0 ? ', DNS writer' : ''} and webhook functions${standby ? ' (both control regions)' : ''}`,
    otherInvocations - fixedTraces - invocations.agents,
    'xrayTrace',
    false,
  );
  add(
    'X-Ray',
    `traces of the reconcile and API functions${standby ? ' (reconcile in both control regions)' : ''}`,
    fixedTraces,
    'xrayTrace',
    true,
  );

  // SQS: every queue with a Lambda event source is polled, busy or idle.
  const fifoPolled = (recordSwap > 0 ? 2 : 1) * (standby ? 2 : 1);
  const eventSourceQueues = regions.length + 1 + fifoPolled;
  const idleReceives = a.idleReceivesPerMinute * MINUTES_PER_MONTH;
  add(
    'SQS',
    `pollers' long polls on ${regions.length} round queues and the webhook queue`,
    idleReceives * (regions.length + 1),
    'sqsStandardRequest',
    true,
  );
  add(
    'SQS',
    `pollers' long polls on the observations queue${recordSwap > 0 ? ' and the DNS writer queue' : ''} (FIFO)` +
      (standby ? ', in both control regions' : ''),
    idleReceives * fifoPolled,
    'sqsFifoRequest',
    true,
  );
  add(
    'SQS',
    `round tickets (${quantityText(figures.rounds === 0 ? 0 : figures.tickets / figures.rounds)} a round): send (10 a request), receive, delete`,
    figures.roundQueueSends + 2 * figures.tickets,
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
  if (standby)
    add(
      'SQS',
      `standby control region (${standby}): the same observation batches to its queue (FIFO): send, receive, delete`,
      figures.sendRequests + 2 * figures.decideInvocations,
      'sqsFifoRequest',
      false,
    );
  if (recordSwap > 0)
    add(
      'SQS',
      'DNS writer queue (FIFO): a wanted record state sent, received, deleted',
      3 * wantedStates,
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
  if (recordSwap > 0) {
    // The Route 53 budget is one token bucket item: a take is a consistent read and a conditional put (items well
    // under 1 KB). The writer takes one per ChangeResourceRecordSets, the sweeping reconciler one per page and saves
    // the cursor after each page (and reads it once a run, in each control region).
    const takes = wantedStates + RECONCILES_PER_MONTH * pagesPerSweep;
    add(
      'DynamoDB',
      'Route 53 budget (token bucket) puts and reconcile cursor saves',
      takes + RECONCILES_PER_MONTH * pagesPerSweep,
      'dynamoWriteUnit',
      false,
    );
    add(
      'DynamoDB',
      'Route 53 budget reads and reconcile cursor reads',
      takes + RECONCILES_PER_MONTH * (standby ? 2 : 1),
      'dynamoReadUnit',
      false,
    );
  }
  if (standby) {
    // The standby's decider reads each site's state (consistent) for every batch, finds the round applied and writes
    // nothing; each dispatch of either region takes and gives up the site's lease, and the other region's dispatcher
    // is refused it (a failed conditional put is billed as a write).
    const standbyReads = sum(
      sites.map((site) => {
        const bytes = a.stateBaseBytes + a.stateBytesPerStreak * site.checks.length * regions.length;
        return (figures.batchesBySite.get(site.id) ?? 0) * Math.ceil(bytes / 4096);
      }),
    );
    add(
      'DynamoDB',
      `standby control region (${standby}): its decider's consistent state reads`,
      standbyReads,
      'dynamoReadUnit',
      false,
    );
    add(
      'DynamoDB',
      "dispatch leases: each dispatch's take and give-up, the other region's refused take",
      3 * invocations.dispatch,
      'dynamoWriteUnit',
      false,
    );
    // MRSC: a write is billed as a replicated write unit in every replica region (same price as a write unit);
    // the witness is not billed. So every write unit above is billed again in the standby's replica.
    const writes = sum(
      lines.filter((l) => l.service === 'DynamoDB' && l.price === 'dynamoWriteUnit').map((l) => l.quantity),
    );
    add(
      'DynamoDB',
      `global table: every write above billed again in the ${standby} replica (replicated write units; the witness is not billed)`,
      writes,
      'dynamoWriteUnit',
      false,
    );
    // Each write is sent to the other replica and the witness: at most 1 KB per write unit.
    add(
      'Data transfer',
      `global table replication out of each writing region (to the other replica and the ${config.regions.witness} witness, 1 KB a write unit at most)`,
      (2 * writes * 1024) / 1024 ** 3,
      'dataTransferInterRegion',
      false,
    );
  }
  const storageGb =
    (stateBytes + historyBytes + transitions * a.historyKbPerTransition * 1024 * a.historyRetentionMonths) / 1024 ** 3;
  add(
    'DynamoDB',
    `storage (states, transitions, check history)${standby ? ', in each of the two replicas (the witness is not billed)' : ''}`,
    storageGb * (standby ? 2 : 1),
    'dynamoStorage',
    false,
  );

  add(
    'EventBridge Scheduler',
    'probe ticks, reconcile sweeps' +
      (standby ? ' (both control regions)' : '') +
      (agentSites.length > 0 ? ', agent sweeps' : '') +
      ' (14 million free a month)',
    ticks + RECONCILES_PER_MONTH * (standby ? 2 : 1) + (agentSites.length > 0 ? MINUTES_PER_MONTH : 0),
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
  if (standby)
    add(
      'CloudWatch',
      `standby control region (${standby}): its decider's metrics published every hour (outcomes per region, latency, decisions, regions reporting)`,
      regions.length + 3,
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
    'alarm metrics (dead-letter queues, dispatcher, DNS writer, silent regions, invalid messages, reconciler; per probe region its DLQ and 3 counters' +
      (standby ? "; the standby's own" : '') +
      ')',
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
  const decideRuns = invocations.decide + standbyInvocations.decide;
  const logBytes =
    (ticks + figures.tickets + decideRuns + otherInvocations) * a.lambdaLogBytesPerInvocation +
    figures.tickets * a.roundLogBytes +
    ticks * a.tickLogBytes +
    decideRuns * a.decideLogBytes +
    figures.observations * (standby ? 2 : 1) * a.decideLogBytesPerObservation +
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
  add(
    'KMS',
    `customer-managed key of the alert topics${standby ? ' (one in each control region)' : ''}`,
    standby ? 2 : 1,
    'kmsKey',
    true,
  );
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
      ...(standby ? { standbyRegion: standby } : {}),
      ...(config.regions.witness ? { witnessRegion: config.regions.witness } : {}),
      intervalsSeconds: [...new Set(sites.map((s) => s.policy.intervalSeconds))].sort((x, y) => x - y),
      gatedRecords: gated.length,
      dataPlaneLinks: links,
      recordSwapRecords: recordSwap,
      agents: agentSites.length,
    },
    workload: {
      roundsPerMonth: figures.rounds,
      ticketsPerMonth: figures.tickets,
      ticketCapacity: capacity,
      ticksPerMonth: ticks,
      dnsChangesPerMonth: wantedStates,
      reconcilePagesPerMonth: RECONCILES_PER_MONTH * pagesPerSweep,
      checkRunsPerMonth: figures.checkRuns,
      decisionsPerMonth: decisions,
      roundMs: figures.tickets === 0 ? 0 : figures.roundMsTotal / figures.tickets,
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
      ...(recordSwap > 0
        ? [
            `Route 53 API requests are not billed, but share the account's 5 a second (the DNS writer's token bucket keeps to 4): about ${Math.round(wantedStates).toLocaleString('en-US')} ChangeResourceRecordSets and ${Math.round(RECONCILES_PER_MONTH * pagesPerSweep).toLocaleString('en-US')} ListResourceRecordSets (${pagesPerSweep} page(s) a sweep) a month.` +
              (standby
                ? " The standby's reconciler lists nothing while the primary's sweeps (it reads the shared cursor and leaves); when the primary is down it takes the same sweeps over, so the count stays the same."
                : ''),
          ]
        : []),
      ...(standby
        ? [
            `Two control regions: the standby (${standby}) decides every batch and is woken by every dispatch as the primary is, but an action is applied once (the site's lease), so alerts, SMS and DNS changes are not doubled; its replica bills every write again and stores the table again, the witness (${config.regions.witness ?? ''}) neither. Not counted, as with one region: the gsi1 index's own write units.`,
          ]
        : []),
    ],
  };
}

function roundFigures(config: FailoverConfig, a: CostAssumptions, measured: MeasuredRounds | undefined): RoundFigures {
  const f: RoundFigures = {
    rounds: 0,
    tickets: 0,
    checkRuns: 0,
    decideInvocations: 0,
    roundMsTotal: 0,
    sendRequests: 0,
    roundQueueSends: 0,
    observations: 0,
    batchesBySite: new Map(),
  };
  const checksOf = new Map(config.sites.map((s) => [s.id, s.checks.length]));
  const capacity = ticketCapacityOf(config);
  for (const region of config.regions.probe) {
    const plan = planRounds(config, region, PLAN_START, PLAN_START + DAY_MS);
    const perMinute = new Map<number, number>();
    for (const round of plan) {
      // The ticker queues a round as tickets of at most `capacity` checks (shardRound): one probe invocation each,
      // each running the control checks too and sending its own sites' batches.
      const tickets = shardRound(round, capacity);
      const minute = Math.floor(round.atMs / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + tickets.length);
      f.rounds += 1;
      f.tickets += tickets.length;
      for (const ticket of tickets) {
        const siteIds = [...new Set(ticket.checks.map((c) => c.site).filter((s): s is string => s !== null))];
        f.checkRuns += ticket.checks.length;
        f.observations += ticket.checks.filter((c) => c.site !== null).length;
        f.decideInvocations += Math.ceil(siteIds.length / a.decideBatchSize);
        f.roundMsTotal += measured?.roundMs ?? modelledRoundMs(ticket.checks, config, a);
        f.sendRequests += sendRequestsOf(
          siteIds.map((s) => BATCH_ENVELOPE_BYTES + (checksOf.get(s) ?? 0) * a.observationBytes),
        );
        for (const s of siteIds) f.batchesBySite.set(s, (f.batchesBySite.get(s) ?? 0) + 1);
      }
    }
    // A tick queues the next minute's tickets ten to a SendMessageBatch request.
    for (const n of perMinute.values()) f.roundQueueSends += Math.ceil(n / 10);
  }
  const scale = (n: number) => n * DAYS_PER_MONTH;
  return {
    rounds: scale(f.rounds),
    tickets: scale(f.tickets),
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

/** Record-swap records per hosted zone. */
function recordSwapCountsByZone(sites: readonly SiteConfig[]): Map<string, number> {
  const zones = new Map<string, number>();
  for (const r of sites.flatMap((s) => s.dns))
    if (r.strategy === 'record-swap') zones.set(r.hostedZoneId, (zones.get(r.hostedZoneId) ?? 0) + 1);
  return zones;
}

/** 1, 2.5: a mean count for a label. */
function quantityText(n: number): string {
  return String(Number(n.toFixed(2)));
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
