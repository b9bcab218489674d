import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { failStart, logger, metrics } from '../shared/runtime.ts';
import type { ProbeRegionEvent, ProbeRegionOutput } from '../../shared/usecases/probe-region.ts';

/** What the EventBridge Scheduler sends: `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`. */
export interface ScheduledProbeEvent {
  readonly scheduledTime: string;
}

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

/** One structured log line per round, and an error line per round whose observations could not be handed on. */
export function roundReporter(region: string): (event: ProbeRegionEvent) => void {
  return (event) => {
    if (event.type === 'publish-failed') {
      logger.error('observations dropped', { region, roundId: event.roundId, error: event.error });
      return;
    }
    const { round } = event;
    const outcomes = { up: 0, degraded: 0, down: 0 };
    for (const o of round.observations) outcomes[o.outcome]++;
    logger.info('round', {
      region,
      roundId: round.roundId,
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
  };
}

/** EMF metrics of one invocation; flushed by the logMetrics middleware. */
export function recordResult(result: ProbeRegionOutput): void {
  metrics.addMetric('Rounds', MetricUnit.Count, result.rounds);
  metrics.addMetric('Observations', MetricUnit.Count, result.observations);
  metrics.addMetric('FailedPublishes', MetricUnit.Count, result.failedRounds.length);
}
