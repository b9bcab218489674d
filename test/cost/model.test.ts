import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { DEFAULT_ASSUMPTIONS } from '../../shared/cost/assumptions.ts';
import {
  estimateCost,
  monthlyBill,
  TARGET_PER_CHECK_USD,
  withSitesRepeated,
  type CostReport,
} from '../../shared/cost/model.ts';
import { PRICES } from '../../shared/cost/prices.ts';

/** One region, one site, three checks (HTTPS with a body assertion, TCP, DNS), every minute. */
function tinyConfig(): FailoverConfig {
  const { config, diagnostics } = parseConfig(`version: 1
regions: { probe: [eu-west-1], control: eu-west-1 }
probing: { concurrency: 8, jitterMs: 0 }
contacts:
  - { name: ops, email: ops@example.com, sms: '+15555550100' }
sites:
  - id: shop
    links:
      - { id: dsl, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: dsl, timeoutMs: 4000, http: { url: 'https://shop.example.com/', bodyContains: ok } }
      - { id: vpn, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
      - { id: resolver, link: dsl, dns: { server: 192.0.2.53, name: shop.example.com, type: A } }
`);
  expect(diagnostics).toEqual([]);
  return config!;
}

/** Round numbers, so that the expectations below can be worked out by hand. */
const ASSUMPTIONS = {
  probeMemoryMb: 1024,
  tickMs: 100,
  roundOverheadMs: 100,
  checkLatencyMs: 200,
  timedOutRoundShare: 0.5,
  controlMemoryMb: 512,
  decideBaseMs: 40,
  decidePerSiteMs: 10,
  idleReceivesPerMinute: 10,
  transitionsPerSiteMonth: 3,
  alertsPerTransition: 2,
  criticalAlertShare: 0.5,
  stateBaseBytes: 1000,
  stateBytesPerStreak: 10,
  observationBytes: 1000,
  historyKbPerTransition: 4,
};

const MINUTES = 730 * 60;
const line = (report: CostReport, service: string, item: string) => {
  const found = report.lines.find((l) => l.service === service && l.item.startsWith(item));
  expect(found, `${service}: ${item}`).toBeDefined();
  return found!;
};

describe('estimateCost', () => {
  const report = estimateCost({ config: tinyConfig(), assumptions: ASSUMPTIONS });

  it('counts the rounds, ticks and decisions of the plan', () => {
    expect(report.workload).toMatchObject({
      roundsPerMonth: MINUTES,
      ticksPerMonth: MINUTES,
      checkRunsPerMonth: 3 * MINUTES,
      decisionsPerMonth: MINUTES,
      // 100 overhead + 0 jitter + one wave of 200 + half the rounds wait 2 x 5,000 + 2,000 for a timing-out check.
      roundMs: 6300,
      roundMsSource: 'assumed',
      // Outcomes of the one region, latency, decisions, regions reporting, drift.
      customMetrics: 5,
      // Observations, webhooks and given-up invocations DLQs; actions given up; regions reporting; invalid messages
      // and the reconciler's three; the region's DLQ, FailedPublishes, SkippedChecks and StaleRounds.
      alarms: {
        deadLetterQueues: 3,
        dispatcher: 1,
        silentRegions: 1,
        controlPlane: 4,
        probeRegions: 4,
        linkAlarms: 0,
        total: 13,
      },
    });
  });

  it('prices Lambda: requests, and GB-seconds at the memory of each function', () => {
    expect(line(report, 'Lambda', 'probe ticks: requests').quantity).toBe(43_800);
    expect(line(report, 'Lambda', 'probe ticks: duration').quantity).toBeCloseTo(4380, 6);
    const rounds = line(report, 'Lambda', 'probe rounds: duration');
    expect(rounds.quantity).toBeCloseTo(275_940, 6);
    expect(rounds.monthlyUsd).toBeCloseTo(275_940 * 0.0000133334, 9);
    expect(rounds.fixed).toBe(false);
    expect(line(report, 'Lambda', 'decide: requests').quantity).toBe(43_800);
    // 43,800 invocations of one site: (40 + 10) ms at 0.5 GB.
    expect(line(report, 'Lambda', 'decide: duration').quantity).toBeCloseTo(1095, 6);
  });

  it('prices SQS per request: a FIFO send per round, a receive and a delete per decide batch, and the pollers', () => {
    expect(line(report, 'SQS', 'observation batches (FIFO)').quantity).toBe(3 * 43_800);
    expect(line(report, 'SQS', 'observation batches (FIFO)').unitUsd).toBe(0.5 / 1e6);
    expect(line(report, 'SQS', "pollers' long polls on the observations queue").quantity).toBe(10 * 43_800);
    expect(line(report, 'SQS', "pollers' long polls on 1 round queues").quantity).toBe(2 * 10 * 43_800);
    expect(line(report, 'SQS', 'round tickets').quantity).toBe(3 * 43_800);
  });

  it('prices DynamoDB from the write units of each state write and the history of transitions', () => {
    // State of 1,000 + 10 x 3 checks x 1 region = 1,030 bytes: 2 write units, 1 read unit; 3 transitions x (4 + 3).
    // Of the 43,800 decisions, stateWriteShare (0.52) write the state.
    const writes = 2 * 43_800 * DEFAULT_ASSUMPTIONS.stateWriteShare + 21;
    expect(line(report, 'DynamoDB', 'state writes').quantity).toBeCloseTo(writes, 6);
    expect(line(report, 'DynamoDB', 'state reads').quantity).toBe(43_800 + 6);
    expect(line(report, 'DynamoDB', 'state writes').monthlyUsd).toBeCloseTo((writes * 0.625) / 1e6, 12);
  });

  it('prices the check history: a 5-minute row update per decision, the folds, the reads and the rows kept', () => {
    // A 5-minute row of 3 checks: 100 + 3 x 80 = 340 bytes, one write unit, for each of the 43,800 decisions.
    expect(line(report, 'DynamoDB', 'check history: one 5-minute row').quantity).toBe(43_800);
    // Each of the 730 hours and 30.4 days: a folded row of 100 + 3 x 125 bytes (1 unit); a fold mark an hour.
    expect(line(report, 'DynamoDB', 'check history: hourly and daily').quantity).toBeCloseTo(730 + 730 / 24 + 730, 6);
    // A fold mark read every sweep (8,760), an hour's 12 rows (1 unit, halved: eventually consistent), a day's 24
    // (3 units, halved), and 10,000 API reads of 126 rows of about 420 bytes (13 units, halved).
    const reads = 8760 + 730 * 0.5 + (730 / 24) * 0.5 * 3 + 10_000 * 0.5 * 13;
    expect(line(report, 'DynamoDB', 'check history: fold and API reads').quantity).toBeCloseTo(reads, 6);
    const kept = 288 * 3 * 340 + (24 * 35 + 400) * 475;
    const storage = line(report, 'DynamoDB', 'storage (states, transitions, check history)');
    expect(storage.quantity).toBeCloseTo((1030 + kept + 3 * 4 * 1024 * 6) / 1024 ** 3, 12);
  });

  it('prices the Scheduler, SNS, CloudWatch and the fixed resources', () => {
    expect(line(report, 'EventBridge Scheduler', 'probe ticks').quantity).toBe(43_800 + 8760);
    expect(line(report, 'SNS', 'alert publishes').quantity).toBe(6);
    expect(line(report, 'SNS', 'alert emails').quantity).toBe(6);
    expect(line(report, 'SNS', 'critical alert SMS').quantity).toBe(3);
    expect(line(report, 'CloudWatch', 'custom metrics published every hour').monthlyUsd).toBeCloseTo(1.5, 12);
    expect(line(report, 'CloudWatch', 'alarm metrics').monthlyUsd).toBeCloseTo(1.3, 12);
    expect(line(report, 'CloudWatch', 'dashboard').monthlyUsd).toBe(3);
    expect(line(report, 'Secrets Manager', 'secrets').quantity).toBe(2);
    expect(line(report, 'KMS', 'customer-managed key').monthlyUsd).toBe(1);
    // No DNS record, no agent: no Route 53 or WebSocket line.
    expect(report.lines.filter((l) => l.service === 'Route 53' || l.item.includes('WebSocket'))).toEqual([]);
  });

  it('adds the lines up, per check and split into fixed and variable, and keeps the free tier apart', () => {
    const { totals } = report;
    const total = report.lines.filter((l) => l.counted).reduce((sum, l) => sum + l.monthlyUsd, 0);
    expect(totals.monthlyUsd).toBeCloseTo(total, 12);
    expect(totals.perCheckUsd).toBeCloseTo(total / 3, 12);
    expect(totals.fixedUsd + totals.variableUsd).toBeCloseTo(total, 12);
    expect(totals.freeTierUsd).toBeGreaterThan(0);
    expect(totals.afterFreeTierUsd).toBeCloseTo(total - totals.freeTierUsd, 12);
    for (const l of report.lines) expect(l.monthlyUsd).toBeCloseTo(l.quantity * l.unitUsd, 12);
  });

  it('lists every assumption with its value, and every price it used with its source and date', () => {
    expect(report.assumptions.find((a) => a.key === 'checkLatencyMs')).toMatchObject({ value: 200 });
    expect(report.assumptions.find((a) => a.key === 'tickMs')!.text).toMatch(/tick/);
    const used = new Set(report.lines.map((l) => l.price));
    expect(new Set(report.prices.map((p) => p.id))).toEqual(used);
    for (const p of report.prices) {
      expect(p.usd).toBe(PRICES[p.id].usd);
      expect(p.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(p.asOf).toMatch(/^2026/);
    }
  });

  it('uses measured round durations when given', () => {
    const measured = estimateCost({
      config: tinyConfig(),
      assumptions: ASSUMPTIONS,
      measured: { roundMs: 1000, rounds: 1, maxRoundMs: 1000 },
    });
    expect(measured.workload).toMatchObject({ roundMs: 1000, roundMsSource: 'measured', measuredRounds: 1 });
    expect(line(measured, 'Lambda', 'probe rounds: duration').quantity).toBeCloseTo(43_800, 6);
  });

  it('prices X-Ray only for the low-volume functions: the probe, decide and agent gateway functions are not traced', () => {
    const traced = report.lines.filter((l) => l.service === 'X-Ray');
    expect(traced.map((l) => l.item)).toEqual([
      'traces of the dispatch and webhook functions',
      'traces of the reconcile and API functions',
    ]);
    // 3 transitions x 2 dispatches; 8,760 reconcile sweeps and 10,000 API requests.
    expect(traced.map((l) => l.quantity)).toEqual([6, 8760 + 10_000]);
  });

  it('prices the same checks as Route 53 health checks and Synthetics canaries', () => {
    const { route53, synthetics } = report.alternatives;
    expect(route53).toMatchObject({ perCheckLowUsd: 0.75, perCheckHighUsd: 8.75, expressible: 2, notExpressible: 1 });
    // HTTPS + string matching + latency: 0.75 + 3 x 2; TCP + latency: 0.75 + 2; an alarm ($0.10) each.
    expect(route53.equivalentUsd).toBeCloseTo(6.85 + 2.85, 12);
    expect(route53.equivalentPerCheckUsd).toBeCloseTo((6.85 + 2.85) / 2, 12);
    // A canary per check in the one region, every minute.
    expect(synthetics.runsPerCheckMonth).toBe(43_800);
    expect(synthetics.perCheckUsd).toBeCloseTo(43_800 * 0.0012, 9);
    expect(synthetics.monthlyUsd).toBeCloseTo(3 * 43_800 * 0.0012, 9);
  });
});

describe('against the target of 5 cents per check', () => {
  const example = (file: string) => {
    const { config, diagnostics } = parseConfig(readFileSync(`examples/${file}`, 'utf8'));
    expect(diagnostics).toEqual([]);
    return config!;
  };

  it('repeats sites with new ids, their checks following them', () => {
    const config = tinyConfig();
    const tripled = withSitesRepeated(config, 3);
    expect(tripled.sites.map((s) => s.id)).toEqual(['shop', 'shop~2', 'shop~3']);
    for (const site of tripled.sites) for (const c of site.checks) expect(c.site).toBe(site.id);
    expect(estimateCost({ config: tripled, assumptions: ASSUMPTIONS }).configuration).toMatchObject({
      sites: 3,
      checks: 9,
    });
  });

  it('says what one more check adds: the bill of twice the sites less this one, per check added', () => {
    const config = tinyConfig();
    const one = estimateCost({ config, assumptions: ASSUMPTIONS });
    const two = estimateCost({ config: withSitesRepeated(config, 2), assumptions: ASSUMPTIONS });
    expect(one.totals.marginalPerCheckUsd).toBeCloseTo((two.totals.monthlyUsd - one.totals.monthlyUsd) / 3, 12);
    // Rounds, ticks and pollers do not grow with the sites: one more check costs less than the average variable part.
    expect(one.totals.marginalPerCheckUsd).toBeLessThan(one.totals.variablePerCheckUsd);
  });

  it('finds how many checks in sites like these bring the all-in list price under the target', () => {
    const config = example('cost-20-sites.yaml');
    const { totals } = estimateCost({ config });
    expect(totals.marginalPerCheckUsd).toBeLessThan(TARGET_PER_CHECK_USD);
    const needed = totals.checksForTarget!;
    expect(needed).toBeGreaterThan(100);
    // The straight line through 100 and 200 checks; the bill of that many checks (rounded up to whole copies of the
    // 20 sites) is under the target, the bill of half as many is not.
    const at = (checks: number) =>
      monthlyBill({ config: withSitesRepeated(config, Math.ceil(checks / 100)) }).totals.perCheckUsd;
    expect(at(needed)).toBeLessThan(TARGET_PER_CHECK_USD);
    expect(at(needed / 2)).toBeGreaterThan(TARGET_PER_CHECK_USD);
    // About 4,150 checks since round tickets are priced (3,565 on the line through 100 and 200 checks alone, where the
    // bill is still over): it plans the rounds of 840 and 420 sites besides estimateCost's 20, 40 and 720.
  }, 300_000);

  it('says never when one more check alone costs the target (a site with an agent and a gated record)', () => {
    const { totals } = estimateCost({ config: example('cost-1-site.yaml') });
    expect(totals.marginalPerCheckUsd).toBeGreaterThan(TARGET_PER_CHECK_USD);
    expect(totals.checksForTarget).toBeNull();
  });
});

describe('the data plane in the bill', () => {
  const example = (file: string) => parseConfig(readFileSync(`examples/${file}`, 'utf8')).config!;
  it('prices per data-plane site link: a health check and an alarm and a LinkHealth metric per region, one calculated check', () => {
    // cost-1-site.yaml: one health-check-gated record on a site whose primary and backup links are checked.
    const config = example('cost-1-site.yaml');
    const report = estimateCost({ config });
    const regions = config.regions.probe.length;
    expect(report.configuration).toMatchObject({ gatedRecords: 1, dataPlaneLinks: 2 });
    expect(line(report, 'Route 53', 'health checks of data-plane site links').quantity).toBe(2 * regions);
    expect(line(report, 'Route 53', 'calculated health checks').quantity).toBe(2);
    expect(line(report, 'CloudWatch', 'LinkHealth metrics').quantity).toBe(2 * regions);
    expect(line(report, 'CloudWatch', 'link alarms').quantity).toBe(2 * regions);
    expect(report.workload.alarms).toMatchObject({ linkAlarms: 2 * regions, probeRegions: 5 * regions });
    // One request per round and region (both links in it), a round a minute.
    expect(line(report, 'CloudWatch', 'PutMetricData of LinkHealth').quantity).toBe(regions * 43_800);
  });
});

/** Sites of two TCP checks each, every minute from one region, for the tests below; `extra` goes under `sites`. */
function configOf(yaml: string): FailoverConfig {
  const { config, diagnostics } = parseConfig(yaml);
  expect(diagnostics).toEqual([]);
  return config!;
}
const siteYaml = (id: string, n: number, dns = '') => `  - id: ${id}
    links:
      - { id: dsl, role: primary, address: 192.0.2.${n} }
      - { id: lte, role: backup, address: 198.51.100.${n} }
    checks:
      - { id: a, link: dsl, tcp: { host: 192.0.2.${n}, port: 443 } }
      - { id: b, link: lte, tcp: { host: 198.51.100.${n}, port: 443 } }
${dns}`;
const recordsYaml = (id: string, n: number, names: readonly string[]) =>
  '    dns:\n' +
  names
    .map(
      (name) => `      - zone: example.com
        hostedZoneId: Z0123456789ABC
        name: ${name}.${id}.example.com
        type: A
        values: { dsl: [192.0.2.${n}], lte: [198.51.100.${n}] }
`,
    )
    .join('');

describe('round tickets in the bill', () => {
  // Three sites of two checks and one control check; a ticket holds 3 checks: the control check and one site.
  const config = configOf(`version: 1
regions: { probe: [eu-west-1], control: eu-west-1 }
probing: { concurrency: 8, jitterMs: 0, maxChecksPerTicket: 3 }
controlChecks:
  - { id: ctl, tcp: { host: 192.0.2.250, port: 443 } }
sites:
${siteYaml('s1', 1)}${siteYaml('s2', 2)}${siteYaml('s3', 3)}`);
  const report = estimateCost({ config, assumptions: ASSUMPTIONS });

  it('runs each ticket as a probe invocation of its own, the control checks in every one', () => {
    expect(report.workload).toMatchObject({
      roundsPerMonth: MINUTES,
      ticketsPerMonth: 3 * MINUTES,
      ticketCapacity: 3,
      // 3 tickets of 3 checks: the control check runs three times a round.
      checkRunsPerMonth: 9 * MINUTES,
      decisionsPerMonth: 3 * MINUTES,
    });
    expect(line(report, 'Lambda', 'probe rounds: requests').quantity).toBe(3 * MINUTES);
    expect(line(report, 'Lambda', 'probe rounds: requests').item).toContain('at most 3 checks');
    // A ticket of 3 checks, one wave: 100 overhead + 200 + half the tickets wait 2 x 5,000 + 2,000 (the default
    // TCP timeout 5,000, confirm retry 2,000), at 1 GB.
    const ticketMs = 100 + 200 + 0.5 * (2 * 5000 + 2000);
    expect(line(report, 'Lambda', 'probe rounds: duration').quantity).toBeCloseTo((3 * MINUTES * ticketMs) / 1000, 6);
    // Each ticket's one site batch: one decide invocation, a FIFO send, a receive and a delete.
    expect(line(report, 'Lambda', 'decide: requests').quantity).toBe(3 * MINUTES);
    expect(line(report, 'SQS', 'observation batches (FIFO)').quantity).toBe(3 * 3 * MINUTES);
  });

  it('prices the ticket messages: the minute of 3 tickets sent in one batch request, each received and deleted', () => {
    const tickets = line(report, 'SQS', 'round tickets');
    expect(tickets.item).toBe('round tickets (3 a round): send (10 a request), receive, delete');
    expect(tickets.quantity).toBe(MINUTES + 2 * 3 * MINUTES);
    expect(tickets.monthlyUsd).toBeCloseTo(7 * MINUTES * 0.4e-6, 12);
  });

  it('splits the rounds of many sites into tickets, which the doubled bill of a small fleet does not show', () => {
    // One ticket a round holds every site of cost-20-sites.yaml until 768 checks; beyond, each round is split.
    const example = configOf(readFileSync('examples/cost-20-sites.yaml', 'utf8'));
    const one = monthlyBill({ config: withSitesRepeated(example, 1) });
    expect(one.workload.ticketsPerMonth).toBe(one.workload.roundsPerMonth);
    const eight = monthlyBill({ config: withSitesRepeated(example, 8) });
    // 800 site checks and 2 control checks: two tickets of 402 checks a round.
    expect(eight.workload.ticketsPerMonth).toBe(2 * eight.workload.roundsPerMonth);
    expect(eight.workload.checkRunsPerMonth).toBe(eight.workload.roundsPerMonth * 804);
  }, 120_000);
});

describe('the DNS writer in the bill', () => {
  // One site, two record-swap records in one zone; 3 transitions a month, half of them moving the active link.
  const config = configOf(`version: 1
regions: { probe: [eu-west-1], control: eu-west-1 }
probing: { concurrency: 8, jitterMs: 0 }
sites:
${siteYaml('shop', 1, recordsYaml('shop', 1, ['www', 'vpn']))}`);
  const report = estimateCost({ config, assumptions: { ...ASSUMPTIONS, linkChangeShare: 0.5, dnsWriterMs: 300 } });
  // 3 transitions x 0.5 x 2 records.
  const wanted = 3;
  const sweeps = 8760;

  it('prices a FIFO message, a writer invocation and a ChangeResourceRecordSets per wanted record state', () => {
    expect(report.workload).toMatchObject({ dnsChangesPerMonth: wanted, reconcilePagesPerMonth: sweeps });
    expect(line(report, 'SQS', 'DNS writer queue (FIFO)').quantity).toBe(3 * wanted);
    expect(line(report, 'SQS', 'DNS writer queue (FIFO)').unitUsd).toBe(0.5 / 1e6);
    expect(line(report, 'Lambda', 'DNS writer (one run per wanted record state): requests').quantity).toBe(wanted);
    // 300 ms at 512 MB.
    expect(line(report, 'Lambda', 'DNS writer (one run per wanted record state): duration').quantity).toBeCloseTo(
      wanted * 0.3 * 0.5,
      9,
    );
    // Its queue is polled like every queue with an event source, idle or not: beside the observations queue.
    expect(line(report, 'SQS', "pollers' long polls on the observations queue and the DNS writer queue").quantity).toBe(
      2 * 10 * MINUTES,
    );
    expect(report.workload.alarms).toMatchObject({ dnsWriter: 1, standby: 0 });
  });

  it("prices the token bucket: a consistent read and a put per Route 53 request, the writer's and the sweeps'", () => {
    // The writer's 3 changes; a page a sweep (2 records, the zone's NS and SOA), and a cursor save after it.
    expect(line(report, 'DynamoDB', 'Route 53 budget (token bucket) puts').quantity).toBe(wanted + 2 * sweeps);
    // A take's read each, and the cursor read once a sweep.
    expect(line(report, 'DynamoDB', 'Route 53 budget reads').quantity).toBe(wanted + 2 * sweeps);
    expect(report.notes.join(' ')).toContain('about 3 ChangeResourceRecordSets and 8,760 ListResourceRecordSets');
  });

  it('prices the reconcile sweep by the zone pages it reads, one a second, not by the records', () => {
    const duration = (pageMs: number) =>
      line(
        estimateCost({ config, assumptions: { ...ASSUMPTIONS, linkChangeShare: 0.5, reconcilePageMs: pageMs } }),
        'Lambda',
        'reconcile, API: duration',
      ).quantity;
    // One page a sweep (one zone of 2 records): 1 s more of a page adds 8,760 s a month at 512 MB.
    expect(duration(2000) - duration(1000)).toBeCloseTo(sweeps * 1 * 0.5, 6);
  });

  it('has no DNS writer line without record-swap records', () => {
    const none = estimateCost({ config: tinyConfig(), assumptions: ASSUMPTIONS });
    expect(none.lines.filter((l) => /^DNS writer|DNS writer queue|Route 53 budget/.test(l.item))).toEqual([]);
    expect(none.workload.dnsChangesPerMonth).toBe(0);
  });
});

describe('the standby control region in the bill', () => {
  const yaml = (control: string) => `version: 1
regions: { probe: [us-east-1], control: ${control} }
probing: { concurrency: 8, jitterMs: 0 }
sites:
${siteYaml('shop', 1, recordsYaml('shop', 1, ['www']))}`;
  const one = estimateCost({ config: configOf(yaml('us-west-2')), assumptions: ASSUMPTIONS });
  const two = estimateCost({
    config: configOf(yaml('[us-west-2, us-east-2], witness: us-east-1')),
    assumptions: ASSUMPTIONS,
  });
  const standby = (service: string, item: string) => line(two, service, `standby control region (us-east-2): ${item}`);

  it('runs a second decider on every batch, a second dispatcher on every write, a reconciler that defers', () => {
    expect(two.configuration).toMatchObject({ standbyRegion: 'us-east-2', witnessRegion: 'us-east-1' });
    expect(standby('Lambda', 'decide requests').quantity).toBe(line(one, 'Lambda', 'decide: requests').quantity);
    expect(standby('Lambda', 'decide duration').quantity).toBeCloseTo(
      line(one, 'Lambda', 'decide: duration').quantity,
      9,
    );
    // 3 transitions x 2 dispatches, each woken in both regions.
    expect(standby('Lambda', 'dispatch requests').quantity).toBe(6);
    // Every 5 minutes, 50 ms at 512 MB, reading the cursor the primary saved.
    expect(standby('Lambda', 'reconcile requests').quantity).toBe(8760);
    expect(standby('Lambda', 'reconcile duration').quantity).toBeCloseTo(8760 * 0.05 * 0.5, 9);
    expect(line(two, 'EventBridge Scheduler', 'probe ticks').quantity).toBe(43_800 + 2 * 8760);
    // Alerts and DNS changes are applied once, under the lease: not doubled.
    for (const [service, item] of [
      ['SNS', 'alert publishes'],
      ['SQS', 'DNS writer queue'],
      ['Lambda', 'DNS writer'],
    ] as const)
      expect(line(two, service, item).quantity).toBe(line(one, service, item).quantity);
  });

  it('sends every observation batch to both queues, and polls both regions FIFO queues', () => {
    const batches = line(one, 'SQS', 'observation batches (FIFO)').quantity;
    expect(standby('SQS', 'the same observation batches').quantity).toBe(batches);
    // Observations and DNS writer queues, in each region.
    expect(line(two, 'SQS', "pollers' long polls on the observations queue").quantity).toBe(4 * 10 * MINUTES);
  });

  it('bills every write again in the replica, the storage twice, and the replication transfer; not the witness', () => {
    const writeLines = two.lines.filter((l) => l.service === 'DynamoDB' && l.price === 'dynamoWriteUnit');
    const replicated = line(two, 'DynamoDB', 'global table: every write above billed again');
    const others = writeLines.filter((l) => l !== replicated);
    expect(replicated.quantity).toBeCloseTo(sum(others.map((l) => l.quantity)), 9);
    // The lease: each of the 6 dispatches takes and gives up, the other region's take is refused.
    expect(line(two, 'DynamoDB', 'dispatch leases').quantity).toBe(18);
    // The standby's decider reads the state of 1,000 + 10 x 2 checks x 1 region bytes (1 unit) every decision.
    expect(standby('DynamoDB', "its decider's consistent state reads").quantity).toBe(43_800);
    // Sent to the other replica and the witness, 1 KB a write unit at most.
    expect(line(two, 'Data transfer', 'global table replication').quantity).toBeCloseTo(
      (2 * replicated.quantity) / 1024 ** 2,
      12,
    );
    expect(line(two, 'Data transfer', 'global table replication').unitUsd).toBe(0.02);
    const storage = (r: CostReport) => line(r, 'DynamoDB', 'storage').quantity;
    expect(storage(two)).toBeCloseTo(2 * storage(one), 12);
  });

  it("prices the standby's alarms, its decider's metrics and its alert topics' key", () => {
    // Its 2 DLQs, dispatcher, silent regions, invalid messages, the reconciler's 3, the DNS writer's age.
    expect(two.workload.alarms.standby).toBe(9);
    expect(two.workload.alarms.total - one.workload.alarms.total).toBe(9);
    expect(line(two, 'CloudWatch', 'alarm metrics').quantity - line(one, 'CloudWatch', 'alarm metrics').quantity).toBe(
      9,
    );
    // ProbeOutcome of the one probe region, ProbeLatency, DecisionLatency, RegionsReporting.
    expect(standby('CloudWatch', "its decider's metrics").quantity).toBe(4);
    expect(line(two, 'KMS', 'customer-managed key').quantity).toBe(2);
    expect(two.totals.monthlyUsd).toBeGreaterThan(one.totals.monthlyUsd);
  });
});

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
