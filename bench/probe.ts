// bench:probe — checks per second and peak RSS of the round runner against a bare node:http loop with fresh
// connections at the same concurrency, on the same 2,000 loopback targets, in one run. Each client runs in its own
// process (clean peak RSS); the targets are served by a third process so that clients do not share its event loop.
// The clients run from an esbuild bundle made like the Lambda's (what production runs), not through tsx.
import { fork, type ChildProcess } from 'node:child_process';
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
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const SERVER_PORTS = 8;
const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));

interface ClientResult {
  mode: string;
  checks: number;
  ok: number;
  ms: number;
  maxRssMb: number;
}

function urls(ports: number[]): string[] {
  return Array.from({ length: TARGETS }, (_, i) => `http://127.0.0.1:${ports[i % ports.length]}/target/${i}`);
}

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
  process.send!({ ports: servers.map((s) => (s.address() as { port: number }).port) });
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

async function client(mode: string, ports: number[]): Promise<void> {
  const list = urls(ports);
  const checks = plannedChecks(list);
  const started = performance.now();
  const ok = mode === 'bare' ? await bare(list) : await runner(checks);
  const ms = performance.now() - started;
  const result: ClientResult = { mode, checks: list.length, ok, ms, maxRssMb: process.resourceUsage().maxRSS / 1024 };
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

async function measure(mode: string, ports: number[], bundle: string): Promise<ClientResult> {
  const proc = child(['--client', mode, ports.join(',')], bundle);
  const [result] = (await once(proc, 'message')) as [ClientResult];
  await once(proc, 'exit');
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const server = child(['--serve']);
  const [{ ports }] = (await once(server, 'message')) as [{ ports: number[] }];
  console.log(
    `bench:probe: ${TARGETS} HTTP targets on loopback (${SERVER_PORTS} ports), concurrency ${CONCURRENCY}, ` +
      `fresh connection per check, ${REPEATS} alternating runs each`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'failover-bench-'));
  const bundle = await bundleClients(dir);
  await measure('bare', ports, bundle); // warm-up: the target server's JIT, the kernel's socket tables
  const results: Record<string, ClientResult[]> = { bare: [], runner: [] };
  for (let i = 0; i < REPEATS; i++) {
    for (const mode of ['bare', 'runner']) {
      const r = await measure(mode, ports, bundle);
      results[mode]!.push(r);
      const rate = (r.checks / r.ms) * 1000;
      console.log(
        `  run ${i + 1} ${mode.padEnd(6)} ${rate.toFixed(0).padStart(6)} checks/s  ${r.ok}/${r.checks} up  ` +
          `peak RSS ${r.maxRssMb.toFixed(0)} MB`,
      );
    }
  }
  server.kill();
  await rm(dir, { recursive: true, force: true });
  const rate = (mode: string) => median(results[mode]!.map((r) => (r.checks / r.ms) * 1000));
  const rss = (mode: string) => Math.max(...results[mode]!.map((r) => r.maxRssMb));
  const ratio = rate('runner') / rate('bare');
  const allUp = results.runner!.every((r) => r.ok === r.checks) && results.bare!.every((r) => r.ok === r.checks);
  console.log('');
  console.log(
    `bare node:http loop   ${rate('bare').toFixed(0).padStart(6)} checks/s (median)  peak RSS ${rss('bare').toFixed(0)} MB`,
  );
  console.log(
    `round runner          ${rate('runner').toFixed(0).padStart(6)} checks/s (median)  peak RSS ${rss('runner').toFixed(0)} MB`,
  );
  console.log(`ratio runner/bare     ${ratio.toFixed(2)}   (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'MISSED'})`);
  console.log(
    `runner peak RSS       ${rss('runner').toFixed(0)} MB (target < 200 MB: ${rss('runner') < 200 ? 'met' : 'MISSED'})`,
  );
  if (!allUp) console.log('warning: not every check was up; the figures are not comparable');
  process.exitCode = ratio >= 0.8 && rss('runner') < 200 && allUp ? 0 : 1;
}

const [flag, mode, ports] = process.argv.slice(2);
if (flag === '--serve') await serve();
else if (flag === '--client') await client(mode!, ports!.split(',').map(Number));
else await main();
