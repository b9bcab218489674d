import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { TtlSweeper } from '../../shared/adapters/local/ttl-sweeper.ts';
import { parseConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { startControlPlane } from '../../local/control-plane.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const nowSeconds = NOW / 1000;

describe('TtlSweeper on dynalite', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo?.close());
  afterEach(async () => {
    const all = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));
    for (const item of all.Items ?? []) {
      await dynamo.client.send(
        new PutCommand({ TableName: dynamo.tableName, Item: { pk: item.pk, sk: item.sk, expiresAt: 0 } }),
      );
    }
    await new TtlSweeper({ ...dynamo, now: () => NOW }).sweepAll();
  });

  const put = (pk: string, expiresAt?: unknown) =>
    dynamo.client.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: { pk, sk: 'X', ...(expiresAt === undefined ? {} : { expiresAt }) },
      }),
    );
  const remaining = async () =>
    ((await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }))).Items ?? [])
      .map((i) => i.pk as string)
      .sort();

  it('deletes the items past their expiresAt and keeps fresh ones, ones without it and ones expiring now', async () => {
    await put('REPLAY#old', nowSeconds - 1);
    await put('SITE#a-applied', nowSeconds - 86_400);
    await put('REPLAY#fresh', nowSeconds + 300);
    await put('REPLAY#now', nowSeconds);
    await put('SITE#a-state');
    await put('ODD#string-ttl', 'soon');
    const deleted = await new TtlSweeper({ ...dynamo, now: () => NOW }).sweepAll();
    expect(deleted).toBe(2);
    expect(await remaining()).toEqual(['ODD#string-ttl', 'REPLAY#fresh', 'REPLAY#now', 'SITE#a-state']);
  });

  it('reads at most pageSize items a step, resumes where it stopped and starts over after the end', async () => {
    for (let i = 0; i < 7; i++) await put(`EXPIRED#${i}`, nowSeconds - 10);
    for (let i = 0; i < 3; i++) await put(`KEPT#${i}`);
    const sweeper = new TtlSweeper({ ...dynamo, now: () => NOW, pageSize: 3 });
    const steps = [];
    for (let i = 0; i < 4; i++) steps.push(await sweeper.step());
    expect(steps.map((s) => s.scanned)).toEqual([3, 3, 3, 1]);
    expect(steps.map((s) => s.wrapped)).toEqual([false, false, false, true]);
    expect(steps.reduce((n, s) => n + s.deleted, 0)).toBe(7);
    expect(await remaining()).toEqual(['KEPT#0', 'KEPT#1', 'KEPT#2']);

    // After the end it starts from the beginning again and finds what expired since.
    await put('EXPIRED#late', nowSeconds - 1);
    const next = await sweeper.step();
    expect(next).toMatchObject({ scanned: 3, deleted: 0 });
    const rest = await sweeper.step();
    expect(rest).toMatchObject({ deleted: 1, wrapped: true });
  });

  it('refuses a pageSize that is not a whole number >= 1', () => {
    for (const pageSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => new TtlSweeper({ ...dynamo, now: () => NOW, pageSize })).toThrow(/pageSize .*whole number >= 1/);
    }
  });
});

describe('the local control plane sweeps expired items', () => {
  it('deletes a replay key past its lifetime, within a few sweeps', async () => {
    const { config, diagnostics } = parseConfig(twoLinkConfigYaml({ sites: [{ id: 'hq' }] }));
    expect(diagnostics).toEqual([]);
    const dir = await mkdtemp(join(tmpdir(), 'failover-ttl-sweep-'));
    const errors: unknown[] = [];
    const cp = await startControlPlane({
      config: config!,
      clock: systemClock,
      notifier: new ConsoleNotifier({ out: () => undefined }),
      dnsPort: 0,
      apiPort: 0,
      secretsDir: join(dir, 'secrets'),
      ttlSweep: { everyMs: 100, pageSize: 2 },
      onTransition: () => undefined,
      onDispatch: () => undefined,
      onError: (error) => errors.push(error),
    });
    try {
      const { client, tableName } = cp.dynamo;
      // A key used ten minutes ago with a five-minute lifetime, and one used now.
      const past = new DynamoDbReplayGuard({ tableName, client, clock: { now: () => Date.now() - 600_000 } });
      const current = new DynamoDbReplayGuard({ tableName, client, clock: systemClock });
      expect(await past.firstUse('old-nonce', 300)).toBe(true);
      expect(await current.firstUse('new-nonce', 300)).toBe(true);
      const get = (key: string) =>
        client.send(new GetCommand({ TableName: tableName, Key: { pk: `REPLAY#${key}`, sk: 'REPLAY' } }));
      await vi.waitFor(async () => expect((await get('old-nonce')).Item).toBeUndefined(), {
        timeout: 20_000,
        interval: 100,
      });
      expect((await get('new-nonce')).Item).toBeDefined();
      expect(errors).toEqual([]);
    } finally {
      await cp.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
