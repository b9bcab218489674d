// bench:decide — the decision path under load: 500 sites x 10 checks x 3 regions for 100 rounds, through the engine
// and the DynamoDB adapter on dynalite (run in its own process, like a remote table). Prints decisions per second
// with several decisions in flight (throughput); DynamoDB writes per site per round and their cost per check-month,
// writing every decided state (before) and skipping the states that are only fresher (after); and p50/p99 latency
// from a batch's arrival to its committed state, one decision at a time, on dynalite, on dynalite with a delay per
// request like DynamoDB's, and on DynamoDB Local, interleaved.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DOCUMENT_TRANSLATION, DynamoDbStateStore } from '../shared/adapters/aws/dynamodb-state-store.ts';
import { createTable } from '../shared/adapters/aws/table.ts';
import { startDynalite } from '../shared/adapters/local/dynalite.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import { parseConfig } from '../shared/config/load.ts';
import type { ObservationBatch, Outcome } from '../shared/contracts/observation.ts';
import { CountingStateStore } from '../shared/simulator/counting-store.ts';
import { HOURS_PER_MONTH, PRICES } from '../shared/cost/prices.ts';
import { decideSite } from '../shared/usecases/decide-site.ts';
import { javaAvailable, startDynamoDbLocal } from '../test/support/dynamodb-local.ts';

const SITES = Number(process.env.BENCH_SITES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 5);
/** Sites of the write count (every write, then skipping) and of the latency runs on each backend. */
const WRITE_SITES = Number(process.env.BENCH_WRITE_SITES ?? 50);
const LATENCY_SITES = Number(process.env.BENCH_LATENCY_SITES ?? 100);
/** Delay added to every request on the "dynalite + delay" backend: DynamoDB answers in a few ms within a region. */
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 4);
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const CHECKS_PER_LINK = 5;
const INTERVAL_MS = 60_000;
const T0 = Date.UTC(2026, 0, 1);
/** Sites whose primary fails from round 30 to round 45, so that the run includes failovers and failbacks. */
const faulty = (site: string) => Number(site.slice('site-'.length)) % 50 === 0;

function configText(SITES: number): string {
  const link = (name: string, address: string) =>
    Array.from(
      { length: CHECKS_PER_LINK },
      (_, i) => `      - { id: ${name}-${i}, link: ${name}, tcp: { host: ${address}, port: ${8000 + i} } }`,
    ).join('\n');
  const sites = Array.from(
    { length: SITES },
    (_, i) => `  - id: site-${i}
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
${link('fiber', '203.0.113.10')}
${link('lte', '198.51.100.20')}
    dns:
      - { zone: example.com, hostedZoneId: Z0123456789ABC, name: s${i}.example.com, type: A, values: { fiber: [203.0.113.10], lte: [198.51.100.20] } }`,
  );
  return `version: 1
regions: { probe: [${REGIONS.join(', ')}], control: us-east-1 }
defaults: { policy: { failureThreshold: 2, recoveryThreshold: 2, holdDownSeconds: 300, remindEveryMinutes: 0 } }
sites:
${sites.join('\n')}
`;
}

function batch(site: string, region: string, round: number): ObservationBatch {
  const roundId = new Date(T0 + round * INTERVAL_MS).toISOString();
  const fiberDown = faulty(site) && round >= 30 && round < 45;
  const observations = ['fiber', 'lte'].flatMap((link) =>
    Array.from({ length: CHECKS_PER_LINK }, (_, i) => {
      const outcome: Outcome = link === 'fiber' && fiberDown ? 'down' : 'up';
      return {
        v: 1 as const,
        site,
        check: `${link}-${i}`,
        link,
        dependency: null,
        kind: 'tcp' as const,
        vantage: `region:${region}`,
        roundId,
        at: roundId,
        outcome,
        latencyMs: 12.5,
        errorClass: outcome === 'down' ? ('connect' as const) : null,
        detail: outcome === 'down' ? 'connection refused by 203.0.113.10:8000' : 'connected in 12.5 ms',
        fields: {},
        attempts: [{ at: roundId, outcome, latencyMs: 12.5, errorClass: null, detail: '' }],
      };
    }),
  );
  return { v: 1, site, vantage: `region:${region}`, roundId, startedAt: roundId, control: null, observations };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[], digits = 2) =>
  `${Math.min(...values).toFixed(digits)} / ${median(values).toFixed(digits)} / ${Math.max(...values).toFixed(digits)}`;

function parse(sites: number): FailoverConfig {
  const { config, diagnostics } = parseConfig(configText(sites));
  if (!config) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return config;
}

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 };

/** A DynamoDB endpoint with a client; `delayMs` holds every request back that long before it is sent. */
function connect(endpoint: string, delayMs = 0): { base: DynamoDBClient; client: DynamoDBDocumentClient } {
  const base = new DynamoDBClient({ endpoint, ...LOCAL });
  if (delayMs > 0) {
    base.middlewareStack.add(
      (next) => async (args) => {
        await sleep(delayMs);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'injectedLatency' },
    );
  }
  return { base, client: DynamoDBDocumentClient.from(base, DOCUMENT_TRANSLATION) };
}

/** The decider on one table, writing every decided state or skipping those only fresher. */
interface Run {
  readonly name: string;
  readonly config: FailoverConfig;
  readonly store: CountingStateStore;
  readonly skip: boolean;
  now: number;
  transitions: number;
  /** State writes per site per region round, of each round without transitions (but the first). */
  readonly steady: number[];
}

async function makeRun(
  name: string,
  connection: { base: DynamoDBClient; client: DynamoDBDocumentClient },
  tableName: string,
  config: FailoverConfig,
  skip: boolean,
): Promise<Run> {
  await createTable(connection.base, tableName);
  const store = new CountingStateStore(new DynamoDbStateStore({ tableName, client: connection.client }));
  return { name, config, store, skip, now: T0, transitions: 0, steady: [] };
}

const writes = (run: Run) => run.store.stateWrites + run.store.historyWrites + run.store.otherWrites;

/** One round of every region through `run`; returns each decision's latency (arrival -> committed or kept). */
async function round(run: Run, n: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  const before = run.store.stateWrites;
  const deps = { config: run.config, store: run.store, clock: { now: () => run.now }, skipFreshOnly: run.skip };
  let transitions = 0;
  for (const [r, region] of REGIONS.entries()) {
    run.now = T0 + n * INTERVAL_MS + (r * INTERVAL_MS) / REGIONS.length;
    const queue = run.config.sites.map((s) => batch(s.id, region, n));
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let b = queue.shift(); b; b = queue.shift()) {
          const arrived = performance.now();
          const out = await decideSite(deps, { site: b.site, batches: [b] });
          latencies.push(performance.now() - arrived);
          transitions += out.transitions.length;
        }
      }),
    );
  }
  run.transitions += transitions;
  if (transitions === 0 && n > 0)
    run.steady.push((run.store.stateWrites - before) / (run.config.sites.length * REGIONS.length));
  return latencies;
}

/** Per site per region round, overall. */
const perSiteRound = (run: Run, rounds: number, count = writes(run)) =>
  count / (run.config.sites.length * rounds * REGIONS.length);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
/** State writes cost one write unit each (a deflated state is about 530 bytes): per check and month. */
const monthlyPerCheck = (perRound: number) =>
  (perRound * ((HOURS_PER_MONTH * 3_600_000) / INTERVAL_MS) * REGIONS.length * PRICES.dynamoWriteUnit.usd) /
  (CHECKS_PER_LINK * 2);

async function serveTable(): Promise<void> {
  const dynamo = await startDynalite();
  process.send!({ endpoint: dynamo.endpoint, tableName: dynamo.tableName });
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
  const table = fork(runTs, [self, '--table'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ endpoint }] = (await once(table, 'message')) as [{ endpoint: string; tableName: string }];
  const dynalite = connect(endpoint);
  const closers: (() => Promise<void> | void)[] = [() => void table.kill(), () => dynalite.base.destroy()];
  let exitCode = 0;
  try {
    console.log(
      `bench:decide: ${SITES} sites x ${CHECKS_PER_LINK * 2} checks x ${REGIONS.length} regions, ${ROUNDS} rounds at ` +
        `${CONCURRENCY} decisions in flight; dynalite in its own process; every 50th site fails over at round 30 ` +
        `and back after the hold-down`,
    );

    // Writes: the same workload writing every decided state (before) and skipping the only fresher (after).
    const writeConfig = parse(WRITE_SITES);
    const every = await makeRun('every', dynalite, 'writes-every', writeConfig, false);
    const skipping = await makeRun('skipping', dynalite, 'writes-skipping', writeConfig, true);
    for (let n = 0; n < ROUNDS; n++) {
      await round(every, n, CONCURRENCY);
      await round(skipping, n, CONCURRENCY);
    }
    if (every.transitions !== skipping.transitions) throw new Error('the two write modes decided differently');

    // Throughput, skipping writes (the product's mode).
    const config = parse(SITES);
    const main = await makeRun('throughput', dynalite, 'throughput', config, true);
    const started = performance.now();
    let decisions = 0;
    for (let n = 0; n < ROUNDS; n++) {
      decisions += (await round(main, n, CONCURRENCY)).length;
      if ((n + 1) % 10 === 0) {
        const elapsed = (performance.now() - started) / 1000;
        console.log(`  round ${n + 1}/${ROUNDS}: ${((decisions / elapsed) | 0).toString()} decisions/s so far`);
      }
    }
    const seconds = (performance.now() - started) / 1000;

    // Latency on each backend, both write modes, rounds interleaved across all of them.
    const latencyConfig = parse(LATENCY_SITES);
    const delayed = connect(endpoint, DELAY_MS);
    closers.push(() => delayed.base.destroy());
    const backends: { name: string; connection: typeof dynalite }[] = [
      { name: 'dynalite', connection: dynalite },
      { name: `dynalite +${DELAY_MS} ms`, connection: delayed },
    ];
    if (await javaAvailable()) {
      const local = await startDynamoDbLocal({ tableName: 'unused' });
      closers.push(() => local.close());
      const connection = connect(local.endpoint);
      closers.push(() => connection.base.destroy());
      backends.push({ name: 'DynamoDB Local', connection });
    } else console.log('  DynamoDB Local skipped: no java here (Debian: openjdk-17-jre-headless)');
    const runs: { backend: string; run: Run; rounds: number[][] }[] = [];
    for (const [i, b] of backends.entries()) {
      for (const skip of [false, true]) {
        const run = await makeRun(b.name, b.connection, `latency-${i}-${skip}`, latencyConfig, skip);
        runs.push({ backend: b.name, run, rounds: [] });
      }
    }
    const WARMUP = 4;
    for (let n = 0; n < WARMUP; n++) for (const r of runs) await round(r.run, n, CONCURRENCY);
    for (let n = WARMUP; n < WARMUP + LATENCY_ROUNDS; n++)
      for (const r of runs) r.rounds.push((await round(r.run, n, 1)).sort((a, b) => a - b));

    const overall = (run: Run) => perSiteRound(run, ROUNDS);
    const stateOverall = (run: Run) => perSiteRound(run, ROUNDS, run.store.stateWrites);
    console.log('');
    console.log(
      `throughput            ${decisions} decisions in ${seconds.toFixed(1)} s: ` +
        `${(decisions / seconds).toFixed(0)} decisions/s (${CONCURRENCY} in flight, skipping writes); ` +
        `${main.transitions} transitions`,
    );
    console.log(
      `DynamoDB writes       per site per region round (${WRITE_SITES} sites, ${ROUNDS} rounds; deterministic)`,
    );
    for (const run of [every, skipping, main]) {
      const steady = mean(run.steady);
      console.log(
        `  ${(run === main ? `skipping, ${SITES} sites` : run.name === 'every' ? 'every write (before)' : 'skipping (after)').padEnd(21)}` +
          `state ${stateOverall(run).toFixed(3)}, all ${overall(run).toFixed(3)} overall; steady state ${steady.toFixed(3)} ` +
          `= $${monthlyPerCheck(steady).toFixed(4)} per check-month (${CHECKS_PER_LINK * 2} checks a site, 60 s, ` +
          `${REGIONS.length} regions)`,
      );
    }
    const ratio = mean(skipping.steady) / mean(every.steady);
    console.log(
      `  after / before      ${ratio.toFixed(3)} of the steady-state writes; same ${every.transitions} transitions`,
    );
    console.log('');
    console.log(
      `latency               arrival -> commit, one decision at a time, ${LATENCY_SITES} sites x ${REGIONS.length} ` +
        `regions x ${LATENCY_ROUNDS} rounds each, interleaved; p50 of each round min / median / max, then pooled`,
    );
    let dynaliteP99 = NaN;
    for (const r of runs) {
      const pooled = r.rounds.flat().sort((a, b) => a - b);
      const p99 = percentile(pooled, 0.99);
      if (r.backend === 'dynalite' && r.run.skip) dynaliteP99 = p99;
      console.log(
        `  ${r.backend.padEnd(16)} ${(r.run.skip ? 'skipping' : 'every write').padEnd(12)}` +
          `p50 ${spread(r.rounds.map((l) => percentile(l, 0.5)))} ms; pooled p50 ${percentile(pooled, 0.5).toFixed(2)} ms ` +
          `p99 ${p99.toFixed(2)} ms max ${pooled.at(-1)!.toFixed(2)} ms`,
      );
    }
    const steady = Math.max(...skipping.steady);
    console.log('');
    console.log(
      `targets               dynalite p99 < 25 ms: ${dynaliteP99 < 25 ? 'met' : 'MISSED'}; ` +
        `at most 1 state write per site per round: ${steady <= 1 ? 'met' : 'MISSED'}`,
    );
    exitCode = dynaliteP99 < 25 && steady <= 1 ? 0 : 1;
  } finally {
    for (const close of closers.reverse()) await close();
  }
  process.exitCode = exitCode;
}

if (process.argv[2] === '--table') await serveTable();
else await main();
