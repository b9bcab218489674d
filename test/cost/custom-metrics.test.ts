import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRIMARY_ACTIVE_METRIC_NAME } from '../../shared/adapters/aws/metric-dns-router.ts';
import { alwaysOnMetricCount, CUSTOM_METRICS, onEventMetricCount } from '../../shared/cost/custom-metrics.ts';
import { ATTEMPT_METRIC } from '../../functions/webhooks/deliver-records.ts';
import { REPO_ROOT } from '../support/cli.ts';

const SERVICE_OF_DIR: Record<string, string> = {
  probe: 'failover-probe',
  decide: 'failover-decide',
  dispatch: 'failover-dispatch',
  reconcile: 'failover-reconcile',
  webhooks: 'failover-webhooks',
  api: 'failover-api',
};

/** Metric names each function's sources publish: literal addMetric calls, ColdStart where captured. */
function publishedNames(): Map<string, Set<string>> {
  const byService = new Map<string, Set<string>>();
  for (const [dir, service] of Object.entries(SERVICE_OF_DIR)) {
    const names = new Set<string>();
    const base = join(REPO_ROOT, 'functions', dir);
    for (const file of readdirSync(base).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(base, file), 'utf8');
      for (const m of text.matchAll(/addMetric\('(\w+)'/g)) names.add(m[1]!);
      if (text.includes('captureColdStartMetric: true')) names.add('ColdStart');
    }
    byService.set(service, names);
  }
  // Names that are not literals at the call: the decider's counters and the webhook worker's attempt outcomes.
  for (const name of ['Transitions', 'InvalidMessages', 'FailedSites']) byService.get('failover-decide')!.add(name);
  for (const name of Object.values(ATTEMPT_METRIC)) byService.get('failover-webhooks')!.add(name);
  return byService;
}

describe('the custom metrics catalogue', () => {
  it('lists exactly what the functions publish, per service', () => {
    const catalogue = new Map<string, Set<string>>();
    for (const m of CUSTOM_METRICS.filter((m) => m.name !== PRIMARY_ACTIVE_METRIC_NAME)) {
      catalogue.set(m.service, (catalogue.get(m.service) ?? new Set()).add(m.name));
    }
    const published = publishedNames();
    for (const service of new Set([...catalogue.keys(), ...published.keys()])) {
      expect([...(catalogue.get(service) ?? [])].sort(), service).toEqual([...(published.get(service) ?? [])].sort());
    }
    expect(CUSTOM_METRICS.some((m) => m.name === PRIMARY_ACTIVE_METRIC_NAME)).toBe(true);
  });

  it('has low-cardinality dimensions only: service, the probe region, or a gated record', () => {
    const allowed = new Set(['service', 'Region', 'function_name', 'Site', 'Record']);
    for (const m of CUSTOM_METRICS) for (const d of m.dimensions) expect(allowed.has(d), `${m.name}: ${d}`).toBe(true);
  });

  it('counts the metrics published every hour: outcomes per region, latency, decisions, regions reporting, drift, gated records', () => {
    expect(alwaysOnMetricCount(3, 0)).toBe(3 + 4);
    expect(alwaysOnMetricCount(3, 2)).toBe(3 + 4 + 2);
    expect(alwaysOnMetricCount(1, 0)).toBe(1 + 4);
    // At most 10 every hour (the always-free tier) with three probe regions and up to three gated records.
    expect(alwaysOnMetricCount(3, 3)).toBeLessThanOrEqual(10);
    expect(onEventMetricCount()).toBe(CUSTOM_METRICS.filter((m) => m.publication === 'on-events').length);
  });
});
