import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINK_HEALTH_METRIC } from '../../shared/config/data-plane.ts';
import { alwaysOnMetricCount, CUSTOM_METRICS, onEventMetricCount } from '../../shared/cost/custom-metrics.ts';
import { ATTEMPT_METRIC } from '../../functions/webhooks/deliver-records.ts';
import { REPO_ROOT } from '../support/cli.ts';

const SERVICE_OF_DIR: Record<string, string> = {
  probe: 'failover-probe',
  decide: 'failover-decide',
  dispatch: 'failover-dispatch',
  reconcile: 'failover-reconcile',
  'dns-writer': 'failover-dns-writer',
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
    for (const m of CUSTOM_METRICS.filter((m) => m.name !== LINK_HEALTH_METRIC)) {
      catalogue.set(m.service, (catalogue.get(m.service) ?? new Set()).add(m.name));
    }
    const published = publishedNames();
    for (const service of new Set([...catalogue.keys(), ...published.keys()])) {
      expect([...(catalogue.get(service) ?? [])].sort(), service).toEqual([...(published.get(service) ?? [])].sort());
    }
    // LinkHealth goes out by PutMetricData (CloudWatchLinkHealthSink), not EMF.
    expect(CUSTOM_METRICS.find((m) => m.name === LINK_HEALTH_METRIC)).toMatchObject({ service: 'failover-probe' });
  });

  it('has low-cardinality dimensions only: service, the probe region, or a data-plane site link', () => {
    const allowed = new Set(['service', 'Region', 'function_name', 'Site', 'Link']);
    for (const m of CUSTOM_METRICS) for (const d of m.dimensions) expect(allowed.has(d), `${m.name}: ${d}`).toBe(true);
  });

  it('counts the metrics published every hour: outcomes per region, latency, decisions, regions reporting, drift, link health', () => {
    expect(alwaysOnMetricCount(3, 0)).toBe(3 + 4);
    // Each probe region publishes its own LinkHealth of each data-plane link.
    expect(alwaysOnMetricCount(3, 2)).toBe(3 + 4 + 3 * 2);
    expect(alwaysOnMetricCount(1, 0)).toBe(1 + 4);
    // At most 10 every hour (the always-free tier) with three probe regions and no data-plane link.
    expect(alwaysOnMetricCount(3, 0)).toBeLessThanOrEqual(10);
    expect(onEventMetricCount()).toBe(CUSTOM_METRICS.filter((m) => m.publication === 'on-events').length);
  });
});
