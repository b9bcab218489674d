import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Observation } from '../../shared/contracts/observation.ts';
import { runCli, STACK_FRAME } from '../support/cli.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
let dir: string;
let config: string;
let invalid: string;
let invalidText: string;

const yaml = (upPort: number, downPort: number) => `version: 1
regions:
  probe: [us-east-1]
  control: us-east-1
probing: { concurrency: 4, jitterMs: 0 }
controlChecks:
  - id: loopback
    tcp: { host: 127.0.0.1, port: ${upPort} }
defaults:
  policy: { confirmRetryMs: 50 }
sites:
  - id: shop
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - id: web-fiber
        link: fiber
        timeoutMs: 3000
        http: { url: 'http://127.0.0.1:${upPort}/health', bodyContains: ok }
      - id: web-lte
        link: lte
        timeoutMs: 3000
        tcp: { host: 127.0.0.1, port: ${downPort} }
`;

beforeAll(async () => {
  const [upPort, downPort] = await Promise.all([
    pool.listen(createServer((_, res) => res.end('ok\n'))),
    closedPort(),
    mkdtemp(join(tmpdir(), 'failover-probe-')).then((d) => void (dir = d)),
  ]);
  config = join(dir, 'sites.yaml');
  invalid = join(dir, 'invalid.yaml');
  await writeFile(config, yaml(upPort!, downPort!));
  invalidText = yaml(upPort!, downPort!).replace('link: lte', 'link: dsl');
  await writeFile(invalid, invalidText);
});

afterAll(async () => {
  await pool.closeAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.concurrent('failover probe', () => {
  it('--json: one Observation per line, then the round; exit 1 as one check is down', async ({ expect }) => {
    const r = await runCli(['probe', '--config', config, '--json', '--region', 'eu-west-1']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const observations = lines.slice(0, 2).map((line) => Observation.parse(JSON.parse(line)));
    const byCheck = Object.fromEntries(observations.map((o) => [o.check, o]));
    expect(byCheck['web-fiber']).toMatchObject({
      site: 'shop',
      link: 'fiber',
      kind: 'http',
      vantage: 'region:eu-west-1',
      outcome: 'up',
      errorClass: null,
      fields: { status: 200 },
    });
    expect(byCheck['web-fiber']!.attempts).toHaveLength(1);
    expect(byCheck['web-lte']).toMatchObject({ link: 'lte', kind: 'tcp', outcome: 'down', errorClass: 'connect' });
    // A failed first try is confirmed by a second one after confirmRetryMs.
    const attempts = byCheck['web-lte']!.attempts;
    expect(attempts.map((a) => a.outcome)).toEqual(['down', 'down']);
    expect(Date.parse(attempts[1]!.at) - Date.parse(attempts[0]!.at)).toBeGreaterThanOrEqual(45);

    const { round } = JSON.parse(lines[2]!) as { round: Record<string, unknown> };
    expect(round).toMatchObject({
      vantage: 'region:eu-west-1',
      roundId: observations[0]!.roundId,
      skipped: [],
      control: { ok: true, passed: 1, total: 1 },
    });
    expect(round).not.toHaveProperty('observations');
  });

  it('a table for a person, with the control check and the confirmed failure', async ({ expect }) => {
    const r = await runCli(['probe', '-c', config]);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SITE\s+CHECK\s+LINK\s+OUTCOME\s+LATENCY\s+DETAIL$/);
    expect(lines[1]).toMatch(/^\(control\)\s+loopback\s+-\s+UP\s/);
    expect(lines[2]).toMatch(/^shop\s+web-fiber\s+fiber\s+UP\s+[\d.]+ m?s\s+200 OK/);
    expect(lines[3]).toMatch(/^shop\s+web-lte\s+lte\s+DOWN\s+-\s+\[connect\] .*\(confirmed: first try down\)$/);
    expect(r.stdout).toMatch(/2 checks from region:local in .*: 1 up, 0 degraded, 1 down; 1\/1 control checks passed/);
    expect(r.stderr).toBe('');
  });

  it('an invalid configuration: exit 2 with its diagnostics, nothing probed', async ({ expect }) => {
    const r = await runCli(['probe', '--config', invalid]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${invalid}: 2 problem(s)`);
    expect(r.stderr).toContain('no check tests link "lte"');
    const before = invalidText.slice(0, invalidText.indexOf('dsl')).split('\n');
    const at = `${before.length}:${before.at(-1)!.length + 1}`;
    expect(r.stderr).toContain(`  sites[0].checks[1].link (line ${at}): unknown link "dsl" (links: fiber, lte)`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a missing configuration: exit 2, says so', async ({ expect }) => {
    const r = await runCli(['probe', '--config', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read .*nope\.yaml: no such file/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
