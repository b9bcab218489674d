// bench:cold — size and cold-import CPU time of every Lambda handler, built with the options the construct gives
// NodejsFunction (infra/constructs/lambda-bundling.ts) and the app's default configuration. "before" is the same
// build of an older commit's sources (BENCH_COLD_BEFORE, default the commit before the bundles were trimmed), so
// that one run prints both. Each import runs in a fresh `node --enable-source-maps` (as the functions do), which
// reports the CPU time (user + system, every thread) of `await import(bundle)` and of the whole process; a bare
// `node` is run before each handler as the floor no process goes under. Prints min/median/max per handler; the
// targets (import < 100 ms CPU, bundle < 600 KB) are judged on the "after" medians.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_DEFINE, CONFIG_FILE, LAMBDA_ENTRIES } from '../infra/constructs/lambda-bundling.ts';
import { DEFAULT_CONFIG_FILE } from '../infra/config.ts';
import { configJsonOf } from '../shared/config/load.ts';
import {
  bundleHandler as bundle,
  checkout,
  coldImport,
  handlerEnv,
  REPO,
  spread,
  stats,
  type Cold,
} from './cold-import.ts';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 7));
// The last commit whose handlers bundled every zod locale and the YAML parser.
const BEFORE = process.env.BENCH_COLD_BEFORE ?? '8763a46';
const TARGET_CPU_MS = 100;
const TARGET_KB = 600;

type Variant = 'before' | 'after';
type Handler = keyof typeof LAMBDA_ENTRIES;
// Newer than the baseline this bench compares with, so left out: the web function (it serves files) and the DNS
// writer (bench:fleet measures its cold import, beside the others', with the example configuration and a fleet's).
const NEWER_THAN_BASELINE: readonly Handler[] = ['web', 'dns-writer'];
const HANDLERS = (Object.keys(LAMBDA_ENTRIES) as Handler[]).filter((h) => !NEWER_THAN_BASELINE.includes(h));

const work = await mkdtemp(join(tmpdir(), 'failover-bench-cold-'));
try {
  const yaml = await readFile(join(REPO, DEFAULT_CONFIG_FILE), 'utf8');
  const { config, json } = configJsonOf(yaml);
  const env = handlerEnv(config.regions);
  // The after bundles read the configuration file beside them, as deployed; older sources had it inlined, as the
  // YAML text or as the first JSON format: defining both leaves each its own.
  await writeFile(join(work, CONFIG_FILE), json);
  const defines: Record<Variant, Record<string, string>> = {
    before: {
      'process.env.FAILOVER_CONFIG_JSON': JSON.stringify(
        JSON.stringify({ format: 'failover-config/resolved-1', config }),
      ),
      'process.env.FAILOVER_CONFIG_YAML': JSON.stringify(yaml),
    },
    after: CONFIG_DEFINE,
  };
  const roots: Record<Variant, string> = { before: join(work, 'before'), after: REPO };
  checkout(BEFORE, roots.before);
  const files = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (const handler of HANDLERS) {
    for (const variant of ['before', 'after'] as const) {
      const outfile = join(work, `${variant}-${handler}.mjs`);
      sizes.set(
        `${handler} ${variant}`,
        await bundle(roots[variant], LAMBDA_ENTRIES[handler], outfile, defines[variant]),
      );
      files.set(`${handler} ${variant}`, outfile);
    }
  }

  console.log(
    `bench:cold: ${HANDLERS.length} handlers, ${RUNS} cold imports each of before (${BEFORE}) and after (this tree), ` +
      `interleaved with a bare node; config ${DEFAULT_CONFIG_FILE}; node ${process.version}`,
  );
  const cpu = new Map<string, number[]>();
  const record = (key: string, cold: Cold) => {
    cpu.set(key, [...(cpu.get(key) ?? []), cold.importMs]);
    cpu.set(`${key} process`, [...(cpu.get(`${key} process`) ?? []), cold.processMs]);
  };
  for (let run = -1; run < RUNS; run++) {
    for (const handler of HANDLERS) {
      const floor = await coldImport(undefined, env);
      // Alternating which variant goes first, so that neither always runs on a warmer cache.
      const order: Variant[] = run % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
      const cold: Partial<Record<Variant, Cold>> = {};
      for (const variant of order) cold[variant] = await coldImport(files.get(`${handler} ${variant}`), env);
      if (run < 0) continue;
      record('floor', floor);
      for (const variant of order) record(`${handler} ${variant}`, cold[variant]!);
    }
  }

  const kb = (bytes: number) => (bytes / 1024).toFixed(0);
  const table: string[][] = [
    [
      'handler',
      'KB before',
      'KB after',
      'import CPU ms before',
      'import CPU ms after',
      'after/before',
      'process ms after',
    ],
  ];
  const floor = stats(cpu.get('floor process')!);
  const misses: string[] = [];
  for (const handler of HANDLERS) {
    const before = stats(cpu.get(`${handler} before`)!);
    const after = stats(cpu.get(`${handler} after`)!);
    const size = { before: sizes.get(`${handler} before`)!, after: sizes.get(`${handler} after`)! };
    table.push([
      handler,
      kb(size.before),
      kb(size.after),
      spread(before),
      spread(after),
      (after.median / before.median).toFixed(2),
      spread(stats(cpu.get(`${handler} after process`)!)),
    ]);
    if (after.median >= TARGET_CPU_MS) misses.push(`${handler}: median import ${after.median.toFixed(0)} ms CPU`);
    if (size.after >= TARGET_KB * 1024) misses.push(`${handler}: ${kb(size.after)} KB`);
  }
  table.push(['bare node', '', '', '', '', '', spread(floor)]);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log('\n(CPU ms as min / median / max; "process" is the whole process up to the end of the import)');
  for (const row of table)
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log(
    misses.length === 0
      ? `\nevery handler meets the targets: median cold import < ${TARGET_CPU_MS} ms CPU, bundle < ${TARGET_KB} KB`
      : `\nMISSED (targets: import < ${TARGET_CPU_MS} ms CPU, bundle < ${TARGET_KB} KB):\n  ${misses.join('\n  ')}`,
  );
  if (misses.length > 0) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
