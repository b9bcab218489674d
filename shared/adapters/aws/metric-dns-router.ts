import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { DnsAction } from '../../domain/model.ts';
import { FailoverError } from '../../errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';
import { normalizeDnsName } from '../../domain/dns-values.ts';
import { mapAwsError } from './route53-dns-router.ts';

/** Namespace of the metric behind the Route 53 health check of a health-check-gated record. */
export const PRIMARY_ACTIVE_NAMESPACE = 'Failover';
/** 1 while the site's primary link should answer, 0 while the backup should. */
export const PRIMARY_ACTIVE_METRIC_NAME = 'PrimaryActive';

/**
 * The alarm the CDK stack puts on the metric (the health check is unhealthy while it is in ALARM): ALARM as soon as
 * a minute holds a 0; missing data keeps the last state, so a pause in publishing never moves traffic.
 */
export const PRIMARY_ACTIVE_ALARM = {
  statistic: 'Minimum',
  periodSeconds: 60,
  evaluationPeriods: 1,
  threshold: 1,
  comparisonOperator: 'LessThanThreshold',
  treatMissingData: 'ignore',
} as const;

/** The metric of one managed record, shaped like the props of CDK's `cloudwatch.Metric`. */
export interface PrimaryActiveMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensionsMap: { readonly Site: string; readonly Record: string };
}

/**
 * The metric that gates `record` of `site`: dimensions Site and Record (`<name>/<type>`, the name in lower case
 * without a trailing dot). The CDK stack builds its alarm from this very function.
 */
export function primaryActiveMetric(
  site: string,
  record: { readonly name: string; readonly type: string },
): PrimaryActiveMetric {
  return {
    namespace: PRIMARY_ACTIVE_NAMESPACE,
    metricName: PRIMARY_ACTIVE_METRIC_NAME,
    dimensionsMap: { Site: site, Record: `${normalizeDnsName(record.name)}/${record.type}` },
  };
}

/** Site id -> its primary link id, from the configuration's sites. */
export function primaryLinksOf(
  sites: readonly { readonly id: string; readonly links: readonly { readonly id: string; readonly role: string }[] }[],
): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const site of sites) {
    const primary = site.links.find((l) => l.role === 'primary');
    if (primary) map.set(site.id, primary.id);
  }
  return map;
}

export interface MetricDnsRouterOptions {
  /** Which link is the primary of each site (the action only names the link to use). See primaryLinksOf. */
  readonly primaryLinks: ReadonlyMap<string, string> | ((site: string) => string | undefined);
  /** @default a CloudWatchClient for the function's own region with the SDK's retries off, made once */
  readonly client?: CloudWatchClient;
  /** Timestamps the data points. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Route 53 data plane: PRIMARY/SECONDARY failover records (made by the CDK stack) answer by a health check on a
 * CloudWatch alarm over the PrimaryActive metric, and this router only publishes that metric: 1 when the action
 * points at the site's primary link, 0 otherwise. No control-plane call on the failover path. It cannot read the
 * answer back (read() is undefined): reconciliation re-publishes the desired state.
 */
export class MetricDnsRouter implements DnsRouter {
  readonly #client: CloudWatchClient;
  readonly #primaryOf: (site: string) => string | undefined;
  readonly #clock: Clock;

  constructor(options: MetricDnsRouterOptions) {
    // The dispatcher retries TransientError itself, with exponential backoff and full jitter.
    this.#client = options.client ?? new CloudWatchClient({ maxAttempts: 1 });
    const links = options.primaryLinks;
    this.#primaryOf = typeof links === 'function' ? links : (site) => links.get(site);
    this.#clock = options.clock ?? systemClock;
  }

  async apply(action: DnsAction): Promise<DnsApplyResult> {
    const primary = this.#primaryOf(action.site);
    if (primary === undefined) {
      throw new FailoverError('DNS_PRIMARY_UNKNOWN', `no primary link is known for site ${action.site}`);
    }
    const value = action.link === primary ? 1 : 0;
    const metric = primaryActiveMetric(action.site, action);
    try {
      await this.#client.send(
        new PutMetricDataCommand({
          Namespace: metric.namespace,
          MetricData: [
            {
              MetricName: metric.metricName,
              Dimensions: Object.entries(metric.dimensionsMap).map(([Name, Value]) => ({ Name, Value })),
              Timestamp: new Date(this.#clock.now()),
              Value: value,
              Unit: 'None',
            },
          ],
        }),
      );
    } catch (error) {
      throw mapAwsError(
        error,
        `CloudWatch PutMetricData of ${metric.namespace}/${metric.metricName} for ${action.site}`,
      );
    }
    const answer = value === 1 ? 'the primary (health check healthy)' : 'the backup (health check unhealthy)';
    return {
      detail: `${metric.metricName}=${value} for ${metric.dimensionsMap.Record} of site ${action.site} (link ${action.link}): Route 53 answers ${answer} once the alarm evaluates`,
    };
  }

  async read(_record: DnsRecordRef): Promise<undefined> {
    return undefined;
  }
}
