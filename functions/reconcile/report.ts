import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ReconcileZonesOutput } from '../../shared/usecases/reconcile-zones.ts';
import { logger, metrics } from '../shared/runtime.ts';

/** What the EventBridge Scheduler sends: `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`. */
export interface ScheduledReconcileEvent {
  readonly scheduledTime?: string;
}

/** One warning line per drifted record, a summary line, and the invocation's EMF metrics. */
export function reportReconciliation(output: ReconcileZonesOutput, event: ScheduledReconcileEvent): void {
  for (const d of output.drifted) {
    logger.warn('dns drift', { site: d.site, record: `${d.name} ${d.type}` });
  }
  for (const f of output.failed)
    logger.error('site not reconciled; the next run tries again', { site: f.site, error: f.error });
  for (const f of output.failedZones)
    logger.error('zone listing failed; the next run resumes there', { hostedZoneId: f.hostedZoneId, error: f.error });
  logger.info('reconciled', {
    scheduledTime: event.scheduledTime,
    checked: output.checked,
    drifted: output.drifted.length,
    reapplied: output.reapplied,
    failed: output.failed.length,
    pages: output.pages,
    zonesCompleted: output.zonesCompleted,
    resumedFrom: output.resumedFrom,
    failedZones: output.failedZones.length,
  });
  // One metric every sweep, the failure counter only when not zero: CloudWatch bills a metric for every hour it is
  // published in. The other counts are in the `reconciled` line.
  metrics.addMetric('RecordsDrifted', MetricUnit.Count, output.drifted.length);
  if (output.failed.length > 0) metrics.addMetric('SitesNotReconciled', MetricUnit.Count, output.failed.length);
  if (output.failedZones.length > 0)
    metrics.addMetric('ZonesNotReconciled', MetricUnit.Count, output.failedZones.length);
}
