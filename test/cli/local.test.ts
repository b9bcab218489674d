import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { runCli, startCli, STACK_FRAME } from '../support/cli.ts';
import { writeDemoConfig, type DemoConfig } from '../support/demo-config.ts';
import { freePort, listenTcp } from '../support/ports.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const CHECKS = ['portal-fiber', 'portal-lte', 'pbx-fiber', 'voice-fiber'];
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'failover-local-'));
  dirs.push(dir);
  return dir;
}

/** A fresh demo copy on its own free ports, so that concurrent runs never share a port; `up` even when loaded. */
async function demo(): Promise<DemoConfig & { file: string }> {
  return writeDemoConfig(await tempDir(), { latencyBudgetMs: 10_000 });
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Free DNS and API ports, and alerts, keys and state beside the test's config: nothing in the repository's .failover. */
const isolated = (file: string) => [
  '--dns-port',
  '0',
  '--api-port',
  '0',
  '--alerts',
  join(dirname(file), 'alerts.jsonl'),
  '--data-dir',
  join(dirname(file), 'data'),
];

describe.concurrent('failover local', () => {
  it('--rounds 1: the demo targets, then one line per region with every check up; exit 0', async ({ expect }) => {
    const { file, ports } = await demo();
    const r = await runCli(['local', '--config', file, '--rounds', '1', ...isolated(file)], { timeoutMs: 40_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    for (const [id, port] of Object.entries(ports))
      expect(r.stdout).toMatch(new RegExp(`demo target ${id} \\((http|sip|echo)\\) on 127\\.0\\.0\\.1:${port}\\n`));
    const roundLines = r.stdout.split('\n').filter((line) => /^\d\d:\d\d:\d\d /.test(line));
    expect(roundLines).toHaveLength(REGIONS.length);
    expect(roundLines.map((line) => line.split(/\s+/)[1]).sort()).toEqual([...REGIONS].sort());
    for (const line of roundLines) {
      expect(line).toMatch(/ demo {2}/);
      for (const check of CHECKS) expect(line).toMatch(new RegExp(`${check} UP [\\d.]+ m?s`));
      expect(line).toMatch(/voice-fiber UP [\d.]+ m?s MOS \d\.\d\d/);
    }
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('failover local: stopped');
  });

  it('--json-logs: JSON lines of runtime events, observations and rounds', async ({ expect }) => {
    const { file } = await demo();
    const r = await runCli(['local', '-c', file, '--rounds', '1', '--json-logs', ...isolated(file)], {
      timeoutMs: 40_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string } & Record<string, unknown>);
    const byKind = (kind: string) => events.filter((e) => e.event === kind);
    expect(byKind('runtime')[0]!.message).toMatch(/^failover local: .*demo\.yaml: 1 site\(s\)/);
    expect(byKind('runtime').at(-1)!.message).toBe('failover local: stopped');
    const rounds = byKind('round');
    expect(rounds.map((e) => e.vantage).sort()).toEqual(REGIONS.map((r) => `region:${r}`).sort());
    for (const round of rounds) {
      expect(round).toMatchObject({ roundId: expect.any(String), control: { ok: true }, skipped: [] });
      expect(round).not.toHaveProperty('observations');
    }
    const observations = byKind('observation');
    expect(observations).toHaveLength(REGIONS.length * CHECKS.length);
    for (const o of observations) expect(o).toMatchObject({ v: 1, site: 'demo', outcome: 'up', errorClass: null });
    // Every observation precedes the summary of its round.
    for (const round of rounds) {
      const summaryAt = events.indexOf(round);
      const mine = observations.filter((o) => o.roundId === round.roundId && o.vantage === round.vantage);
      expect(mine).toHaveLength(CHECKS.length);
      for (const o of mine) expect(events.indexOf(o)).toBeLessThan(summaryAt);
    }
  });

  it('a round of many checks: no warning on stderr (one abort signal serves them all)', async ({ expect }) => {
    const dir = await tempDir();
    const port = await freePort({ tcp: true });
    const checks = Array.from(
      { length: 24 },
      (_, i) =>
        `      - { id: c${i}, link: ${i % 2 ? 'lte' : 'fiber'}, timeoutMs: 2000, tcp: { host: 127.0.0.1, port: ${port} } }`,
    );
    const file = join(dir, 'many.yaml');
    await writeFile(
      file,
      `version: 1
regions: { probe: [us-east-1], control: us-east-1 }
probing: { concurrency: 64, jitterMs: 300 }
defaults: { policy: { intervalSeconds: 10 } }
sites:
  - id: many
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
${checks.join('\n')}
local:
  demoTargets:
    - { id: web, kind: http, port: ${port} }
`,
    );
    const r = await runCli(['local', '-c', file, '--rounds', '1', ...isolated(file)], { timeoutMs: 40_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/us-east-1 +many {2}c0 UP /);
    expect(r.stdout.match(/ UP /g)).toHaveLength(24);
  });

  it('a demo target port already taken: exit 2 naming the target, no stack trace', async ({ expect }) => {
    const { file, ports } = await demo();
    let blocker: Server | undefined;
    try {
      blocker = await listenTcp(ports.primary);
      const r = await runCli(['local', '--config', file, '--rounds', '1', ...isolated(file)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/demo target "primary" \(http\) cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.stdout).not.toMatch(/^\d\d:\d\d:\d\d /m);
    } finally {
      await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    }
  });

  it('SIGINT during a run: stops cleanly, exit 0', async ({ expect }) => {
    const { file } = await demo();
    const cli = startCli(['local', '--config', file, ...isolated(file)], { timeoutMs: 40_000 });
    await cli.waitFor(/^\d\d:\d\d:\d\d .* demo {2}portal-fiber /m, { timeoutMs: 30_000 });
    cli.child.kill('SIGINT');
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('failover local: stopped');
    expect(r.stderr).toBe('');
  });
});
