import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { FailoverConfig } from '../../shared/config/model.ts';
import {
  probeRound,
  scheduleRounds,
  type ProbeRegionEvent,
  type ProbeRoundDeps,
  type ProbeRoundOutput,
  type ScheduleRoundsDeps,
} from '../../shared/usecases/probe-region.ts';
import { failStart, logger, metrics } from '../shared/runtime.ts';
import { RoundTicketMessage } from '../../shared/adapters/aws/sqs-round-queue.ts';

/** What the EventBridge Scheduler sends: `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`. */
export interface ScheduledProbeEvent {
  readonly scheduledTime: string;
}

/** Either a tick of the schedule or a batch of round tickets from the round queue. */
export type ProbeEvent = ScheduledProbeEvent | SQSEvent;

/** What a tick answers: how many rounds were queued, and which were left out as already stale. */
export interface TickResult {
  readonly scheduled: number;
  readonly skipped: readonly string[];
}

/**
 * How far ahead a tick plans: the minute after the scheduled one. The Scheduler delivers a tick anywhere within its
 * minute (60-second precision), so planning the next minute keeps every round's delay positive and rounds on time.
 */
export const TICK_LEAD_MS = 60_000;
/** The window one tick plans. */
export const TICK_WINDOW_MS = 60_000;

/** The region this function probes from: it must be one of the configuration's probe regions. */
export function probeRegionOf(config: FailoverConfig, region: string | undefined): string {
  if (region && config.regions.probe.includes(region)) return region;
  throw failStart(`AWS_REGION "${region ?? ''}" is not a probe region (${config.regions.probe.join(', ')})`);
}

/** The schedule's minute: the scheduled time floored to the minute, in epoch milliseconds. */
export function windowStartOf(event: ScheduledProbeEvent): number {
  const ms = Date.parse(event.scheduledTime);
  if (!Number.isFinite(ms))
    throw new Error(`expected an ISO scheduledTime, got ${JSON.stringify(event.scheduledTime)}`);
  return Math.floor(ms / 60_000) * 60_000;
}

/** True for a batch from the round queue, false for a tick of the schedule. */
export function isQueueEvent(event: ProbeEvent): event is SQSEvent {
  return Array.isArray((event as Partial<SQSEvent>).Records);
}

/** A tick: queues a ticket per round of the minute after the scheduled one, each delayed until its round is due. */
export async function tick(deps: ScheduleRoundsDeps, region: string, event: ScheduledProbeEvent): Promise<TickResult> {
  const fromMs = windowStartOf(event) + TICK_LEAD_MS;
  const out = await scheduleRounds(deps, { region, fromMs, toMs: fromMs + TICK_WINDOW_MS });
  logger.info('rounds scheduled', {
    region,
    scheduledTime: event.scheduledTime,
    rounds: [...new Set(out.scheduled.map((t) => new Date(t.ticket.atMs).toISOString()))],
    tickets: out.scheduled.length,
    delaysMs: out.scheduled.map((t) => t.delayMs),
    skipped: out.skipped,
  });
  if (out.skipped.length > 0) metrics.addMetric('StaleRounds', MetricUnit.Count, out.skipped.length);
  return { scheduled: out.scheduled.length, skipped: out.skipped };
}

/**
 * A batch of round tickets: each round runs as soon as it arrives (concurrently when several do). Unreadable
 * tickets and tickets of another region are dropped with a log line; stale rounds are dropped by probeRound. Only a
 * ticket whose handling threw is reported as a failure, and the queue's redrive policy (one receive) moves it to the
 * dead-letter queue rather than retrying a round that would be late by then.
 */
export async function runTickets(
  deps: ProbeRoundDeps,
  region: string,
  records: readonly SQSRecord[],
): Promise<SQSBatchResponse> {
  const failures: SQSBatchItemFailure[] = [];
  const outputs: ProbeRoundOutput[] = [];
  await Promise.all(
    records.map(async (record) => {
      const parsed = RoundTicketMessage.safeParse(safeJson(record.body));
      if (!parsed.success || parsed.data.region !== region) {
        logger.error('round ticket dropped', {
          region,
          messageId: record.messageId,
          reason: parsed.success ? `ticket of ${parsed.data.region}` : 'unreadable',
        });
        return;
      }
      try {
        outputs.push(await probeRound(deps, parsed.data));
      } catch (error) {
        logger.error('round failed; its ticket goes to the dead-letter queue', {
          region,
          messageId: record.messageId,
          error,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  recordOutputs(outputs);
  return { batchItemFailures: failures };
}

/**
 * The probe function's own EMF metrics, published only when something went wrong: every metric name published in
 * an hour is billed for that hour, and outcomes and latency are published by the decider per region.
 */
export function recordOutputs(outputs: readonly ProbeRoundOutput[]): void {
  const failed = outputs.filter((o) => o.status === 'publish-failed').length;
  const stale = outputs.filter((o) => o.status === 'stale').length;
  const skipped = outputs.reduce((n, o) => n + o.skipped, 0);
  const healthFailed = outputs.filter((o) => o.healthFailed).length;
  if (failed > 0) metrics.addMetric('FailedPublishes', MetricUnit.Count, failed);
  if (healthFailed > 0) metrics.addMetric('FailedHealthPublishes', MetricUnit.Count, healthFailed);
  if (stale > 0) metrics.addMetric('StaleRounds', MetricUnit.Count, stale);
  if (skipped > 0) metrics.addMetric('SkippedChecks', MetricUnit.Count, skipped);
}

/** Flushes the metrics after the handler, when there are any (logMetrics would log a warning on every quiet run). */
export function publishMetricsIfAny(): MiddlewareObj {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/** One structured log line per round, and a line per round dropped or whose observations could not be handed on. */
export function roundReporter(region: string): (event: ProbeRegionEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'publish-failed':
        logger.error('observations dropped', { region, roundId: event.roundId, error: event.error });
        return;
      case 'health-publish-failed':
        logger.error('link health not published', { region, roundId: event.roundId, error: event.error });
        return;
      case 'stale':
        logger.warn('stale round dropped', {
          region,
          roundId: event.roundId,
          ...(event.shard !== undefined ? { shard: event.shard } : {}),
          lateMs: event.lateMs,
          staleAfterMs: event.staleAfterMs,
        });
        return;
      case 'unplanned':
        logger.warn('round not in the current plan dropped', {
          region,
          roundId: event.roundId,
          ...(event.shard !== undefined ? { shard: event.shard } : {}),
        });
        return;
      case 'round': {
        const { round } = event;
        const outcomes = { up: 0, degraded: 0, down: 0 };
        for (const o of round.observations) outcomes[o.outcome]++;
        logger.info('round', {
          region,
          roundId: round.roundId,
          ...(event.shard !== undefined ? { shard: event.shard, shards: event.shards } : {}),
          startedAt: round.startedAt,
          finishedAt: round.finishedAt,
          observations: round.observations.length,
          ...outcomes,
          skipped: round.skipped.length,
          control: round.control && {
            ok: round.control.ok,
            passed: round.control.passed,
            total: round.control.total,
            detail: round.control.detail,
          },
        });
      }
    }
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
