import type { FailoverConfig } from '../config/model.ts';
import type { Clock } from '../ports/clock.ts';
import type { ObservationSink } from '../ports/observation-sink.ts';
import { linkHealthOfRound, type LinkHealthSample } from '../probes/link-health.ts';
import { roundIdFor, runRound, toSiteBatches, type RoundResult } from '../probes/round.ts';
import { planRounds, planTickets, shardRound, ticketCapacityOf, type PlannedRound } from '../probes/schedule.ts';
import { regionVantage } from '../contracts/ids.ts';

/** The longest delay a round queue can hold a ticket for (SQS DelaySeconds is at most 900). */
export const MAX_TICKET_DELAY_MS = 900_000;

/**
 * One shard of a round a region owes: where, when and which shard. The checks are read from the plan when the
 * round runs.
 */
export interface RoundTicket {
  readonly region: string;
  /** The planned start, epoch milliseconds; the round id is derived from it. */
  readonly atMs: number;
  /** The shard of the round (planTickets); absent when the round is one ticket: the whole round. */
  readonly shard?: number;
  /** How many shards the round had when the ticket was queued. */
  readonly shards?: number;
}

/** A ticket and how long to hold it back before it is delivered. */
export interface DelayedTicket {
  readonly ticket: RoundTicket;
  readonly delayMs: number;
}

/** Holds each round's ticket until the round is due (an SQS queue with per-message delays in the cloud). */
export interface RoundQueue {
  /** Enqueues every ticket, each delivered no sooner than its delay; throws when they cannot all be enqueued. */
  enqueue(tickets: readonly DelayedTicket[]): Promise<void>;
}

/**
 * Where a probe region puts its own per-round health of the data-plane site links: CloudWatch in the region itself
 * in the cloud, so that DNS failover needs nothing of the control region (docs/dns.md).
 */
export interface LinkHealthSink {
  /** Publishes every sample; throws when they cannot all be published. */
  publish(samples: readonly LinkHealthSample[]): Promise<void>;
}

export type ProbeRegionEvent =
  | { readonly type: 'round'; readonly round: RoundResult; readonly shard?: number; readonly shards?: number }
  | { readonly type: 'publish-failed'; readonly roundId: string; readonly error: unknown }
  | { readonly type: 'health-publish-failed'; readonly roundId: string; readonly error: unknown }
  | {
      readonly type: 'stale';
      readonly roundId: string;
      readonly lateMs: number;
      readonly staleAfterMs: number;
      /** The ticket's shard, when a round ticket was dropped (not when a tick left a whole round out). */
      readonly shard?: number;
    }
  | { readonly type: 'unplanned'; readonly roundId: string; readonly shard?: number };

export interface ScheduleRoundsDeps {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  readonly queue: RoundQueue;
  /** Told about each round left out because it was already stale when planned. */
  readonly log?: (event: ProbeRegionEvent) => void;
}

export interface ScheduleRoundsInput {
  readonly region: string;
  /** The window whose rounds are scheduled: [fromMs, toMs). */
  readonly fromMs: number;
  readonly toMs: number;
}

export interface ScheduleRoundsOutput {
  readonly scheduled: readonly DelayedTicket[];
  /** Round ids already stale when planned (a tick delivered very late). */
  readonly skipped: readonly string[];
}

/**
 * The ticker: plans the region's rounds of a window with the one planner (planRounds), splits each into tickets of
 * at most `probing.maxChecksPerTicket` checks (shardRound), and queues them, held back until the round is due, so
 * that no invocation ever waits for a round and no invocation runs more than a ticket. A round already stale is
 * left out; a round due now or a little late is queued at once.
 */
export async function scheduleRounds(
  deps: ScheduleRoundsDeps,
  input: ScheduleRoundsInput,
): Promise<ScheduleRoundsOutput> {
  const now = deps.clock.now();
  const scheduled: DelayedTicket[] = [];
  const skipped: string[] = [];
  const capacity = ticketCapacityOf(deps.config);
  for (const round of planRounds(deps.config, input.region, input.fromMs, input.toMs)) {
    const lateMs = now - round.atMs;
    const staleAfterMs = staleAfterMsOf(deps.config, round);
    if (lateMs > staleAfterMs) {
      skipped.push(round.roundId);
      deps.log?.({ type: 'stale', roundId: round.roundId, lateMs, staleAfterMs });
      continue;
    }
    const delayMs = Math.max(0, round.atMs - now);
    if (delayMs > MAX_TICKET_DELAY_MS) {
      throw new RangeError(`round ${round.roundId} is ${delayMs} ms away; a ticket can wait ${MAX_TICKET_DELAY_MS} ms`);
    }
    // A round of one ticket is queued as rounds always were: a ticket without a shard runs the whole round.
    const tickets = shardRound(round, capacity);
    for (const { shard, shards } of tickets)
      scheduled.push({
        ticket: { region: input.region, atMs: round.atMs, ...(tickets.length > 1 ? { shard, shards } : {}) },
        delayMs,
      });
  }
  if (scheduled.length > 0) await deps.queue.enqueue(scheduled);
  return { scheduled, skipped };
}

export interface ProbeRoundDeps {
  readonly config: FailoverConfig;
  readonly sink: ObservationSink;
  readonly clock: Clock;
  /** Where the region's health of the data-plane links goes; none where no record is health-check-gated. */
  readonly health?: LinkHealthSink;
  /** Told about the round, and about a round dropped or whose observations could not be handed on. */
  readonly log?: (event: ProbeRegionEvent) => void;
}

export interface ProbeRoundOutput {
  readonly roundId: string;
  /**
   * `published`: run and handed on; `publish-failed`: run, observations dropped; `stale`: dropped unrun, too late;
   * `unplanned`: dropped unrun, the current plan has no round at that time (the configuration changed).
   */
  readonly status: 'published' | 'publish-failed' | 'stale' | 'unplanned';
  /** How late the round started (negative: early), in milliseconds. */
  readonly lateMs: number;
  readonly observations: number;
  /** Checks the round's budget (or an abort) kept from running: their vantage abstains on their paths. */
  readonly skipped: number;
  /** Site batches handed on. */
  readonly published: number;
  /** Link health samples published in the region (data plane); 0 when there were none or they were lost. */
  readonly healthSamples: number;
  /** True when the round had link health samples and they could not be published. */
  readonly healthFailed: boolean;
}

/**
 * Runs one round ticket at its time and hands its observations on. The checks come from the current plan, so a
 * ticket queued before a configuration change runs the new checks, or is dropped when the plan has no round (or
 * no such shard) then.
 * A round more than half its shortest site interval late is dropped unrun: the next round of those sites is nearer,
 * and a late round can never be retried into being on time. A round whose observations cannot be handed on is
 * reported: the decider sees the vantage as stale, never as a false verdict.
 */
export async function probeRound(deps: ProbeRoundDeps, ticket: RoundTicket): Promise<ProbeRoundOutput> {
  const roundId = roundIdFor(ticket.atMs);
  const lateMs = deps.clock.now() - ticket.atMs;
  const dropped = (status: 'stale' | 'unplanned') => ({
    roundId,
    status,
    lateMs,
    observations: 0,
    skipped: 0,
    published: 0,
    healthSamples: 0,
    healthFailed: false,
  });
  const planned = plannedChecksOf(deps.config, ticket);
  const shard = ticket.shard !== undefined ? { shard: ticket.shard } : {};
  if (!planned) {
    deps.log?.({ type: 'unplanned', roundId, ...shard });
    return dropped('unplanned');
  }
  const staleAfterMs = staleAfterMsOf(deps.config, planned);
  if (lateMs > staleAfterMs) {
    deps.log?.({ type: 'stale', roundId, lateMs, staleAfterMs, ...shard });
    return dropped('stale');
  }
  const round = await runRound({
    vantage: regionVantage(ticket.region),
    roundId: planned.roundId,
    checks: planned.checks,
    concurrency: deps.config.probing.concurrency,
    jitterMs: deps.config.probing.jitterMs,
    budgetMs: deps.config.probing.roundBudgetMs,
    clock: deps.clock,
  });
  deps.log?.({
    type: 'round',
    round,
    ...(ticket.shard !== undefined ? { shard: ticket.shard, shards: ticket.shards } : {}),
  });
  const batches = toSiteBatches(round);
  const observations = round.observations.length;
  const skipped = round.skipped.length;
  const samples = deps.health ? linkHealthOfRound(deps.config, round, ticket.atMs) : [];
  // The two go out side by side: the data plane's health must not wait on (or fail with) the control queue.
  const [sent, health] = await Promise.allSettled([
    deps.sink.publish(batches),
    samples.length > 0 ? deps.health!.publish(samples) : Promise.resolve(),
  ]);
  const healthFailed = health.status === 'rejected';
  if (health.status === 'rejected') deps.log?.({ type: 'health-publish-failed', roundId, error: health.reason });
  const healthSamples = healthFailed ? 0 : samples.length;
  if (sent.status === 'fulfilled')
    return {
      roundId,
      status: 'published',
      lateMs,
      observations,
      skipped,
      published: batches.length,
      healthSamples,
      healthFailed,
    };
  deps.log?.({ type: 'publish-failed', roundId, error: sent.reason });
  return {
    roundId,
    status: 'publish-failed',
    lateMs,
    observations,
    skipped,
    published: 0,
    healthSamples,
    healthFailed,
  };
}

/**
 * The checks a ticket runs: its shard of the round in the current plan, or the whole round for a ticket without a
 * shard (a round of one ticket, or queued before rounds were sharded). A configuration change between queueing and running may change the
 * shards: the ticket then runs the shard of its index (a site may run twice, and its second batch is dropped by the
 * queue's deduplication, or not at all that round); undefined when the plan has no such round or shard.
 */
function plannedChecksOf(config: FailoverConfig, ticket: RoundTicket): PlannedRound | undefined {
  if (ticket.shard === undefined) return planRounds(config, ticket.region, ticket.atMs, ticket.atMs + 1)[0];
  return planTickets(config, ticket.region, ticket.atMs, ticket.atMs + 1)[ticket.shard];
}

/** How late a round may start: half the shortest interval of the sites due in it. */
export function staleAfterMsOf(config: FailoverConfig, round: PlannedRound): number {
  const due = new Set(round.checks.map((c) => c.site));
  const intervals = config.sites.filter((s) => due.has(s.id)).map((s) => s.policy.intervalSeconds * 1000);
  return Math.min(...intervals, ...(intervals.length === 0 ? [60_000] : [])) / 2;
}
