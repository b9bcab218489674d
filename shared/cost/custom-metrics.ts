import { LINK_HEALTH_METRIC } from '../config/data-plane.ts';
import type { Outcome } from '../contracts/observation.ts';

/** The CloudWatch namespace of every custom metric of the system. */
export const METRIC_NAMESPACE = 'Failover';

/** The dimension naming the probe region of the decider's probe metrics. */
export const REGION_DIMENSION = 'Region';

/** The decider's metric of how many probe regions report on a site: the one metric of the silent-region alarm. */
export const REGIONS_REPORTING_METRIC = 'RegionsReporting';

/**
 * `ProbeOutcome` has one data point per observation, valued by outcome, so that one metric per region carries all
 * three counts: the trimmed-count statistics in OUTCOME_STATISTIC count each value, and SampleCount counts them all.
 */
export const PROBE_OUTCOME_VALUE: Readonly<Record<Outcome, number>> = { up: 1, degraded: 2, down: 3 };
export const OUTCOME_STATISTIC: Readonly<Record<Outcome, string>> = {
  up: 'TC(0.5:1.5)',
  degraded: 'TC(1.5:2.5)',
  down: 'TC(2.5:3.5)',
};

/**
 * When a metric is published, which decides what it costs: CloudWatch bills each metric name x dimension set for
 * the hours in which it was published, so a counter published only when it is not zero costs almost nothing.
 */
export type Publication =
  /** Every hour. */
  | 'always'
  /** Every hour, once per probe region (a Region dimension). */
  | 'per-probe-region'
  /** Every hour, once per data-plane site link in each probe region (Site and Link dimensions, in that region). */
  | 'per-data-plane-link-and-region'
  /** Only in hours when something happens (a transition, a dispatch, a failure, a cold start). */
  | 'on-events';

/** One custom metric (name x dimension set) and who publishes it. */
export interface CustomMetric {
  /** The publishing function's Powertools service name (the `service` dimension). */
  readonly service: string;
  readonly name: string;
  readonly dimensions: readonly string[];
  readonly publication: Publication;
  readonly meaning: string;
}

const metric = (
  service: string,
  name: string,
  publication: Publication,
  meaning: string,
  dimensions: readonly string[] = ['service'],
): CustomMetric => ({ service, name, dimensions, publication, meaning });

/**
 * Every custom metric the functions publish (EMF, or PutMetricData for LinkHealth). Issue 8 asks for probe
 * latency, outcomes, decisions and action latency; the rest are failure counters the alarms read, published only
 * when not zero. Lambda's, SQS's and DynamoDB's own metrics are free and not listed.
 */
export const CUSTOM_METRICS: readonly CustomMetric[] = [
  metric(
    'failover-decide',
    'ProbeOutcome',
    'per-probe-region',
    'one point per observation received (1 up, 2 degraded, 3 down); its SampleCount is the region heartbeat',
    ['service', REGION_DIMENSION],
  ),
  // Latency without the Region dimension: one metric instead of one per region; outcomes per region tell which
  // region sees trouble.
  metric('failover-decide', 'ProbeLatency', 'always', 'latency of each observation of the probe regions, ms'),
  metric(
    'failover-decide',
    'DecisionLatency',
    'always',
    'per decision, ms from the oldest round start; count = decisions',
  ),
  metric(
    'failover-decide',
    REGIONS_REPORTING_METRIC,
    'always',
    "per decision, the probe regions heard from on the site within its stale window; its Minimum is every region's heartbeat",
  ),
  metric('failover-decide', 'Transitions', 'on-events', 'transitions recorded'),
  metric('failover-decide', 'InvalidMessages', 'on-events', 'messages dropped as invalid'),
  metric('failover-decide', 'FailedSites', 'on-events', 'sites whose decision failed (messages retried)'),
  metric('failover-decide', 'HistoryWritesFailed', 'on-events', 'decisions whose rounds the check history misses'),
  metric('failover-probe', 'FailedPublishes', 'on-events', 'rounds whose observations could not be handed on'),
  metric('failover-probe', 'StaleRounds', 'on-events', 'rounds dropped unrun because they were late'),
  metric('failover-probe', 'SkippedChecks', 'on-events', "checks a round's budget kept from running"),
  metric('failover-probe', 'FailedHealthPublishes', 'on-events', 'rounds whose link health could not be put'),
  metric('failover-dispatch', 'ActionLatency', 'on-events', 'per applied action, ms from the decision'),
  metric('failover-dispatch', 'ActionsApplied', 'on-events', 'actions whose effect took place'),
  metric('failover-dispatch', 'ActionsSkipped', 'on-events', 'actions recorded without an effect'),
  metric('failover-dispatch', 'ActionsFailed', 'on-events', 'actions given up after their retries'),
  metric('failover-dispatch', 'FailedSites', 'on-events', 'sites whose dispatch threw'),
  metric('failover-dispatch', 'ColdStart', 'on-events', 'cold starts', ['service', 'function_name']),
  metric('failover-reconcile', 'RecordsDrifted', 'always', 'records answering other values, being set back'),
  metric('failover-reconcile', 'SitesNotReconciled', 'on-events', 'sites a sweep could not reconcile'),
  metric('failover-reconcile', 'ZonesNotReconciled', 'on-events', 'zones whose listing failed; the next sweep resumes'),
  metric('failover-dns-writer', 'DnsChangeLatency', 'on-events', 'per record written, ms from the decision'),
  metric('failover-dns-writer', 'DnsChangesWritten', 'on-events', 'wanted states written or superseded'),
  metric('failover-dns-writer', 'DnsWriteRequests', 'on-events', 'ChangeResourceRecordSets requests made'),
  metric('failover-dns-writer', 'DnsChangesPending', 'on-events', 'wanted states handed back to the queue'),
  metric('failover-dns-writer', 'DnsChangesRejected', 'on-events', 'wanted states Route 53 refused for good'),
  metric('failover-dns-writer', 'InvalidMessages', 'on-events', 'unreadable writer messages, dropped'),
  metric('failover-dns-writer', 'ColdStart', 'on-events', 'cold starts', ['service', 'function_name']),
  metric('failover-webhooks', 'WebhookDelivered', 'on-events', 'webhook attempts that succeeded'),
  metric('failover-webhooks', 'WebhookRetried', 'on-events', 'webhook attempts to be retried'),
  metric('failover-webhooks', 'WebhookGone', 'on-events', 'webhook subscriptions disabled by a 410'),
  metric('failover-webhooks', 'WebhookGivenUp', 'on-events', 'webhook deliveries given up'),
  metric('failover-webhooks', 'ColdStart', 'on-events', 'cold starts', ['service', 'function_name']),
  metric('failover-api', 'ColdStart', 'on-events', 'cold starts', ['service', 'function_name']),
  metric(
    'failover-probe',
    LINK_HEALTH_METRIC,
    'per-data-plane-link-and-region',
    "a probe region's word on a data-plane site link each round (1 healthy, 0 down), put in that region",
    ['Site', 'Link'],
  ),
];

/** How many metrics are published every hour for a configuration: what the custom-metric line of the bill counts. */
export function alwaysOnMetricCount(probeRegions: number, dataPlaneLinks: number): number {
  return CUSTOM_METRICS.reduce((n, m) => {
    if (m.publication === 'always') return n + 1;
    if (m.publication === 'per-probe-region') return n + probeRegions;
    if (m.publication === 'per-data-plane-link-and-region') return n + probeRegions * dataPlaneLinks;
    return n;
  }, 0);
}

/** How many metrics are published only in hours when something happens. */
export function onEventMetricCount(): number {
  return CUSTOM_METRICS.filter((m) => m.publication === 'on-events').length;
}
