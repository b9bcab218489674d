import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SiteConfig } from '../../shared/config/model.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import type { SiteState } from '../../shared/domain/model.ts';
import { staleAfterMs as staleAfterMsOf } from '../../shared/domain/write-policy.ts';
import { METRIC_NAMESPACE, PROBE_OUTCOME_VALUE, REGION_DIMENSION } from '../../shared/cost/custom-metrics.ts';
import { metrics as invocationMetrics } from '../shared/runtime.ts';
import { regionOfVantage, regionVantage } from '../../shared/contracts/ids.ts';

const byRegion = new Map<string, Metrics>();

function metricsOf(region: string): Metrics {
  let metrics = byRegion.get(region);
  if (!metrics) {
    metrics = new Metrics({ namespace: METRIC_NAMESPACE, defaultDimensions: { [REGION_DIMENSION]: region } });
    byRegion.set(region, metrics);
  }
  return metrics;
}

/**
 * The probe regions' outcomes and latencies, published where the observations arrive (the control region, where
 * alarms can read them): `ProbeOutcome` per region (one point per observation, valued 1 up, 2 degraded, 3 down), in
 * one EMF record per region, and `ProbeLatency` of all regions with the invocation's other metrics. Agents'
 * observations are left out: they are not a region.
 */
export function publishProbeMetrics(batches: readonly ObservationBatch[]): void {
  const touched = new Set<Metrics>();
  for (const batch of batches) {
    const region = regionOfVantage(batch.vantage);
    if (!region || batch.observations.length === 0) continue;
    const metrics = metricsOf(region);
    for (const o of batch.observations) {
      metrics.addMetric('ProbeOutcome', MetricUnit.NoUnit, PROBE_OUTCOME_VALUE[o.outcome]);
      if (o.latencyMs !== null) invocationMetrics.addMetric('ProbeLatency', MetricUnit.Milliseconds, o.latencyMs);
    }
    touched.add(metrics);
  }
  for (const metrics of touched) metrics.publishStoredMetrics();
}

/**
 * How many of the configured probe regions have reported on `site` within its stale window (the 2.5 intervals after
 * which the engine lets a vantage abstain) at `now`, from the state as committed. Undefined until every region has
 * been heard from for the site once, so that a new site or the first rounds after a deployment do not read as a
 * silent region; a region never heard from at all leaves every site undefined, and the alarm breaches on no data.
 */
export function regionsReporting(
  site: SiteConfig,
  state: SiteState,
  regions: readonly string[],
  now: number,
): number | undefined {
  const staleAfterMs = staleAfterMsOf(site.policy);
  let reporting = 0;
  for (const region of regions) {
    const vantage = state.vantages[regionVantage(region)];
    if (!vantage) return undefined;
    if (now - vantage.lastAt <= staleAfterMs) reporting++;
  }
  return reporting;
}
