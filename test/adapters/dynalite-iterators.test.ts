import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// The copy of abstract-level that dynalite's databases are built on: every open iterator is attached to its database
// until it is closed, so attached minus detached is the number of iterators left open.
const level = createRequire(createRequire(import.meta.url).resolve('dynalite'))('abstract-level') as {
  AbstractLevel: { prototype: { attachResource(r: unknown): void; detachResource(r: unknown): void } };
};

describe.each([
  ['in memory', false],
  ['on disk', true],
])('dynalite %s: every Query and Scan closes its iterator', (_name, onDisk) => {
  let dynamo: LocalDynamo;
  let dir: string | undefined;
  let open = 0;

  beforeAll(async () => {
    if (onDisk) dir = await mkdtemp(join(tmpdir(), 'failover-dynalite-iterators-'));
    dynamo = await startDynalite(dir ? { path: dir } : {});
    for (let i = 0; i < 5; i++) {
      const Item = { pk: 'SITE#a', sk: `ITEM#${i}`, gsi1pk: 'ALL', gsi1sk: String(i), n: i };
      await dynamo.client.send(new PutCommand({ TableName: dynamo.tableName, Item }));
    }
    const proto = level.AbstractLevel.prototype;
    const attach = proto.attachResource;
    const detach = proto.detachResource;
    vi.spyOn(proto, 'attachResource').mockImplementation(function (this: unknown, r: unknown) {
      open++;
      attach.call(this, r);
    });
    vi.spyOn(proto, 'detachResource').mockImplementation(function (this: unknown, r: unknown) {
      open--;
      detach.call(this, r);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await dynamo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const byPk = { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'SITE#a' } };
  it.each([
    ['a Query read to its end', { ...byPk }, 5],
    ['a Query stopped by its Limit', { ...byPk, Limit: 2 }, 2],
    [
      'a Query of the index',
      { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'ALL' } },
      5,
    ],
  ])('%s', async (_what, input, count) => {
    const before = open;
    for (let i = 0; i < 50; i++) {
      const out = await dynamo.client.send(new QueryCommand({ TableName: dynamo.tableName, ...input }));
      expect(out.Items).toHaveLength(count);
    }
    // Closing is asynchronous (the stream's destroy): wait for it with a generous bound.
    await vi.waitFor(() => expect(open).toBe(before), { timeout: 10_000 });
  });

  it('a Scan, whole and with a Limit', async () => {
    const before = open;
    for (let i = 0; i < 25; i++) {
      expect((await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }))).Items).toHaveLength(5);
      const limited = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName, Limit: 1 }));
      expect(limited.Items).toHaveLength(1);
    }
    await vi.waitFor(() => expect(open).toBe(before), { timeout: 10_000 });
  });
});
