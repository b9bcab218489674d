// bench:fleet — a generated fleet of 5,000 sites (2 links and 2 checks each, one record-swap record in one of 4
// hosted zones, 3 probe regions; test/support/fleet-config.ts) through what issue 14 asks of it:
//  1. the configuration the functions carry: its size, and what a define of it would do to the esbuild command line;
//  2. the real app synthesized from it (bundling and cdk-nag included): time, stacks and resources, asset sizes;
//  3. the round plan: the largest invocation before (one ticket per round) and after sharding (planTickets);
//  4. the time to hand one round's batches to the observations queue (a loopback SQS stand-in with a round trip time,
//     bench/loopback-sqs.ts), one request after another (before) and 10 at a time (after), whole round and largest
//     ticket;
//  5. every handler's cold import with that configuration: the sources of BENCH_FLEET_BEFORE with the old format
//     inlined as a define (what NodejsFunction would have built, had the command line held it) against these sources
//     reading the compact file, and the same build with examples/sites.yaml as the floor;
//  6. the DNS writer's simulation (bench/dns-writer.ts): 500 simultaneous failovers against a 5 requests/s bucket.
// Runs are interleaved, BENCH_RUNS (>= 5) each; min / median / max. Targets: synth succeeds, no ticket over the
// capacity, median cold import < 150 ms CPU per handler.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { SqsObservationSink } from '../shared/adapters/aws/sqs-observation-sink.ts';
import {
  CONFIG_DEFINE,
  CONFIG_FILE,
  CONFIG_VARIABLE,
  configSliceOf,
  LAMBDA_ENTRIES,
} from '../infra/constructs/lambda-bundling.ts';
import { bundledConfigJson } from '../shared/config/bundled.ts';
import { addFailoverStacks } from '../infra/stacks/failover-app.ts';
import { DEFAULT_CONFIG_FILE } from '../infra/config.ts';
import { configJsonOf } from '../shared/config/load.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import { simulateBaseline, simulateDnsWriter, type DnsSimulationResult } from './dns-writer.ts';
import type { Observation, ObservationBatch } from '../shared/contracts/observation.ts';
import { planRounds, planTickets, ticketCapacityOf } from '../shared/probes/schedule.ts';
import { fleetConfigYaml } from '../test/support/fleet-config.ts';
import { bundleHandler, checkout, coldImport, handlerEnv, REPO, spread, stats } from './cold-import.ts';
import { startLoopbackSqs } from './loopback-sqs.ts';

const SITES = Number(process.env.BENCH_FLEET_SITES ?? 5000);
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const RTT_MS = Number(process.env.BENCH_FLEET_RTT_MS ?? 70);
const CONCURRENCY = 10;
// The last commit whose functions had the configuration inlined by an esbuild define, in the first JSON format.
const BEFORE = process.env.BENCH_FLEET_BEFORE ?? '0a4b0b0';
const TARGET_IMPORT_MS = 150;
const HANDLERS = (Object.keys(LAMBDA_ENTRIES) as (keyof typeof LAMBDA_ENTRIES)[]).filter((h) => h !== 'web');
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const misses: string[] = [];
// BENCH_FLEET_SECTIONS (e.g. `5`, or `2,5`): the sections to run besides the first, which every other needs.
const SECTIONS = process.env.BENCH_FLEET_SECTIONS?.split(',').map(Number);
const runs = (section: number) => SECTIONS === undefined || SECTIONS.includes(section);

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    console.log(`  ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`);
}

/** 1. The configuration as the functions carry it, and the command line a define of it would need. */
function configSection(yaml: string): { config: FailoverConfig; json: string; oldJson: string } {
  const started = performance.now();
  const { config, json } = configJsonOf(yaml);
  const validateMs = performance.now() - started;
  const oldJson = JSON.stringify({ format: 'failover-config/resolved-1', config });
  console.log(
    `\n1. configuration: ${config.sites.length} sites, ${kb(yaml.length)} of YAML, validated in ${validateMs.toFixed(0)} ms`,
  );
  console.log(
    `  the functions' file (compact, ${CONFIG_FILE}): ${kb(json.length)}; the resolved model written whole (before): ${kb(oldJson.length)} (compact/whole ${(json.length / oldJson.length).toFixed(2)})`,
  );
  // What NodejsFunction did before: one `--define:` argument with the JSON text. Linux caps an argument at 128 KiB.
  const arg = `--define:${CONFIG_VARIABLE}=${JSON.stringify(oldJson)}`;
  const spawned = spawnSync(process.execPath, ['-e', '0', arg]);
  const code = (spawned.error as NodeJS.ErrnoException | undefined)?.code ?? `exit ${spawned.status}`;
  console.log(`  before: the define as one esbuild argument of ${kb(arg.length)}: spawning it fails with ${code}`);
  return { config, json, oldJson };
}

/** 2. The real app from the generated file: bundling, cdk-nag, every stack. */
async function synthSection(configFile: string, work: string): Promise<void> {
  const outdir = join(work, 'cdk.out');
  const started = performance.now();
  const app = new App({ outdir, context: { config: configFile } });
  addFailoverStacks(app);
  const assembly = app.synth();
  const ms = performance.now() - started;
  const counts = assembly.stacks.map((s) => ({
    name: s.stackName,
    resources: Object.keys((s.template as { Resources?: object }).Resources ?? {}).length,
  }));
  const largest = counts.reduce((a, b) => (b.resources > a.resources ? b : a));
  const total = counts.reduce((n, s) => n + s.resources, 0);
  console.log(`\n2. synth: succeeded in ${(ms / 1000).toFixed(1)} s (validation, bundling of every function, cdk-nag)`);
  console.log(
    `  ${counts.length} templates, ${total} resources; the largest ${largest.name} with ${largest.resources} (CloudFormation allows 500)`,
  );
  if (largest.resources > 500) misses.push(`${largest.name}: ${largest.resources} resources`);
  const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.') && statSync(join(outdir, d)).isDirectory());
  const bundles = assets.map((d) => statSync(join(outdir, d, 'index.mjs')).size);
  const configs = assets.flatMap((d) => {
    try {
      const text = readFileSync(join(outdir, d, CONFIG_FILE), 'utf8');
      return [`${kb(text.length)} (${(JSON.parse(text) as { index: { slice: string } }).index.slice})`];
    } catch {
      return [];
    }
  });
  const counted = [...new Set(configs)].map((c) => `${configs.filter((x) => x === c).length} of ${c}`);
  console.log(
    `  ${assets.length} function assets: index.mjs ${kb(Math.min(...bundles))} to ${kb(Math.max(...bundles))}; ${configs.length} with ${CONFIG_FILE}: ${counted.join(', ')}`,
  );
}

/** 3. The largest invocation of each region's plan, before and after sharding. */
function planSection(config: FailoverConfig): void {
  const minute = Date.UTC(2026, 11, 1, 12, 0, 0);
  console.log(
    `\n3. round plan of one minute (ticket capacity ${ticketCapacityOf(config)} checks, control checks included)`,
  );
  const rows = [['region', 'rounds', 'largest round (before)', 'tickets', 'largest ticket (after)', 'smallest']];
  for (const region of config.regions.probe) {
    const rounds = planRounds(config, region, minute, minute + 60_000);
    const tickets = planTickets(config, region, minute, minute + 60_000);
    const sizes = tickets.map((t) => t.checks.length);
    rows.push([
      region,
      String(rounds.length),
      String(Math.max(...rounds.map((r) => r.checks.length))),
      String(tickets.length),
      String(Math.max(...sizes)),
      String(Math.min(...sizes)),
    ]);
    if (Math.max(...sizes) > ticketCapacityOf(config)) misses.push(`${region}: a ticket over the capacity`);
  }
  table(rows);
}

/** A round's batch of one site as the probe function sends it: two observations, an HTTP and a TCP check. */
function batchOf(site: string, roundId: string): ObservationBatch {
  const observation = (check: string, link: string, kind: 'http' | 'tcp'): Observation => ({
    v: 1,
    site,
    check,
    link,
    dependency: null,
    kind,
    vantage: 'region:us-east-1',
    roundId,
    outcome: 'up',
    latencyMs: 48,
    timings: kind === 'http' ? { dnsMs: 0, connectMs: 21, tlsMs: 24, firstByteMs: 46, totalMs: 48 } : { connectMs: 21 },
    errorClass: null,
    detail: kind === 'http' ? 'HTTP 200 in 48 ms' : 'connected in 21 ms',
    fields: kind === 'http' ? { status: 200, daysToExpiry: 61 } : {},
    at: roundId,
    attempts: [{ at: roundId, outcome: 'up', latencyMs: 48, errorClass: null, detail: 'HTTP 200 in 48 ms' }],
  });
  return {
    v: 1,
    site,
    vantage: 'region:us-east-1',
    roundId,
    startedAt: roundId,
    control: { ok: true, passed: 3, total: 3, detail: '3/3 control checks passed' },
    observations: [observation('web-fiber', 'fiber', 'http'), observation('vpn-lte', 'lte', 'tcp')],
  };
}

/** 4. One round's batches to the observations queue: before (one request after another) and after (10 at once). */
async function publishSection(config: FailoverConfig): Promise<void> {
  const sqs = await startLoopbackSqs(RTT_MS);
  try {
    const client = new SQSClient({
      region: 'us-east-1',
      endpoint: sqs.endpoint,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    const minute = Date.UTC(2026, 11, 1, 12, 0, 0);
    const tickets = planTickets(config, 'us-east-1', minute, minute + 60_000);
    const sitesOf = (checks: readonly { site: string | null }[]) => [
      ...new Set(checks.flatMap((c) => (c.site === null ? [] : [c.site]))),
    ];
    const largest = tickets.reduce((a, b) => (b.checks.length > a.checks.length ? b : a));
    const cases: Record<string, { sites: string[]; concurrency: number }> = {
      'whole round, 1 at a time (before)': { sites: sitesOf(tickets.flatMap((t) => t.checks)), concurrency: 1 },
      [`whole round, ${CONCURRENCY} at a time`]: {
        sites: sitesOf(tickets.flatMap((t) => t.checks)),
        concurrency: CONCURRENCY,
      },
      [`largest ticket, ${CONCURRENCY} at a time (after)`]: {
        sites: sitesOf(largest.checks),
        concurrency: CONCURRENCY,
      },
    };
    const times = new Map<string, number[]>();
    const inFlight = new Map<string, number>();
    for (let run = 0; run < RUNS; run++) {
      const names = Object.keys(cases);
      for (const name of run % 2 === 0 ? names : names.reverse()) {
        const { sites, concurrency } = cases[name]!;
        const roundId = new Date(minute + run * 60_000).toISOString();
        const batches = sites.map((s) => batchOf(s, roundId));
        sqs.reset();
        const sink = new SqsObservationSink({ queueUrl: sqs.queueUrl, client, concurrency });
        const started = performance.now();
        await sink.publish(batches);
        times.set(name, [...(times.get(name) ?? []), performance.now() - started]);
        inFlight.set(name, sqs.maxInFlight);
        if (sqs.accepted !== batches.length || sqs.violations.length > 0 || sqs.duplicates > 0)
          misses.push(`${name}: ${sqs.accepted}/${batches.length} accepted, ${sqs.violations.join('; ')}`);
      }
    }
    const bytes = JSON.stringify(batchOf('store-00001', new Date(minute).toISOString())).length;
    console.log(
      `\n4. publishing a round of us-east-1 (${RTT_MS} ms round trip per request; batches of about ${bytes} bytes, 10 a request)`,
    );
    const before = stats(times.get('whole round, 1 at a time (before)')!).median;
    const rows = [['case', 'sites', 'requests in flight', 'ms (min / median / max)', 'median / before']];
    for (const [name, { sites }] of Object.entries(cases)) {
      const s = stats(times.get(name)!);
      rows.push([name, String(sites.length), String(inFlight.get(name)), spread(s), (s.median / before).toFixed(3)]);
    }
    table(rows);
    console.log(`  every case: every batch accepted once, no request over SQS's limits`);
  } finally {
    await sqs.close();
  }
}

/** 5. Every handler's cold import with the fleet's configuration, before and after, and with the example's. */
async function coldSection(config: FailoverConfig, oldJson: string, work: string): Promise<void> {
  const src = join(work, 'src-before');
  checkout(BEFORE, src);
  const example = configJsonOf(readFileSync(join(REPO, DEFAULT_CONFIG_FILE), 'utf8')).config;
  // Each bundle of this tree in a directory of its own, beside the slice of the configuration it carries.
  const dirOf = (variant: string, handler: string) => join(work, `cold-${variant}`, handler);
  const files = new Map<string, string>();
  const sizes = new Map<string, number>();
  const configBytes = new Map<string, number>();
  for (const handler of HANDLERS) {
    const entry = LAMBDA_ENTRIES[handler];
    type Build = readonly [string, string, Readonly<Record<string, string>>, FailoverConfig | undefined];
    const before: Build = ['before', src, { [CONFIG_VARIABLE]: JSON.stringify(oldJson) }, undefined];
    const builds: Build[] = [
      // A handler the old tree did not have yet has no before.
      ...(existsSync(join(src, entry)) ? [before] : []),
      ['after', REPO, CONFIG_DEFINE, config],
      ['example', REPO, CONFIG_DEFINE, example],
    ];
    for (const [variant, root, define, carried] of builds) {
      const dir = dirOf(variant, handler);
      await mkdir(dir, { recursive: true });
      if (carried) {
        const text = bundledConfigJson(carried, configSliceOf(entry));
        await writeFile(join(dir, CONFIG_FILE), text);
        configBytes.set(`${handler} ${variant}`, text.length);
      }
      const outfile = join(dir, 'index.mjs');
      sizes.set(`${handler} ${variant}`, await bundleHandler(root, entry, outfile, define));
      files.set(`${handler} ${variant}`, outfile);
    }
  }
  // The configuration alone (bench/config-read.ts) beside the whole fleet's file: its index, then every site.
  const reader = join(dirOf('after', 'config-read'), 'index.mjs');
  await mkdir(dirOf('after', 'config-read'), { recursive: true });
  await writeFile(join(dirOf('after', 'config-read'), CONFIG_FILE), bundledConfigJson(config));
  await bundleHandler(REPO, 'bench/config-read.ts', reader, {});
  const reads = ['index', 'every-site', 'eager'] as const;
  const cpu = new Map<string, number[]>();
  const variants = ['before', 'after', 'example'] as const;
  // The fleet's control region, or the example's for the bundle that carries the example.
  const envs = {
    before: handlerEnv(config.regions),
    after: handlerEnv(config.regions),
    example: handlerEnv(example.regions),
  };
  const add = (key: string, ms: number) => cpu.set(key, [...(cpu.get(key) ?? []), ms]);
  for (let run = -1; run < RUNS; run++) {
    for (const handler of HANDLERS) {
      const order = run % 2 === 0 ? [...variants] : [...variants].reverse();
      for (const variant of order) {
        const file = files.get(`${handler} ${variant}`);
        if (!file) continue;
        const cold = await coldImport(file, envs[variant]);
        if (run >= 0) add(`${handler} ${variant}`, cold.importMs);
      }
    }
    for (const mode of reads) {
      const cold = await coldImport(reader, { ...envs.after, BENCH_CONFIG_READ: mode });
      if (run >= 0) add(`read ${mode}`, cold.importMs);
    }
  }
  const allBytes = configBytes.get('decide after')!;
  const probeBytes = configBytes.get('probe after')!;
  console.log(
    `\n5. cold import CPU ms of each handler (${RUNS} runs, interleaved), ${SITES} sites, load average ${loadavg()[0]!.toFixed(1)} at the end; ` +
      `before = ${BEFORE} with the whole model inlined (a ${kb(oldJson.length)} define); after = this tree reading ${CONFIG_FILE} ` +
      `beside a bundle of its own size (${kb(allBytes)}; the probe's slice ${kb(probeBytes)}, read whole; the others read the index and each site when first used); ` +
      `example = the same with ${DEFAULT_CONFIG_FILE}`,
  );
  const rows = [['handler', 'KB before', 'KB after', 'before', 'after', 'after/before', 'example', 'after - example']];
  for (const handler of HANDLERS) {
    const [b, a, e] = variants.map((v) => {
      const xs = cpu.get(`${handler} ${v}`);
      return xs ? stats(xs) : undefined;
    });
    const size = (v: string) => {
      const bytes = sizes.get(`${handler} ${v}`);
      return bytes === undefined ? '-' : (bytes / 1024).toFixed(0);
    };
    rows.push([
      handler,
      size('before'),
      size('after'),
      b ? spread(b) : '-',
      spread(a!),
      b ? (a!.median / b.median).toFixed(2) : '-',
      spread(e!),
      (a!.median - e!.median).toFixed(0),
    ]);
    if (a!.median >= TARGET_IMPORT_MS) misses.push(`${handler}: median cold import ${a!.median.toFixed(0)} ms CPU`);
  }
  table(rows);
  const [index, every, eager] = reads.map((m) => stats(cpu.get(`read ${m}`)!));
  console.log(
    `  the whole fleet's ${CONFIG_FILE} alone (bench/config-read.ts, the import of a bundle that only reads it): ` +
      `index ${spread(index!)}; index, then every site once (a first invocation that reads them all) ${spread(every!)}; ` +
      `every site in one parse ${spread(eager!)}`,
  );
}

/**
 * 6. The hook for the per-zone DNS writer's simulation (bench/dns-writer.ts, issue 14: 500 simultaneous failovers
 * against Route 53's 5 requests/s, completion time and 0 given up): the lead calls it from here with this fleet's
 * configuration. Until then this section says so and measures nothing.
 */
/**
 * 500 of the fleet's record-swap records failing over at once, in the fleet's zones, against Route 53's 5 requests/s
 * (bench/dns-writer.ts: the real writer use case on a virtual clock), beside today's per-record dispatch.
 */
async function dnsWriterSection(config: FailoverConfig): Promise<void> {
  const records = config.sites.reduce((n, s) => n + s.dns.length, 0);
  const zones = new Set(config.sites.flatMap((s) => s.dns.map((r) => r.hostedZoneId))).size;
  const failovers = Math.min(500, records);
  console.log(
    `\n6. DNS writer: ${failovers} simultaneous failovers of the fleet's ${records} records in ${zones} zones, ` +
      `Route 53 at 5 requests/s, the reconciler reading meanwhile (virtual clock; min / median / max of ${RUNS})`,
  );
  const rows = {
    'per-record dispatch (before)': [] as DnsSimulationResult[],
    'DNS writer': [] as DnsSimulationResult[],
  };
  for (let seed = 1; seed <= RUNS; seed++) {
    const input = { failovers, zones, reconciler: true, seed };
    rows['per-record dispatch (before)'].push(await simulateBaseline(input));
    rows['DNS writer'].push(await simulateDnsWriter(input));
  }
  for (const [name, results] of Object.entries(rows)) {
    const of = (f: (r: DnsSimulationResult) => number) => stats(results.map(f));
    console.log(
      `   ${name.padEnd(30)} done after ${spread(
        of((r) => r.completionSeconds),
        1,
      )} s, ${of((r) => r.calls).median} calls, ` + `${of((r) => r.givenUp).median} given up (median)`,
    );
  }
  const writerGivenUp = Math.max(...rows['DNS writer'].map((r) => r.givenUp));
  console.log(
    `   target: 0 given up by the writer in every run: ${writerGivenUp === 0 ? 'met' : `NOT met (${writerGivenUp})`}`,
  );
}

const work = await mkdtemp(join(tmpdir(), 'failover-bench-fleet-'));
try {
  console.log(
    `bench:fleet: ${SITES} sites (2 links, 2 checks and one record each), node ${process.version}, ` +
      `load average ${loadavg()[0]!.toFixed(1)}, ${RUNS} runs of each timed case`,
  );
  const yaml = fleetConfigYaml({ sites: SITES });
  const configFile = join(work, 'fleet.yaml');
  await writeFile(configFile, yaml);
  const { config, oldJson } = configSection(yaml);
  if (runs(2)) await synthSection(configFile, work);
  if (runs(3)) planSection(config);
  if (runs(4)) await publishSection(config);
  if (runs(5)) await coldSection(config, oldJson, work);
  if (runs(6)) await dnsWriterSection(config);
  console.log(
    misses.length === 0
      ? `\nevery target met: synth succeeds, no ticket over its capacity, median cold import < ${TARGET_IMPORT_MS} ms CPU`
      : `\nMISSED:\n  ${misses.join('\n  ')}`,
  );
  if (misses.length > 0) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
