import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REPO_ROOT, runCli, startCli, STACK_FRAME } from '../support/cli.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
let dir: string;
let config: string;
let dataDir: string;

beforeAll(async () => {
  const [upPort, downPort] = await Promise.all([
    pool.listen(createServer((_, res) => res.end('ok\n'))),
    closedPort(),
    mkdtemp(join(tmpdir(), 'failover-epipe-')).then((d) => void (dir = d)),
  ]);
  config = join(dir, 'sites.yaml');
  await writeFile(
    config,
    `version: 1
regions: { probe: [us-east-1], control: us-east-1 }
probing: { concurrency: 4, jitterMs: 0 }
controlChecks:
  - { id: loopback, tcp: { host: 127.0.0.1, port: ${upPort} } }
defaults:
  policy: { confirmRetryMs: 50 }
sites:
  - id: shop
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web-fiber, link: fiber, timeoutMs: 3000, http: { url: 'http://127.0.0.1:${upPort}/health' } }
      - { id: web-lte, link: lte, timeoutMs: 3000, tcp: { host: 127.0.0.1, port: ${downPort} } }
`,
  );
  dataDir = join(dir, 'data');
  for (const name of ['ops', 'grafana', 'ci']) {
    const r = await runCli(['api-key', 'create', '--name', name, '--scope', 'read', '--data-dir', dataDir]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});

afterAll(async () => {
  await pool.closeAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The CLI with its stdout read by nobody: the pipe's read end is closed before the CLI prints its first byte. */
async function withClosedStdout(args: readonly string[]) {
  const cli = startCli(args);
  cli.child.stdout!.destroy();
  return cli.exited;
}

describe.concurrent('a closed stdout (failover ... | head)', () => {
  const cases: [string, () => string[], number][] = [
    ['schema', () => ['schema'], 0],
    ['api-key list --json', () => ['api-key', 'list', '--json', '--data-dir', dataDir], 0],
    ['api-key list', () => ['api-key', 'list', '--data-dir', dataDir], 0],
    // One check is down: the usual exit code is 1, closed pipe or not.
    ['probe --json', () => ['probe', '--config', config, '--json'], 1],
    ['--help', () => ['--help'], 0],
  ];
  it.for(cases)('%s ends quietly with its usual exit code', async ([, args, code], { expect }) => {
    const r = await withClosedStdout(args());
    expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code, signal: null, stderr: '' });
  });

  it('piped into head -1 from a shell: one line out, the exit code of the CLI, no stack trace', async ({ expect }) => {
    const script = `node bin/failover.js api-key list --json --data-dir '${dataDir}' | head -1; echo "exit \${PIPESTATUS[0]}" >&2`;
    const child = spawn('bash', ['-c', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toMatchObject({ name: expect.any(String), scope: 'read' });
    expect(stderr).toBe('exit 0\n');
    expect(stderr).not.toMatch(STACK_FRAME);
  });
});
