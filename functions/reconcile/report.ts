import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ReconcileDnsOutput } from '../../shared/usecases/reconcile-dns.ts';
import { logger, metrics } from '../shared/runtime.ts';

/** What the EventBridge Scheduler sends: `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`. */
export interface ScheduledReconcileEvent {
  readonly scheduledTime?: string;
}

/** One warning line per drifted record, a summary line, and the invocation's EMF metrics. */
export function reportReconciliation(output: ReconcileDnsOutput, event: ScheduledReconcileEvent): void {
  for (const d of output.drifted) {
    logger.warn('dns drift', { site: d.site, record: `${d.name} ${d.type}` });
  }
  for (const f of output.failed)
    logger.error('site not reconciled; the next run tries again', { site: f.site, error: f.error });
  logger.info('reconciled', {
    scheduledTime: event.scheduledTime,
    checked: output.checked,
    drifted: output.drifted.length,
    reapplied: output.reapplied,
    failed: output.failed.length,
  });
  // One metric every sweep, the failure counter only when not zero: CloudWatch bills a metric for every hour it is
  // published in. The other counts are in the `reconciled` line.
  metrics.addMetric('RecordsDrifted', MetricUnit.Count, output.drifted.length);
  if (output.failed.length > 0) metrics.addMetric('SitesNotReconciled', MetricUnit.Count, output.failed.length);
}
