// bench:decide — the decision path under load: 500 sites x 10 checks x 3 regions for 100 rounds, through the engine
// and the DynamoDB adapter on dynalite (run in its own process, like a remote table). Prints decisions per second
// with several decisions in flight (throughput), p50/p99 latency from a batch's arrival to its committed state with
// one decision at a time (what one decider instance sees per site, without queueing behind others), and DynamoDB
// writes per site per round.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DOCUMENT_TRANSLATION, DynamoDbStateStore } from '../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite } from '../shared/adapters/local/dynalite.ts';
import { parseConfig } from '../shared/config/load.ts';
import type { ObservationBatch, Outcome } from '../shared/contracts/observation.ts';
import { CountingStateStore } from '../shared/simulator/counting-store.ts';
import { decideSite } from '../shared/usecases/decide-site.ts';

const SITES = Number(process.env.BENCH_SITES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 5);
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const CHECKS_PER_LINK = 5;
const INTERVAL_MS = 60_000;
const T0 = Date.UTC(2026, 0, 1);
/** Sites whose primary fails from round 30 to round 45, so that the run includes failovers and failbacks. */
const FAULTY = new Set(Array.from({ length: Math.ceil(SITES / 50) }, (_, i) => `site-${i * 50}`));

function configText(): string {
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
  const fiberDown = FAULTY.has(site) && round >= 30 && round < 45;
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

async function serveTable(): Promise<void> {
  const dynamo = await startDynalite();
  process.send!({ endpoint: dynamo.endpoint, tableName: dynamo.tableName });
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
  const table = fork(runTs, [self, '--table'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ endpoint, tableName }] = (await once(table, 'message')) as [{ endpoint: string; tableName: string }];
  const base = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const client = DynamoDBDocumentClient.from(base, DOCUMENT_TRANSLATION);
  const { config, diagnostics } = parseConfig(configText());
  if (!config) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const store = new CountingStateStore(new DynamoDbStateStore({ tableName, client }));
  const writes = () => store.stateWrites + store.historyWrites + store.otherWrites;
  let now = T0;
  const deps = { config, store, clock: { now: () => now } };

  console.log(
    `bench:decide: ${SITES} sites x ${CHECKS_PER_LINK * 2} checks x ${REGIONS.length} regions, ${ROUNDS} rounds at ` +
      `${CONCURRENCY} decisions in flight, then ${LATENCY_ROUNDS} rounds one at a time; dynalite in its own ` +
      `process; ${FAULTY.size} sites fail over at round 30 and back after the hold-down`,
  );
  const steadyWrites: number[] = [];
  let transitions = 0;
  let decisions = 0;
  /** One round of every region; returns each decision's latency. */
  const round = async (n: number, concurrency: number): Promise<number[]> => {
    const latencies: number[] = [];
    const before = writes();
    let transitionsThisRound = 0;
    for (const [r, region] of REGIONS.entries()) {
      now = T0 + n * INTERVAL_MS + (r * INTERVAL_MS) / REGIONS.length;
      const queue = config.sites.map((s) => batch(s.id, region, n));
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let b = queue.shift(); b; b = queue.shift()) {
            const arrived = performance.now();
            const out = await decideSite(deps, { site: b.site, batches: [b] });
            latencies.push(performance.now() - arrived);
            transitionsThisRound += out.transitions.length;
          }
        }),
      );
    }
    decisions += latencies.length;
    transitions += transitionsThisRound;
    if (transitionsThisRound === 0 && n > 0) steadyWrites.push((writes() - before) / (SITES * REGIONS.length));
    return latencies;
  };

  const started = performance.now();
  for (let n = 0; n < ROUNDS; n++) {
    await round(n, CONCURRENCY);
    if ((n + 1) % 10 === 0) {
      const elapsed = (performance.now() - started) / 1000;
      console.log(`  round ${n + 1}/${ROUNDS}: ${((decisions / elapsed) | 0).toString()} decisions/s so far`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const throughputDecisions = decisions;
  const latencies: number[] = [];
  for (let n = ROUNDS; n < ROUNDS + LATENCY_ROUNDS; n++) latencies.push(...(await round(n, 1)));
  table.kill();
  base.destroy();

  latencies.sort((a, b) => a - b);
  const writesPerSiteRound = writes() / (SITES * (ROUNDS + LATENCY_ROUNDS) * REGIONS.length);
  const steady = steadyWrites.length ? Math.max(...steadyWrites) : NaN;
  const p99 = percentile(latencies, 0.99);
  console.log('');
  console.log(
    `throughput            ${throughputDecisions} decisions in ${seconds.toFixed(1)} s: ` +
      `${(throughputDecisions / seconds).toFixed(0)} decisions/s (${CONCURRENCY} in flight)`,
  );
  console.log(`transitions           ${transitions} (failovers and failbacks of the faulty sites)`);
  console.log(
    `latency               ${latencies.length} decisions one at a time, arrival->commit p50 ${percentile(latencies, 0.5).toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  max ${latencies.at(-1)!.toFixed(2)} ms  (target p99 < 25 ms: ${p99 < 25 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `DynamoDB writes       ${writes()} = ${writesPerSiteRound.toFixed(3)} per site per region round overall; ` +
      `steady state ${steady.toFixed(3)} (target <= 1: ${steady <= 1 ? 'met' : 'MISSED'})`,
  );
  process.exitCode = p99 < 25 && steady <= 1 ? 0 : 1;
}

if (process.argv[2] === '--table') await serveTable();
else await main();
