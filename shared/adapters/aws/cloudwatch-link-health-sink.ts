import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { LINK_HEALTH_METRIC, LINK_HEALTH_NAMESPACE, linkHealthDimensions } from '../../config/data-plane.ts';
import type { LinkHealthSample } from '../../probes/link-health.ts';
import type { LinkHealthSink } from '../../usecases/probe-region.ts';
import { LinkHealthNotPublishedError } from './errors.ts';

/** PutMetricData takes at most 1,000 data points per request. */
export const MAX_DATUMS_PER_REQUEST = 1000;

export interface CloudWatchLinkHealthSinkOptions {
  /**
   * @default a client for the function's own region (the probe region: the alarms Route 53 reads are there), with
   * the SDK's standard retries and each request bounded, made once
   */
  readonly client?: CloudWatchClient;
}

/**
 * Puts each round's link health samples to CloudWatch in the probe region as the `Failover/LinkHealth` metric
 * (dimensions Site and Link, standard resolution, one data point per round stamped with the round's planned start),
 * 1,000 data points per request, requests side by side. Throws LinkHealthNotPublishedError naming how many were lost.
 */
export class CloudWatchLinkHealthSink implements LinkHealthSink {
  readonly #client: CloudWatchClient;

  constructor(options: CloudWatchLinkHealthSinkOptions = {}) {
    this.#client =
      options.client ??
      new CloudWatchClient({
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
      });
  }

  async publish(samples: readonly LinkHealthSample[]): Promise<void> {
    const requests: MetricDatum[][] = [];
    for (let i = 0; i < samples.length; i += MAX_DATUMS_PER_REQUEST) {
      requests.push(samples.slice(i, i + MAX_DATUMS_PER_REQUEST).map(toDatum));
    }
    const results = await Promise.allSettled(
      requests.map((MetricData) =>
        this.#client.send(new PutMetricDataCommand({ Namespace: LINK_HEALTH_NAMESPACE, MetricData })),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, reason: r.reason as unknown }] : []));
    if (failed.length === 0) return;
    const lost = failed.reduce((n, f) => n + requests[f.i]!.length, 0);
    const first = failed[0]!.reason;
    const why = first instanceof Error ? `${first.name}: ${first.message}` : String(first);
    throw new LinkHealthNotPublishedError(lost, samples.length, why, { cause: first });
  }
}

function toDatum(sample: LinkHealthSample): MetricDatum {
  return {
    MetricName: LINK_HEALTH_METRIC,
    Dimensions: Object.entries(linkHealthDimensions(sample.site, sample.link)).map(([Name, Value]) => ({
      Name,
      Value,
    })),
    Timestamp: new Date(sample.atMs),
    Value: sample.value,
    Unit: 'None',
  };
}
