// bench:cli — how long `failover` takes from start to exit: the old path (the TypeScript sources through tsx) against
// the compiled CLI (dist/cli, built first), interleaved run by run, for `--help`, `--version` and `check` of an HTTP
// server on loopback. `node -e ''` is measured alongside as the floor no CLI can go under. Prints min/median/max of
// the wall time and of the child's own CPU time per path, and the ratio of the medians; the targets (--help < 150 ms,
// check < 300 ms) are judged on the compiled medians, both (CPU time is what a loaded machine inflates least).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../scripts/build-cli.ts';
import { compiledCli } from '../bin/compiled-cli.js';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 9));
const BIN = fileURLToPath(new URL('../bin/failover.js', import.meta.url));
const TARGETS: Record<string, number> = { '--help': 150, check: 300 };

interface Run {
  /** From spawn to exit, as the shell that runs it sees it. */
  readonly ms: number;
  /** CPU time (user + system) of the child itself, which a loaded machine inflates less than the wall time. */
  readonly cpuMs: number;
  readonly code: number | null;
  readonly stdout: string;
}

// Loaded into every child, the floor included: it reports the process's CPU time on fd 3 as it exits.
const CPU_REPORT = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { const c = process.cpuUsage(); writeSync(3, String((c.user + c.system) / 1000)); });",
)}`;

function run(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', CPU_REPORT, ...args], {
      env: { ...process.env, FAILOVER_CLI_FROM_SOURCE: undefined, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
    });
    let stdout = '';
    let cpu = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (chunk: string) => (cpu += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: performance.now() - started, cpuMs: Number(cpu), code, stdout }));
  });
}

const stats = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s.at(-1)! };
};
const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;

const server = createServer((_, res) => res.end('ok\n'));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;

await buildCli();
if (!compiledCli()) throw new Error('dist/cli is not fresh after the build: bin/failover.js would not run it');

const commands: { name: string; args: string[]; code: number }[] = [
  { name: '--help', args: ['--help'], code: 0 },
  { name: '--version', args: ['--version'], code: 0 },
  { name: 'check', args: ['check', url], code: 0 },
];
const paths = {
  tsx: { FAILOVER_CLI_FROM_SOURCE: '1' },
  compiled: {},
} as const;
type PathName = keyof typeof paths;

const times = new Map<string, number[]>();
const record = (key: string, r: Run) => {
  times.set(key, [...(times.get(key) ?? []), r.ms]);
  times.set(`${key} cpu`, [...(times.get(`${key} cpu`) ?? []), r.cpuMs]);
};
console.log(`bench:cli: ${RUNS} runs per command and path, interleaved (one warm-up run each first); ${url}`);
for (let i = -1; i < RUNS; i++) {
  const floor = await run(['-e', ''], {});
  if (i >= 0) record('node', floor);
  for (const command of commands) {
    // Alternating which path goes first, so that neither always runs on a warmer cache.
    const order: PathName[] = i % 2 === 0 ? ['tsx', 'compiled'] : ['compiled', 'tsx'];
    const outputs: Partial<Record<PathName, string>> = {};
    for (const path of order) {
      const r = await run([BIN, ...command.args], paths[path]);
      if (r.code !== command.code)
        throw new Error(`failover ${command.args.join(' ')} (${path}) exited ${r.code}:\n${r.stdout}`);
      outputs[path] = r.stdout.replace(/\d+(\.\d+)? ?m?s\b/g, '<time>');
      if (i >= 0) record(`${command.name} ${path}`, r);
    }
    if (outputs.tsx !== outputs.compiled)
      throw new Error(`failover ${command.args.join(' ')}: the two paths print different things`);
  }
}
server.close();

const row = (label: string, path: string, key: string) => {
  const wall = stats(times.get(key)!);
  const cpu = stats(times.get(`${key} cpu`)!);
  console.log(
    `${label.padEnd(12)} ${path.padEnd(9)} ${fmt(wall.min)} ${fmt(wall.median)} ${fmt(wall.max)}   ${fmt(cpu.min)} ${fmt(cpu.median)} ${fmt(cpu.max)}`,
  );
  return { wall, cpu };
};
console.log(`\n${' '.repeat(23)}wall time: min   median      max   CPU time:  min   median      max`);
const node = row('node -e ""', 'floor', 'node');
const verdicts: string[] = [];
for (const command of commands) {
  const old = row(command.name, 'tsx', `${command.name} tsx`);
  const compiled = row(command.name, 'compiled', `${command.name} compiled`);
  const target = TARGETS[command.name];
  const judge = (what: string, ms: number) => `${what} ${ms < target! ? 'meets' : 'MISSES'} < ${target} ms`;
  const verdict =
    target === undefined ? '' : `; ${judge('CPU', compiled.cpu.median)}, ${judge('wall', compiled.wall.median)}`;
  verdicts.push(
    `${command.name}: compiled median ${compiled.wall.median.toFixed(0)} ms (CPU ${compiled.cpu.median.toFixed(0)} ms) vs tsx ` +
      `${old.wall.median.toFixed(0)} ms (CPU ${old.cpu.median.toFixed(0)} ms): ${(old.wall.median / compiled.wall.median).toFixed(2)}x ` +
      `faster, ${(compiled.wall.median - node.wall.median).toFixed(0)} ms above node's own start${verdict}`,
  );
}
console.log(`\n${verdicts.join('\n')}`);
