import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentKeys } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { TABLE } from '../../shared/adapters/aws/table.ts';
import { controlPlanePublicKey, EphemeralAgentKeyring } from '../../shared/adapters/local/file-agent-keyring.ts';
import { nonce, signCommand } from '../../shared/contracts/agent-signing.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { CommandRecord } from '../../shared/ports/command-store.ts';
import { deliverPending } from '../../shared/usecases/agent/deliver-pending.ts';
import { expireCommands } from '../../shared/usecases/agent/expire-commands.ts';
import { agentCommandHandler, issueCommand } from '../../shared/usecases/agent/issue-command.ts';
import { startCli, type CliProcess } from '../support/cli.ts';
import { testAction } from './fixtures.ts';
import { seedState, startEndpoint, type Endpoint } from './harness.ts';

/**
 * The local runtime's agent endpoint with the real agent (`node bin/failover.js agent --config agent.yaml`) on
 * loopback. Crafted commands (forged, other-site, replayed, expired) go through the control plane's own store and
 * delivery path, never by mocking the agent.
 */

let endpoint: Endpoint;
let dir: string;
let seq = 0;
const agents: CliProcess[] = [];

beforeAll(async () => {
  endpoint = await startEndpoint({ clock: systemClock });
  await seedState(endpoint.deps, 'hq');
  const base = join(inject('scratchDir'), 'agent-channel-e2e');
  await mkdir(base, { recursive: true });
  dir = await mkdtemp(join(base, 'run-'));
});
afterAll(() => endpoint.close());
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => stop(a)));
  // What a test left open is not the next test's to run.
  for (const r of await endpoint.deps.commands.list('hq', { statuses: ['queued', 'delivered'] }))
    await endpoint.deps.commands.expire('hq', r.id, Date.now());
});

/** An agent.yaml for site hq in its own directory, with a switch script that records each run. */
async function agentFiles(options: { transport?: 'websocket' | 'poll'; key?: string } = {}) {
  const home = await mkdtemp(join(dir, 'agent-'));
  const keyFile = join(home, 'agent.key');
  const pem = options.key ?? endpoint.keys.hq.export({ format: 'pem', type: 'pkcs8' }).toString();
  await writeFile(keyFile, pem, { mode: 0o600 });
  const record = join(home, 'switches.log');
  const script = join(home, 'switch-wan');
  await writeFile(
    script,
    '#!/bin/sh\necho "switching to $1 from $2"\necho "$1 $FAILOVER_COMMAND_ID" >> "$3"\nexit "${SWITCH_EXIT:-0}"\n',
  );
  await chmod(script, 0o755);
  const config = join(home, 'agent.yaml');
  await writeFile(
    config,
    stringify({
      version: 1,
      site: 'hq',
      controlPlane: {
        url: `${endpoint.url.replace('http', 'ws')}/v1/agent/ws`,
        publicKey: await controlPlanePublicKey(endpoint.deps.keys),
        transport: options.transport ?? 'websocket',
        pollIntervalSeconds: 0.2,
        heartbeatSeconds: 2,
        reconnect: { minSeconds: 0.05, maxSeconds: 0.4 },
      },
      privateKeyFile: keyFile,
      stateDir: join(home, 'state'),
      links: [
        { id: 'fiber', sourceAddress: '127.0.0.1' },
        { id: 'lte', sourceAddress: '127.0.0.1' },
      ],
      actions: {
        'switch-wan': { command: script, args: ['{link}', '{fromLink}', record], timeoutSeconds: 5 },
        'restore-wan': { command: script, args: ['{link}', '{fromLink}', record], timeoutSeconds: 5 },
      },
    }),
  );
  return {
    config,
    records: async () => (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
}

function startAgent(config: string, env: Record<string, string> = {}): CliProcess {
  const agent = startCli(['agent', '--config', config, '--json-logs'], { timeoutMs: 60_000, env });
  agents.push(agent);
  return agent;
}

async function stop(agent: CliProcess): Promise<void> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGTERM');
  await agent.exited.catch(() => undefined);
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const action = (overrides: Partial<AgentCommandAction> = {}) =>
  testAction('hq', 1000 + ++seq, { at: Date.now(), expiresAt: Date.now() + 300_000, ...overrides });
const record = (id: string) => endpoint.deps.commands.get('hq', id);
const acked = (id: string) =>
  until(
    () => record(id),
    (r) => r?.status === 'acked',
    `the ack of ${id}`,
  );
const connected = () => until(async () => endpoint.channel.connected('hq'), Boolean, 'the agent to connect');
const lastTransition = async () => (await endpoint.deps.store.listTransitions('hq')).at(-1);

/** Stores a crafted command for hq as the control plane would, then hands it over through its delivery path. */
async function craft(
  mutate: (body: Parameters<typeof signCommand>[0]) => Parameters<typeof signCommand>[0],
  key?: Parameters<typeof signCommand>[1],
): Promise<CommandRecord> {
  const a = action();
  const body = mutate({
    id: a.id,
    site: 'hq',
    action: a.command,
    args: { link: a.link },
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(a.expiresAt).toISOString(),
    nonce: nonce(),
  });
  const command = signCommand(body, key ?? (await endpoint.deps.keys.signingKey()));
  const { record: stored } = await endpoint.deps.commands.create({
    site: 'hq',
    id: a.id,
    action: a,
    command,
    createdAt: Date.now(),
  });
  return stored;
}

describe('the agent channel with the real agent (WebSocket on loopback)', () => {
  it('delivers a command to the connected agent, which runs the script and acks it', async () => {
    const files = await agentFiles();
    startAgent(files.config);
    await connected();
    const a = action();
    expect((await agentCommandHandler(endpoint.deps)(a)).detail).toContain('delivered to the agent');
    const done = await acked(a.id);
    expect(done?.ack).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      output: expect.stringContaining('switching to lte'),
    });
    expect(await files.records()).toEqual([`lte ${a.id}`]);
  });

  it('reports a failed run as an action-failed transition with the output', async () => {
    const files = await agentFiles();
    startAgent(files.config, { SWITCH_EXIT: '3' });
    await connected();
    const a = action();
    await agentCommandHandler(endpoint.deps)(a);
    expect((await acked(a.id))?.ack).toMatchObject({ status: 'failed', exitCode: 3 });
    const t = await until(
      lastTransition,
      (x) => x?.explanation.summary.includes(a.id) === true || x?.kind === 'action-failed',
      'the failure',
    );
    expect(t).toMatchObject({ kind: 'action-failed' });
    expect(t!.explanation.summary).toContain(
      'the agent ran it and it failed with exit code 3: switching to lte from fiber',
    );
  });

  it('queues a command for an offline agent and delivers it when the agent connects', async () => {
    const files = await agentFiles();
    const a = action();
    expect((await issueCommand(endpoint.deps, a)).delivered).toBe(false);
    expect(await record(a.id)).toMatchObject({ status: 'queued' });
    startAgent(files.config);
    expect((await acked(a.id))?.ack?.status).toBe('succeeded');
    expect(await files.records()).toEqual([`lte ${a.id}`]);
  });

  it('sends a command marked delivered that never reached the agent (a crash before the send) when it connects', async () => {
    const files = await agentFiles();
    const a = action();
    await issueCommand(endpoint.deps, a);
    // What a control plane killed between its claim and its send leaves behind.
    expect(await endpoint.deps.commands.claim('hq', a.id, Date.now())).toMatchObject({ status: 'delivered' });
    startAgent(files.config);
    expect((await acked(a.id))?.ack?.status).toBe('succeeded');
    expect(await record(a.id)).toMatchObject({ deliveries: 2 });
    expect(await files.records()).toEqual([`lte ${a.id}`]);
  });

  it('resends a command whose ack was lost; the agent answers with the same ack and runs it once', async () => {
    const files = await agentFiles();
    startAgent(files.config);
    await connected();
    const a = action();
    await agentCommandHandler(endpoint.deps)(a);
    const first = await acked(a.id);
    // The ack never recorded (a control plane killed as it arrived): the command is delivered, unacknowledged.
    await endpoint.dynamo.client.send(
      new UpdateCommand({
        TableName: endpoint.dynamo.tableName,
        Key: { [TABLE.partitionKey]: agentKeys.agent('hq'), [TABLE.sortKey]: agentKeys.commandSk(a.id) },
        UpdateExpression: 'SET #status = :delivered, #ack = :null, #ackedAt = :null',
        ExpressionAttributeNames: { '#status': 'status', '#ack': 'ack', '#ackedAt': 'ackedAt' },
        ExpressionAttributeValues: { ':delivered': 'delivered', ':null': null },
      }),
    );
    // Resent after 5 s, with the agent's next heartbeat (every 2 s here).
    const again = await until(
      () => record(a.id),
      (r) => r?.status === 'acked',
      'the ack of the resend',
      30_000,
    );
    expect(again).toMatchObject({ deliveries: 2, ack: first!.ack });
    expect(endpoint.events).toContainEqual({ type: 'command-resent', site: 'hq', id: a.id, deliveries: 2 });
    expect(await files.records()).toEqual([`lte ${a.id}`]);
  });

  it('never runs a command that expired while the agent was offline, and raises the alert', async () => {
    const files = await agentFiles();
    const a = action({ expiresAt: Date.now() + 300 });
    await issueCommand(endpoint.deps, a);
    await new Promise((r) => setTimeout(r, 400));
    const swept = await expireCommands(endpoint.deps, { sites: ['hq'] });
    expect(swept.expired.map((r) => r.id)).toContain(a.id);
    expect((await lastTransition())!.explanation.summary).toContain('command expired before the agent ran it');
    const agent = startAgent(files.config);
    await connected();
    // A few heartbeats later (each would hand over queued commands), nothing has run.
    await agent.waitFor(/"event":"connected"/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await files.records()).toEqual([]);
    expect(await record(a.id)).toMatchObject({ status: 'expired', deliveries: 0 });
  });

  it('has the agent refuse a command that expired on the way, a forged one and one for another site', async () => {
    const files = await agentFiles();
    startAgent(files.config);
    await connected();
    const stale = await craft((b) => ({ ...b, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const forged = await craft((b) => b, await new EphemeralAgentKeyring().signingKey());
    const elsewhere = await craft((b) => ({ ...b, site: 'shop' }));
    // The control plane's delivery skips what it knows is expired; the stale one goes out as if delayed in transit.
    await endpoint.deps.commands.claim('hq', stale.id, Date.now());
    await endpoint.channel.send('hq', { v: 1, type: 'command', command: stale.command });
    await deliverPending(endpoint.deps, {
      site: 'hq',
      send: (command) => endpoint.channel.send('hq', { v: 1, type: 'command', command }),
    });
    for (const [r, reason] of [
      [stale, 'expired'],
      [forged, 'bad-signature'],
      [elsewhere, 'wrong-site'],
    ] as const) {
      const done = await until(
        () => record(r.id),
        (x) => x?.reported === true,
        `the refusal of ${r.id} recorded`,
      );
      expect(done).toMatchObject({ status: 'acked', ack: { status: 'refused', reason } });
    }
    expect(await files.records()).toEqual([]);
    const summaries = (await endpoint.deps.store.listTransitions('hq')).slice(-3).map((t) => t.explanation.summary);
    expect(summaries.join('\n')).toMatch(
      /refused it \(expired\)[\s\S]*refused it \(bad-signature\)[\s\S]*refused it \(wrong-site\)/,
    );
  });

  it('has the agent answer a command sent again with its first ack: it runs once, the resend loop ends', async () => {
    const files = await agentFiles();
    startAgent(files.config);
    await connected();
    const a = action();
    await agentCommandHandler(endpoint.deps)(a);
    const first = await acked(a.id);
    expect(first?.ack?.status).toBe('succeeded');
    endpoint.events.length = 0;
    await endpoint.channel.send('hq', { v: 1, type: 'command', command: first!.command });
    await until(
      async () => endpoint.events.find((e) => e.type === 'ack-ignored' && e.id === a.id),
      Boolean,
      'the answer to the replay',
    );
    expect(endpoint.events).toContainEqual(
      expect.objectContaining({
        type: 'ack-ignored',
        id: a.id,
        status: 'succeeded',
        why: 'the command is already acked',
      }),
    );
    expect(await files.records()).toEqual([`lte ${a.id}`]);
  });

  it('refuses an agent whose key is not the one in sites.yaml: it cannot connect', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const files = await agentFiles({ key: stranger });
    endpoint.events.length = 0;
    const agent = startAgent(files.config);
    await agent.waitFor(/auth-refused/);
    expect(endpoint.events).toContainEqual(
      expect.objectContaining({ type: 'auth-refused', site: 'hq', reason: 'bad-signature' }),
    );
    expect(endpoint.channel.connected('hq')).toBe(false);
    const a = action();
    expect((await agentCommandHandler(endpoint.deps)(a)).detail).toContain('queued');
  });
});

describe('the polling fallback with the real agent', () => {
  it('delivers commands to an agent that only polls, and takes its acks', async () => {
    const files = await agentFiles({ transport: 'poll' });
    const a = action();
    await issueCommand(endpoint.deps, a);
    startAgent(files.config);
    expect((await acked(a.id))?.ack?.status).toBe('succeeded');
    const b = action({ command: 'restore-wan', link: 'fiber' });
    expect((await agentCommandHandler(endpoint.deps)(b)).detail).toContain('queued');
    expect((await acked(b.id))?.ack?.status).toBe('succeeded');
    expect(await files.records()).toEqual([`lte ${a.id}`, `fiber ${b.id}`]);
    expect(endpoint.channel.connected('hq')).toBe(false);
  });
});
