import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAgentConnections } from '../../shared/adapters/aws/dynamodb-agent-connections.ts';
import { DynamoDbCommandStore } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { createDocumentClient } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import type { CommandAck } from '../../shared/contracts/agent.ts';
import { TransientError } from '../../shared/errors.ts';
import { CommandStoreError, type CommandStore } from '../../shared/ports/command-store.ts';
import { newCommand, T0 } from './fixtures.ts';

let dynamo: LocalDynamo;
let store: CommandStore;
let suite = 0;
/** Each test its own site ids, so that tests share the table and never each other's items. */
const site = (name: string) => `${name}-${++suite}`;

beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoDbCommandStore({ tableName: dynamo.tableName, client: dynamo.client, clock: { now: () => T0 } });
});
afterAll(() => dynamo.close());

const ack = (s: string, id: string, status: CommandAck['status'], extra: Partial<CommandAck> = {}): CommandAck => ({
  commandId: id,
  site: s,
  status,
  finishedAt: new Date(T0 + 2000).toISOString(),
  ...extra,
});

describe('DynamoDbCommandStore on dynalite (the CommandStore contract)', () => {
  it('stores a command queued, and a second create with the same id returns the first unchanged', async () => {
    const s = site('hq');
    const first = newCommand(s, 3);
    const created = await store.create(first);
    expect(created.created).toBe(true);
    expect(created.record).toMatchObject({
      site: s,
      id: `${s}:3:1`,
      status: 'queued',
      deliveries: 0,
      deliveredAt: null,
      ack: null,
      ackedAt: null,
      expiredAt: null,
      reported: false,
      expiresAt: T0 + 300_000,
    });
    const again = await store.create(newCommand(s, 3));
    expect(again.created).toBe(false);
    expect(again.record.command.nonce).toBe(first.command.nonce);
    expect(await store.get(s, first.id)).toEqual(created.record);
    expect(await store.get(s, 'nope')).toBeNull();
  });

  it('lets exactly one of racing deliverers claim a command, and puts it back when its send failed', async () => {
    const s = site('hq');
    const { id } = newCommand(s, 1);
    await store.create(newCommand(s, 1));
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.claim(s, id, T0 + 10)));
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    expect(claims.find((c) => c !== null)).toMatchObject({ status: 'delivered', deliveries: 1, deliveredAt: T0 + 10 });
    expect(await store.requeue(s, id)).toBe(true);
    expect(await store.requeue(s, id)).toBe(false);
    expect(await store.get(s, id)).toMatchObject({ status: 'queued', deliveries: 0 });
    expect(await store.claim(s, id, T0 + 20)).toMatchObject({
      status: 'delivered',
      deliveries: 1,
      deliveredAt: T0 + 20,
    });
    expect(await store.claim(s, 'missing', T0)).toBeNull();
  });

  it('lets exactly one of racing resenders claim a delivered command, and only as they last saw it', async () => {
    const s = site('hq');
    const { id } = newCommand(s, 1);
    await store.create(newCommand(s, 1));
    expect(await store.reclaim(s, id, 0, T0)).toBeNull(); // queued: a first send is a claim
    await store.claim(s, id, T0 + 10);
    const resends = await Promise.all(Array.from({ length: 8 }, () => store.reclaim(s, id, 1, T0 + 5010)));
    expect(resends.filter((r) => r !== null)).toHaveLength(1);
    expect(resends.find((r) => r !== null)).toMatchObject({
      status: 'delivered',
      deliveries: 2,
      deliveredAt: T0 + 5010,
    });
    expect(await store.reclaim(s, id, 1, T0 + 5020)).toBeNull(); // resent by another since
    await store.acknowledge(s, id, ack(s, id, 'succeeded'), T0 + 5030);
    expect(await store.reclaim(s, id, 2, T0 + 20_000)).toBeNull();
    expect(await store.reclaim(s, 'missing', 0, T0)).toBeNull();
  });

  it('takes the first ack of an open command only, and never one of an expired command', async () => {
    const s = site('hq');
    for (const seq of [1, 2, 3]) await store.create(newCommand(s, seq));
    const [a, b, c] = [1, 2, 3].map((seq) => `${s}:${seq}:1`) as [string, string, string];
    await store.claim(s, a, T0);
    const acked = await store.acknowledge(s, a, ack(s, a, 'failed', { exitCode: 3, output: 'boom' }), T0 + 5);
    expect(acked).toMatchObject({ status: 'acked', ackedAt: T0 + 5, ack: { status: 'failed', exitCode: 3 } });
    expect(await store.acknowledge(s, a, ack(s, a, 'succeeded'), T0 + 6)).toBeNull();
    expect((await store.get(s, a))?.ack?.status).toBe('failed');
    // An agent that polls may ack a command this store still calls queued (the poll's answer was lost).
    expect(await store.acknowledge(s, b, ack(s, b, 'succeeded'), T0 + 7)).toMatchObject({ status: 'acked' });
    expect(await store.expire(s, c, T0 + 8)).toMatchObject({ status: 'expired', expiredAt: T0 + 8 });
    expect(await store.acknowledge(s, c, ack(s, c, 'succeeded'), T0 + 9)).toBeNull();
    expect(await store.expire(s, c, T0 + 9)).toBeNull();
    expect(await store.expire(s, a, T0 + 9)).toBeNull();
    expect(await store.claim(s, c, T0 + 9)).toBeNull();
  });

  it("lists a site's commands oldest first, by status, and no other site's", async () => {
    const s = site('hq');
    const other = site('shop');
    for (const seq of [12, 2, 7]) await store.create({ ...newCommand(s, seq), createdAt: T0 + seq });
    await store.create(newCommand(other, 1));
    await store.claim(s, `${s}:7:1`, T0);
    expect((await store.list(s)).map((r) => r.action.seq)).toEqual([2, 7, 12]);
    expect((await store.list(s, { statuses: ['queued'] })).map((r) => r.action.seq)).toEqual([2, 12]);
    expect((await store.list(s, { statuses: ['delivered', 'acked'] })).map((r) => r.action.seq)).toEqual([7]);
    expect(await store.list(site('empty'))).toEqual([]);
  });

  it('remembers that a failure was reported', async () => {
    const s = site('hq');
    const { id } = newCommand(s, 1);
    await store.create(newCommand(s, 1));
    await store.expire(s, id, T0);
    await store.markReported(s, id);
    expect(await store.get(s, id)).toMatchObject({ status: 'expired', reported: true });
    await expect(store.markReported(s, 'missing')).resolves.toBeUndefined();
    expect(await store.get(s, 'missing')).toBeNull();
  });

  it('keeps autonomy reports, newest first', async () => {
    const s = site('hq');
    for (let i = 0; i < 3; i++)
      await store.putAutonomyReport(
        { site: s, at: new Date(T0 + i).toISOString(), fromLink: 'fiber', toLink: 'lte', reason: `r${i}` },
        T0 + i * 1000,
      );
    const reports = await store.listAutonomyReports(s, 2);
    expect(reports.map((r) => [r.report.reason, r.receivedAt])).toEqual([
      ['r2', T0 + 2000],
      ['r1', T0 + 1000],
    ]);
  });

  it('keeps commands, with the TTL after their expiry, under keys of its own', async () => {
    const s = site('hq');
    await store.create(newCommand(s, 1));
    const { Items } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));
    const item = Items!.find((i) => i.pk === `AGENT#${s}`)!;
    expect(item).toMatchObject({
      sk: `COMMAND#${s}:1:1`,
      entity: 'agent-command',
      expiresAt: Math.floor((T0 + 300_000) / 1000) + 30 * 86_400,
      commandExpiresAt: T0 + 300_000,
    });
  });

  it('turns SDK errors into TransientError (retry may help) or CommandStoreError', async () => {
    const missing = new DynamoDbCommandStore({ tableName: 'no-such-table', client: dynamo.client });
    await expect(missing.get('hq', 'x')).rejects.toBeInstanceOf(CommandStoreError);
    const client = createDocumentClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const unreachable = new DynamoDbCommandStore({ tableName: 'failover', client });
    await expect(unreachable.create(newCommand('hq', 1))).rejects.toBeInstanceOf(TransientError);
    client.destroy();
  });
});

describe('DynamoDbAgentConnections on dynalite', () => {
  it('keeps one live connection per site, replaced by a newer one, forgotten only by its own disconnect', async () => {
    let now = T0;
    const connections = new DynamoDbAgentConnections({
      tableName: dynamo.tableName,
      client: dynamo.client,
      ttlSeconds: 60,
      clock: { now: () => now },
    });
    const s = site('hq');
    expect(await connections.lookup(s)).toBeNull();
    expect(await connections.register(s, 'conn-1', now)).toBeNull();
    expect(await connections.lookup(s)).toBe('conn-1');
    expect(await connections.register(s, 'conn-2', now)).toBe('conn-1');
    expect(await connections.unregister(s, 'conn-1')).toBe(false);
    expect(await connections.lookup(s)).toBe('conn-2');
    await connections.touch(s, 'conn-2', { at: now, activeLink: 'lte', version: '1.0.0' });
    await connections.touch(s, 'conn-1', { at: now, activeLink: 'fiber' });
    const { Item } = await dynamo.client.send(
      new GetCommand({
        TableName: dynamo.tableName,
        Key: { pk: `AGENT#${s}`, sk: 'CONNECTION' },
      }),
    );
    expect(Item).toMatchObject({
      connectionId: 'conn-2',
      heartbeat: { activeLink: 'lte' },
      entity: 'agent-connection',
    });
    expect(await connections.unregister(s, 'conn-2')).toBe(true);
    expect(await connections.lookup(s)).toBeNull();

    await connections.register(s, 'conn-3', now);
    now += 61_000; // past its TTL, even though dynalite never deletes the item
    expect(await connections.lookup(s)).toBeNull();
    expect(await connections.register(s, 'conn-4', now)).toBeNull();
  });
});
