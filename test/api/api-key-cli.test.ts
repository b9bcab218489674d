import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { localApiKeys } from '../../shared/adapters/local/file-api-key-store.ts';
import { apiRoutes } from '../../functions/api/routes.ts';
import { startHttpServer, type HttpServer } from '../../local/http-server.ts';
import { apiTestConfig, testClock } from '../support/api.ts';
import { jsonLines, runCli as run, STACK_FRAME } from '../support/cli.ts';

let dir: string;
let dynamo: LocalDynamo;
let server: HttpServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'failover-api-key-cli-'));
  dynamo = await startDynalite();
  // The local API on the same data directory as the CLI: keys made by one are seen by the other.
  const keys = localApiKeys(dir);
  const clock = testClock();
  server = await startHttpServer({
    port: 0,
    routes: apiRoutes({
      config: apiTestConfig(['hq']),
      store: new DynamoDbStateStore(dynamo),
      clock,
      apiKeys: keys.store,
      pepper: keys.pepper,
      maintenance: new DynamoDbMaintenanceStore(dynamo),
    }),
  });
});
afterAll(async () => {
  await server?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The CLI, with room for a loaded machine (each run compiles the sources through tsx). */
const runCli = (args: readonly string[]) => run(args, { timeoutMs: 60_000 });
const sites = (key: string) => fetch(`${server.url}/v1/sites`, { headers: { authorization: `Bearer ${key}` } });

describe('failover api-key', () => {
  it('creates a key, prints it once, lists it without secrets, and revokes it', async () => {
    const created = await runCli(['api-key', 'create', '--name', 'ops-alice', '--scope', 'write', '--data-dir', dir]);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^fo_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(created.stderr).toMatch(/created\. It is shown this once: store it now\./);
    const id = key.split('_')[1]!;

    expect((await sites(key)).status).toBe(200);

    const json = await runCli([
      'api-key',
      'create',
      '--name',
      'grafana',
      '--scope',
      'read',
      '--data-dir',
      dir,
      '--json',
    ]);
    const [made] = jsonLines(json.stdout);
    expect(made).toMatchObject({ name: 'grafana', scope: 'read', key: expect.stringMatching(/^fo_/) });
    const readKey = made!.key as string;
    const write = await fetch(`${server.url}/v1/sites/hq/failover`, {
      method: 'POST',
      headers: { authorization: `Bearer ${readKey}`, 'content-type': 'application/json' },
      body: '{"reason":"x"}',
    });
    expect(write.status).toBe(403);

    const list = await runCli(['api-key', 'list', '--data-dir', dir]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+ops-alice\\s+write\\s+\\S+\\s+\\S+\\s+active`));
    expect(list.stdout).toContain('grafana');
    expect(list.stdout).not.toContain(key.split('_')[2]);
    const listed = jsonLines((await runCli(['api-key', 'list', '--data-dir', dir, '--json'])).stdout);
    expect(listed.map((k) => k.name).sort()).toEqual(['grafana', 'ops-alice']);
    expect(listed.find((k) => k.name === 'ops-alice')?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toMatch(/hash|fo_/);

    const revoked = await runCli(['api-key', 'revoke', id, '--data-dir', dir]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`API key ${id} "ops-alice" revoked at `));
    expect((await sites(key)).status).toBe(401);
    expect((await runCli(['api-key', 'list', '--data-dir', dir])).stdout).toMatch(/ops-alice\s+write.*revoked/);
  }, 240_000);

  it('is listed in the help, with its three subcommands', async () => {
    const [top, sub] = await Promise.all([runCli(['--help']), runCli(['api-key', '--help'])]);
    expect(top.stdout).toMatch(/^\s+api-key\b/m);
    for (const command of ['create', 'list', 'revoke'])
      expect(sub.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  }, 240_000);

  it('exits 1 for an unknown key and 2 for a bad invocation, without stack traces', async () => {
    const unknown = await runCli(['api-key', 'revoke', 'ffffffffffffffff', '--data-dir', dir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key ffffffffffffffff');
    const invocations = [
      ['api-key', 'create', '--name', 'x', '--scope', 'admin', '--data-dir', dir],
      ['api-key', 'create', '--name', 'x', '--scope', 'read'],
      ['api-key', 'list', '--data-dir', dir, '--table', 't'],
    ];
    const results = await Promise.all(invocations.map((args) => runCli(args)));
    results.forEach((res, i) => {
      expect(res.code, invocations[i]!.join(' ')).toBe(2);
      expect(res.stderr).not.toMatch(STACK_FRAME);
    });
  }, 240_000);
});
