// bench:soak — memory and timing of the local runtime under a steady load. Generates a fleet (default 200 sites,
// two links with one HTTP check each, three probe regions: 1,200 checks per interval) whose targets the runtime
// serves itself on loopback, runs the real `failover local` in a child process for a bounded time, samples its
// memory, and prints RSS at start, after warm-up and at the end, the slope after warm-up, and the spacing of round
// starts per region. Usage: npm run bench:soak -- [--sites N] [--minutes M] [--interval S] [--warmup M] ...
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';

const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const cliMain = new URL('../cli/main.ts', import.meta.url).href;
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const MB = 1024 * 1024;
/** The target: RSS after warm-up grows by less than this per 10 minutes. */
const FLAT_MB_PER_10_MIN = 5;

/** What the child reports every sample. */
interface Sample {
  readonly type: 'sample';
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface Options {
  readonly sites: number;
  readonly minutes: number;
  readonly warmupMinutes: number;
  readonly intervalSeconds: number;
  readonly sampleSeconds: number;
  readonly dataDir: boolean;
  readonly snapshots: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      sites: { type: 'string', default: '200' },
      minutes: { type: 'string', default: '10' },
      warmup: { type: 'string' },
      interval: { type: 'string', default: '10' },
      sample: { type: 'string', default: '5' },
      'data-dir': { type: 'boolean', default: false },
      snapshots: { type: 'string' },
    },
    strict: true,
  });
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} ${text}: expected a number >= ${min}`);
    return n;
  };
  const minutes = number('minutes', values.minutes, 1);
  // Warm-up: the JIT, the sockets' pools, the first decisions and V8's heap growing to its working size (RSS still
  // climbs for 3-4 minutes at 200 sites); 40% of the run, 4 minutes at most.
  const warmupMinutes = number('warmup', values.warmup ?? String(Math.min(4, minutes * 0.4)), 0);
  if (warmupMinutes >= minutes) throw new Error(`--warmup ${warmupMinutes}: must be shorter than --minutes`);
  return {
    sites: Math.floor(number('sites', values.sites, 1)),
    minutes,
    warmupMinutes,
    intervalSeconds: Math.floor(number('interval', values.interval, 10)),
    sampleSeconds: number('sample', values.sample, 1),
    dataDir: values['data-dir'],
    snapshots: values.snapshots === undefined ? undefined : resolve(values.snapshots),
  };
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  return ports;
}

/** A fleet of `sites` sites, each with a fiber and an LTE link probed over HTTP, and a DNS record. */
function fleetConfig(o: Options, ports: { control: number; primary: number; backup: number }): string {
  const sites = Array.from({ length: o.sites }, (_, i) => {
    const id = `site-${String(i).padStart(4, '0')}`;
    return `  - id: ${id}
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web-fiber, link: fiber, timeoutMs: 2000, http: { url: 'http://127.0.0.1:${ports.primary}/${id}' } }
      - { id: web-lte, link: lte, timeoutMs: 2000, http: { url: 'http://127.0.0.1:${ports.backup}/${id}' } }
    dns:
      - zone: example.com
        hostedZoneId: Z0000000000SOAK
        name: ${id}.example.com
        type: A
        ttl: 30
        values: { fiber: [203.0.113.10], lte: [198.51.100.20] }
`;
  });
  return `version: 1
regions:
  probe: [${REGIONS.join(', ')}]
  control: us-east-1
probing:
  concurrency: 64
  jitterMs: 500
controlChecks:
  - id: loopback
    tcp: { host: 127.0.0.1, port: ${ports.control} }
defaults:
  policy:
    intervalSeconds: ${o.intervalSeconds}
contacts:
  - name: soak
    email: soak@example.com
sites:
${sites.join('')}local:
  demoTargets:
    - { id: control, kind: http, port: ${ports.control} }
    - { id: primary, kind: http, port: ${ports.primary} }
    - { id: backup, kind: http, port: ${ports.backup} }
`;
}

/** In the child: report memory every `everyMs` and write heap snapshots when asked, then run the real CLI. */
async function child(everyMs: number, argv: string[]): Promise<void> {
  const sample = () => {
    const m = process.memoryUsage();
    const s: Sample = { type: 'sample', atMs: Date.now(), ...m };
    process.send?.(s);
  };
  setInterval(sample, everyMs).unref();
  process.on('message', (message: { type?: string; path?: string }) => {
    if (message.type === 'snapshot' && message.path) {
      writeHeapSnapshot(message.path);
      process.send?.({ type: 'snapshot-written', path: message.path });
    }
  });
  // Without this the IPC channel would keep the process alive after the runtime stopped.
  process.channel?.unref();
  process.argv = [process.argv[0]!, 'failover', ...argv];
  await import(cliMain);
}

interface RoundLine {
  readonly vantage: string;
  readonly roundId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

async function snapshot(proc: ChildProcess, path: string): Promise<void> {
  proc.send({ type: 'snapshot', path });
  for (;;) {
    const [m] = (await once(proc, 'message')) as [{ type: string; path?: string }];
    if (m.type === 'snapshot-written' && m.path === path) return;
  }
}

async function main(): Promise<void> {
  const o = options();
  const dir = await mkdtemp(join(tmpdir(), 'failover-soak-'));
  const [control, primary, backup] = (await freePorts(3)) as [number, number, number];
  const configFile = join(dir, 'fleet.yaml');
  await writeFile(configFile, fleetConfig(o, { control, primary, backup }));
  const checks = o.sites * 2 * REGIONS.length;
  console.log(
    `bench:soak: ${o.sites} sites, ${checks} checks every ${o.intervalSeconds} s (${REGIONS.length} regions), ` +
      `${o.minutes} min (warm-up ${o.warmupMinutes} min), state ${o.dataDir ? 'on disk' : 'in memory'}, ` +
      `memory sampled every ${o.sampleSeconds} s`,
  );

  const args = ['local', '--config', configFile, '--json-logs', '--dns-port', '0', '--api-port', '0'];
  if (o.dataDir) args.push('--data-dir', join(dir, 'data'));
  // Its cwd is the scratch directory: the secrets of an in-memory run go to ./.failover there.
  const proc = fork(runTs, [self, '--child', String(o.sampleSeconds * 1000), ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const samples: Sample[] = [];
  const rounds: RoundLine[] = [];
  let errors = 0;
  let readyAt: number | undefined;
  proc.on('message', (m: Sample) => {
    if (m.type === 'sample' && readyAt !== undefined) samples.push(m);
  });
  const ready = new Promise<void>((done, fail) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      // Observation lines (most of the output) are not parsed: only the round summaries and the ready line.
      if (line.startsWith('{"event":"round"')) rounds.push(JSON.parse(line) as RoundLine);
      else if (line.startsWith('{"event":"ready"')) {
        readyAt = Date.now();
        done();
      }
    });
    proc.once('exit', (code) => fail(new Error(`failover local exited with ${code} before it was ready`)));
  });
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    if (errors++ < 10) console.error(`  child: ${line}`);
  });
  const exited = once(proc, 'exit');

  try {
    await ready;
    const warmupEnd = readyAt! + o.warmupMinutes * 60_000;
    const end = readyAt! + o.minutes * 60_000;
    let lastReport = Date.now();
    let warmupSnapshot = false;
    while (Date.now() < end) {
      await new Promise((done) => setTimeout(done, Math.min(5000, end - Date.now())));
      if (Date.now() - lastReport >= 60_000 && samples.length > 0) {
        lastReport = Date.now();
        const s = samples.at(-1)!;
        const minute = ((s.atMs - readyAt!) / 60_000).toFixed(1);
        console.log(
          `  ${minute.padStart(5)} min  rss ${mb(s.rss)}  heap ${mb(s.heapUsed)}  external ${mb(s.external)}  ` +
            `arrayBuffers ${mb(s.arrayBuffers)}  rounds ${rounds.length}`,
        );
      }
      // One heap snapshot at the end of the warm-up, one at the end: compare them in Chrome DevTools.
      if (o.snapshots && !warmupSnapshot && Date.now() >= warmupEnd) {
        warmupSnapshot = true;
        await snapshot(proc, join(o.snapshots, 'soak-warmup.heapsnapshot'));
      }
    }
    if (o.snapshots) await snapshot(proc, join(o.snapshots, 'soak-end.heapsnapshot'));
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    report(o, samples, rounds, readyAt!, warmupEnd, errors);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1).padStart(6)} MB`;

function report(
  o: Options,
  samples: readonly Sample[],
  rounds: readonly RoundLine[],
  readyAt: number,
  warmupEnd: number,
  errors: number,
): void {
  const first = samples[0];
  const afterWarmup = samples.find((s) => s.atMs >= warmupEnd);
  const last = samples.at(-1);
  if (!first || !afterWarmup || !last) throw new Error('too few memory samples: run longer or sample more often');
  const steady = samples.filter((s) => s.atMs >= warmupEnd);
  const per10Min = (key: keyof Omit<Sample, 'type' | 'atMs'>) =>
    (slope(steady.map((s) => ({ x: s.atMs, y: s[key] }))) * 600_000) / MB;
  const peak = Math.max(...samples.map((s) => s.rss));

  const spacings: number[] = [];
  const lags: number[] = [];
  for (const region of REGIONS) {
    const mine = rounds
      .filter((r) => r.vantage === `region:${region}` && Date.parse(r.startedAt) >= warmupEnd)
      .sort((a, b) => a.roundId.localeCompare(b.roundId));
    for (let i = 1; i < mine.length; i++)
      spacings.push((Date.parse(mine[i]!.startedAt) - Date.parse(mine[i - 1]!.startedAt)) / 1000);
    for (const r of mine) lags.push(Date.parse(r.startedAt) - Date.parse(r.roundId));
  }
  const expected = Math.floor(((last.atMs - warmupEnd) / 1000 / o.intervalSeconds) * REGIONS.length);
  const minSpacing = Math.min(...spacings);
  const maxSpacing = Math.max(...spacings);
  const medSpacing = median(spacings);
  // Held: every round started within a second of its slot, none was skipped.
  const held =
    spacings.length > 0 &&
    Math.abs(medSpacing - o.intervalSeconds) <= 0.1 &&
    maxSpacing <= o.intervalSeconds + 1 &&
    spacings.length + REGIONS.length >= expected;
  const slopeRss = per10Min('rss');
  const flat = slopeRss < FLAT_MB_PER_10_MIN;
  const minutes = (at: number) => `${((at - readyAt) / 60_000).toFixed(1)} min`;

  console.log('');
  console.log(`RSS at start          ${mb(first.rss)}  (heap used ${mb(first.heapUsed)}, ${minutes(first.atMs)})`);
  console.log(
    `RSS after warm-up     ${mb(afterWarmup.rss)}  (heap used ${mb(afterWarmup.heapUsed)}, ${minutes(afterWarmup.atMs)})`,
  );
  console.log(`RSS at the end        ${mb(last.rss)}  (heap used ${mb(last.heapUsed)}, ${minutes(last.atMs)})`);
  console.log(`RSS peak              ${mb(peak)}`);
  console.log(
    `slope after warm-up   rss ${(slopeRss / 10).toFixed(2)} MB / min = ${slopeRss.toFixed(1)} MB / 10 min  ` +
      `heap used ${per10Min('heapUsed').toFixed(1)}  ` +
      `external ${per10Min('external').toFixed(1)}  arrayBuffers ${per10Min('arrayBuffers').toFixed(1)}  ` +
      `(${steady.length} samples; target rss < ${FLAT_MB_PER_10_MIN} MB / 10 min: ${flat ? 'met' : 'MISSED'})`,
  );
  console.log(
    `round start spacing   min ${minSpacing.toFixed(2)} s  median ${medSpacing.toFixed(2)} s  max ${maxSpacing.toFixed(2)} s  ` +
      `over ${spacings.length} intervals, start lag max ${Math.max(...lags)} ms  (intervals held: ${held ? 'yes' : 'NO'})`,
  );
  // Other work on the machine delays rounds: the load says whether a missed interval is the runtime's.
  console.log(
    `machine load          1-min load average ${loadStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end ` +
      `(${availableParallelism()} cores)`,
  );
  console.log(
    `result                ${flat && held ? 'PASS' : 'FAIL'} (RSS flat: ${flat ? 'yes' : 'no'}, intervals held: ${held ? 'yes' : 'no'})`,
  );
  if (errors > 0) console.log(`warning: the runtime wrote ${errors} line(s) to stderr`);
  process.exitCode = flat && held ? 0 : 1;
}

const loadStart = loadavg()[0]!;
const [flag, every, ...rest] = process.argv.slice(2);
if (flag === '--child') await child(Number(every), rest);
else await main();
