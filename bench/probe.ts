// bench:probe — checks per second and peak RSS of the round runner against a bare node:http loop with fresh
// connections at the same concurrency, on the same 2,000 loopback targets, interleaved in one run; then a round of the
// same targets with 10% of them hanging (accepting, never answering) under the defaults' 8 s budget, 5 s timeouts and
// 2 s confirming delay. Each client runs in its own process (clean peak RSS); the targets are served by a third
// process so that clients do not share its event loop. The clients run from an esbuild bundle made like the Lambda's
// (what production runs), not through tsx.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type Socket } from 'node:net';
import { request, createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { HttpSpec } from '../shared/config/checks.ts';
import type { PlannedCheck } from '../shared/config/model.ts';
import { runRound } from '../shared/probes/round.ts';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const HANGING_PCT = Number(process.env.BENCH_HANGING_PCT ?? 10);
const SERVER_PORTS = 8;
// The defaults of a 10 s interval: 80% of it as the budget, 5 s timeouts, a 2 s confirming delay, 1 s of jitter.
const HANG = { budgetMs: 8000, timeoutMs: 5000, confirmRetryMs: 2000, jitterMs: 1000 };
const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));

interface ClientResult {
  mode: string;
  checks: number;
  ok: number;
  ms: number;
  /** Process CPU time (user + system) over the same span as `ms`. */
  cpuMs: number;
  maxRssMb: number;
  /** The hanging case: what became of the healthy and of the hanging targets. */
  hanging?: HangingCounts;
}

interface HangingCounts {
  healthy: number;
  healthyUp: number;
  healthySkipped: number;
  hanging: number;
  /** Down after two timeouts: the confirming attempt ran, inside the budget. */
  confirmed: number;
  /** Down after one attempt: the confirming attempt did not fit. */
  unconfirmed: number;
  hangingSkipped: number;
  /** The shortest budget a confirming attempt was given. */
  minConfirmMs: number | null;
}

interface Ports {
  healthy: number[];
  silent: number;
}

function urls(ports: number[]): string[] {
  return Array.from({ length: TARGETS }, (_, i) => `http://127.0.0.1:${ports[i % ports.length]}/target/${i}`);
}

/** Every `100 / HANGING_PCT`-th target, spread over the list as a correlated outage would be. */
const isHanging = (i: number) => HANGING_PCT > 0 && i % Math.round(100 / HANGING_PCT) === 0;

async function serve(): Promise<void> {
  const servers: Server[] = [];
  for (let i = 0; i < SERVER_PORTS; i++) {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${req.url}`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  // Accepts and never answers: a target that hangs. Its sockets end when the client gives up.
  const sockets = new Set<Socket>();
  const silent = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  silent.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  await once(silent, 'listening');
  const ports: Ports = {
    healthy: servers.map((s) => (s.address() as { port: number }).port),
    silent: (silent.address() as { port: number }).port,
  };
  process.send!({ ports });
}

async function bare(list: string[]): Promise<number> {
  let next = 0;
  let ok = 0;
  const one = (url: string) =>
    new Promise<void>((resolve) => {
      const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < list.length) await one(list[next++]!);
    }),
  );
  return ok;
}

/** The round's checks, built (and their settings validated) before the clock starts, as a config load would. */
function plannedChecks(list: string[]): PlannedCheck[] {
  return list.map((url, i) => ({
    site: `site-${i % 100}`,
    id: `check-${i}`,
    name: undefined,
    link: 'primary',
    dependency: null,
    timeoutMs: 10_000,
    confirmRetryMs: 2000,
    probe: { kind: 'http', http: HttpSpec.parse({ url }) },
  }));
}

async function runner(checks: PlannedCheck[]): Promise<number> {
  const round = await runRound({
    vantage: 'region:bench',
    roundId: 'bench',
    checks,
    concurrency: CONCURRENCY,
    jitterMs: 0,
    budgetMs: 600_000,
  });
  return round.observations.filter((o) => o.outcome === 'up').length;
}

/** One round with the defaults' timing, the hanging targets on the silent port; counts what became of each. */
async function hangingRound(ports: Ports): Promise<{ ok: number; ms: number; hanging: HangingCounts }> {
  const list = urls(ports.healthy).map((url, i) => (isHanging(i) ? `http://127.0.0.1:${ports.silent}/hang/${i}` : url));
  const checks = plannedChecks(list).map((c) => ({
    ...c,
    timeoutMs: HANG.timeoutMs,
    confirmRetryMs: HANG.confirmRetryMs,
  }));
  const started = performance.now();
  const round = await runRound({
    vantage: 'region:bench',
    roundId: 'bench-hanging',
    checks,
    concurrency: CONCURRENCY,
    jitterMs: HANG.jitterMs,
    budgetMs: HANG.budgetMs,
  });
  const ms = performance.now() - started;
  const hangingIds = new Set(checks.filter((_, i) => isHanging(i)).map((c) => c.id));
  const counts: HangingCounts = {
    healthy: checks.length - hangingIds.size,
    healthyUp: 0,
    healthySkipped: 0,
    hanging: hangingIds.size,
    confirmed: 0,
    unconfirmed: 0,
    hangingSkipped: 0,
    minConfirmMs: null,
  };
  for (const o of round.observations) {
    if (!hangingIds.has(o.check)) {
      if (o.outcome === 'up') counts.healthyUp++;
      continue;
    }
    const timeouts = o.attempts.filter((a) => a.errorClass === 'timeout');
    if (o.attempts.length === 2 && timeouts.length === 2) {
      counts.confirmed++;
      const confirmMs = Number(/within (\d+) ms/.exec(o.attempts[1]!.detail)?.[1]);
      if (Number.isFinite(confirmMs)) counts.minConfirmMs = Math.min(counts.minConfirmMs ?? Infinity, confirmMs);
    } else counts.unconfirmed++;
  }
  for (const s of round.skipped) {
    if (hangingIds.has(s.check)) counts.hangingSkipped++;
    else counts.healthySkipped++;
  }
  return { ok: counts.healthyUp, ms, hanging: counts };
}

async function client(mode: string, ports: Ports): Promise<void> {
  const list = urls(ports.healthy);
  const checks = plannedChecks(list);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const cpuMs = () => {
    const { user, system } = process.cpuUsage(cpuStarted);
    return (user + system) / 1000;
  };
  const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
  if (mode === 'hanging') {
    const { ok, ms, hanging } = await hangingRound(ports);
    const result = { mode, checks: list.length, ok, ms, cpuMs: cpuMs(), maxRssMb: maxRssMb(), hanging };
    process.send!(result satisfies ClientResult);
    return;
  }
  const ok = mode === 'bare' ? await bare(list) : await runner(checks);
  const ms = performance.now() - started;
  const result: ClientResult = { mode, checks: list.length, ok, ms, cpuMs: cpuMs(), maxRssMb: maxRssMb() };
  process.send!(result);
}

function child(args: string[], bundle?: string): ChildProcess {
  const [entry, argv] = bundle ? [bundle, args] : [runTs, [self, ...args]];
  return fork(entry, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function bundleClients(dir: string): Promise<string> {
  const outfile = join(dir, 'probe-bench.mjs');
  await build({
    entryPoints: [self],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    logLevel: 'warning',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return outfile;
}

async function measure(mode: string, ports: Ports, bundle: string): Promise<ClientResult> {
  const proc = child(['--client', mode, JSON.stringify(ports)], bundle);
  const [result] = (await once(proc, 'message')) as [ClientResult];
  await once(proc, 'exit');
  return result;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[], digits = 0) =>
  `min ${sorted(xs)[0]!.toFixed(digits)}  median ${median(xs).toFixed(digits)}  max ${sorted(xs).at(-1)!.toFixed(digits)}`;

async function main(): Promise<void> {
  const server = child(['--serve']);
  const [{ ports }] = (await once(server, 'message')) as [{ ports: Ports }];
  console.log(
    `bench:probe: ${TARGETS} HTTP targets on loopback (${SERVER_PORTS} ports), concurrency ${CONCURRENCY}, ` +
      `fresh connection per check, ${REPEATS} interleaved runs each`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'failover-bench-'));
  const bundle = await bundleClients(dir);
  await measure('bare', ports, bundle); // warm-up: the target server's JIT, the kernel's socket tables
  const results: Record<string, ClientResult[]> = { bare: [], runner: [] };
  for (let i = 0; i < REPEATS; i++) {
    // Interleaved, and which of the two goes first alternates: neither always runs on a warmer machine.
    for (const mode of i % 2 === 0 ? ['bare', 'runner'] : ['runner', 'bare']) {
      const r = await measure(mode, ports, bundle);
      results[mode]!.push(r);
      const rate = (r.checks / r.ms) * 1000;
      console.log(
        `  run ${i + 1} ${mode.padEnd(6)} ${rate.toFixed(0).padStart(6)} checks/s  ` +
          `${((r.cpuMs / r.checks) * 1000).toFixed(0).padStart(4)} us CPU/check  ${r.ok}/${r.checks} up  ` +
          `peak RSS ${r.maxRssMb.toFixed(0)} MB`,
      );
    }
  }
  const rates = (mode: string) => results[mode]!.map((r) => (r.checks / r.ms) * 1000);
  const cpuPerCheck = (mode: string) => results[mode]!.map((r) => (r.cpuMs / r.checks) * 1000);
  const rss = (mode: string) => Math.max(...results[mode]!.map((r) => r.maxRssMb));
  const ratio = median(rates('runner')) / median(rates('bare'));
  const allUp = results.runner!.every((r) => r.ok === r.checks) && results.bare!.every((r) => r.ok === r.checks);
  console.log('');
  console.log(`bare node:http loop   checks/s ${spread(rates('bare'))}  peak RSS ${rss('bare').toFixed(0)} MB`);
  console.log(`round runner          checks/s ${spread(rates('runner'))}  peak RSS ${rss('runner').toFixed(0)} MB`);
  console.log(`bare node:http loop   us CPU/check ${spread(cpuPerCheck('bare'))}`);
  console.log(`round runner          us CPU/check ${spread(cpuPerCheck('runner'))}`);
  console.log(
    `CPU ratio runner/bare ${(median(cpuPerCheck('runner')) / median(cpuPerCheck('bare'))).toFixed(2)} of the medians ` +
      '(CPU per check does not move with the load of other processes the way throughput does)',
  );
  console.log(
    `ratio runner/bare     ${ratio.toFixed(2)} of the medians   (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `runner peak RSS       ${rss('runner').toFixed(0)} MB (target < 200 MB: ${rss('runner') < 200 ? 'met' : 'MISSED'})`,
  );
  if (!allUp) console.log('warning: not every check was up; the figures are not comparable');

  const hangingCount = Array.from({ length: TARGETS }, (_, i) => i).filter(isHanging).length;
  console.log('');
  console.log(
    `hanging targets: ${hangingCount} of ${TARGETS} (${HANGING_PCT}%) accept and never answer; budget ` +
      `${HANG.budgetMs} ms, timeouts ${HANG.timeoutMs} ms, confirming delay ${HANG.confirmRetryMs} ms, jitter ` +
      `${HANG.jitterMs} ms, concurrency ${CONCURRENCY}; ${REPEATS} runs`,
  );
  const hung: ClientResult[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r = await measure('hanging', ports, bundle);
    hung.push(r);
    const h = r.hanging!;
    console.log(
      `  run ${i + 1} round ${r.ms.toFixed(0).padStart(5)} ms  healthy up ${h.healthyUp}/${h.healthy}, ` +
        `skipped ${h.healthySkipped}  hanging confirmed ${h.confirmed}/${h.hanging}, unconfirmed ${h.unconfirmed}, ` +
        `skipped ${h.hangingSkipped}  shortest confirming budget ${h.minConfirmMs ?? '-'} ms  ` +
        `peak RSS ${r.maxRssMb.toFixed(0)} MB`,
    );
  }
  server.kill();
  await rm(dir, { recursive: true, force: true });
  const sum = (f: (h: HangingCounts) => number) => hung.reduce((n, r) => n + f(r.hanging!), 0);
  const healthySkipped = sum((h) => h.healthySkipped);
  const notUp = sum((h) => h.healthy - h.healthyUp - h.healthySkipped);
  const unconfirmed = sum((h) => h.unconfirmed + h.hangingSkipped);
  const longest = Math.max(...hung.map((r) => r.ms));
  const hangingMet = healthySkipped === 0 && longest <= HANG.budgetMs;
  console.log('');
  console.log(`round duration        ms ${spread(hung.map((r) => r.ms))}  (budget ${HANG.budgetMs} ms)`);
  console.log(
    `healthy checks        skipped ${healthySkipped}, not up ${notUp} over ${REPEATS} runs; hanging ones not confirmed ` +
      `${unconfirmed}   (target 0 healthy skipped, every round under budget: ${hangingMet ? 'met' : 'MISSED'})`,
  );
  process.exitCode = ratio >= 0.8 && rss('runner') < 200 && allUp && hangingMet ? 0 : 1;
}

const [flag, mode, ports] = process.argv.slice(2);
if (flag === '--serve') await serve();
else if (flag === '--client') await client(mode!, JSON.parse(ports!) as Ports);
else await main();
