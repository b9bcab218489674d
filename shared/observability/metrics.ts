import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observation } from '../contracts/observation.ts';

/** Seconds: from 5 ms to 10 s, the span of a check's latency from a probe region or a site. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A registry with the process metrics of prom-client (`process_*`, `nodejs_*`). */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Per (site, check, link, vantage): `failover_check_up` (1 when the last result was up or degraded, 0 when down),
 * `failover_check_degraded` (1 when degraded) and `failover_check_latency_seconds` (a histogram of answered checks).
 */
export class CheckMetrics {
  readonly #up: Gauge;
  readonly #degraded: Gauge;
  readonly #latency: Histogram;

  constructor(registry: Registry) {
    const labelNames = ['site', 'check', 'link', 'vantage'] as const;
    this.#up = new Gauge({
      name: 'failover_check_up',
      help: "1 when the check's last result was up or degraded, 0 when it was down",
      labelNames,
      registers: [registry],
    });
    this.#degraded = new Gauge({
      name: 'failover_check_degraded',
      help: "1 when the check's last result was degraded (reachable, over a budget)",
      labelNames,
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'failover_check_latency_seconds',
      help: "The check's latency (time to the protocol's answer) when it had one",
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  observe(o: Observation): void {
    const labels = { site: o.site, check: o.check, link: o.link ?? '', vantage: o.vantage };
    this.#up.set(labels, o.outcome === 'down' ? 0 : 1);
    this.#degraded.set(labels, o.outcome === 'degraded' ? 1 : 0);
    if (o.latencyMs !== null) this.#latency.observe(labels, o.latencyMs / 1000);
  }
}

export { Counter, Gauge, Histogram, Registry };
