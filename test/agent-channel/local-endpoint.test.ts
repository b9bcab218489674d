import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_CLOSE_CODES } from '../../local/agent-socket-server.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { agentCommandHandler, issueCommand } from '../../shared/usecases/agent/issue-command.ts';
import { TestAgentPeer } from '../support/agent-peer.ts';
import { testAction } from './fixtures.ts';
import { seedState, startEndpoint, type Endpoint } from './harness.ts';

let endpoint: Endpoint;
let hq: TestAgentPeer;
let seq = 0;

beforeAll(async () => {
  endpoint = await startEndpoint({ clock: systemClock });
  await seedState(endpoint.deps, 'hq');
  hq = new TestAgentPeer({ baseUrl: endpoint.url, site: 'hq', privateKey: endpoint.keys.hq });
});
afterAll(() => endpoint.close());

const action = (overrides: Partial<AgentCommandAction> = {}) =>
  testAction('hq', ++seq, { at: Date.now(), expiresAt: Date.now() + 300_000, ...overrides });
const ackMessage = (a: AgentCommandAction, status: 'succeeded' | 'failed' = 'succeeded') => ({
  v: 1 as const,
  type: 'ack' as const,
  ack: {
    commandId: a.id,
    site: 'hq',
    status,
    exitCode: status === 'succeeded' ? 0 : 1,
    finishedAt: new Date().toISOString(),
  },
});

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the local agent endpoint (real WebSocket on loopback)', () => {
  it('welcomes an agent and hands it the commands queued while it was offline; its ack completes them', async () => {
    const a = action();
    await issueCommand(endpoint.deps, a);
    const connection = await hq.connect();
    expect((await connection.next('welcome')).site).toBe('hq');
    const { command } = await connection.next('command', (m) => m.command.id === a.id);
    expect(command).toMatchObject({ site: 'hq', action: 'switch-wan', args: { link: 'lte' } });
    expect(connection.received[0]?.type).toBe('welcome');
    await connection.send(ackMessage(a));
    const record = await until(
      () => endpoint.deps.commands.get('hq', a.id),
      (r) => r?.status === 'acked',
    );
    expect(record).toMatchObject({ status: 'acked', ack: { status: 'succeeded' }, deliveries: 1 });
    await connection.close();
  });

  it('pushes a command issued while the agent is connected at once, and answers heartbeats', async () => {
    const connection = await hq.connect();
    await connection.next('welcome');
    await until(async () => endpoint.channel.connected('hq'), Boolean);
    const a = action({ command: 'restore-wan', link: 'fiber' });
    const { detail } = await agentCommandHandler(endpoint.deps)(a);
    expect(detail).toContain('delivered to the agent');
    expect((await connection.next('command', (m) => m.command.id === a.id)).command.args).toEqual({ link: 'fiber' });
    await connection.send({ v: 1, type: 'heartbeat', sentAt: new Date().toISOString(), activeLink: 'fiber' });
    expect(Date.parse((await connection.next('heartbeat-ack')).serverTime)).toBeGreaterThan(0);
    await connection.send('not json');
    expect((await connection.next('error')).message).toBe('messages are JSON text');
    expect(connection.ws.readyState).toBe(connection.ws.OPEN);
    await connection.close();
    await until(
      async () => endpoint.channel.connected('hq'),
      (c) => !c,
    );
    expect((await issueCommand(endpoint.deps, action())).delivered).toBe(false);
  });

  it('refuses an unknown key, a replayed challenge and a bare connect with 401, other paths with 404', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const status = (p: Promise<unknown>) =>
      p.then(
        () => 101,
        (e: { status?: number }) => e.status,
      );
    expect(await status(hq.connect(await hq.auth(stranger)))).toBe(401);
    expect(endpoint.events).toContainEqual(
      expect.objectContaining({ type: 'auth-refused', site: 'hq', reason: 'bad-signature' }),
    );
    const auth = await hq.auth();
    const first = await hq.connect(auth);
    expect(await status(hq.connect(auth))).toBe(401);
    expect(endpoint.events).toContainEqual(expect.objectContaining({ type: 'auth-refused', reason: 'replayed' }));
    await first.close();
    const upgradeStatus = (path: string) => {
      const ws = new WebSocket(`${endpoint.url.replace('http', 'ws')}${path}`);
      return new Promise<number | undefined>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
        ws.once('error', () => resolve(undefined));
      }).finally(() => ws.terminate());
    };
    expect(await upgradeStatus('/v1/agent/ws')).toBe(401);
    expect(endpoint.events).toContainEqual(expect.objectContaining({ type: 'auth-refused', reason: 'malformed' }));
    expect(await upgradeStatus('/v1/other')).toBe(404);
  });

  it('keeps one connection per site: a new one replaces the old, which is closed with 4409', async () => {
    const old = await hq.connect();
    await old.next('welcome');
    const fresh = await hq.connect();
    await fresh.next('welcome');
    expect((await old.closed).code).toBe(AGENT_CLOSE_CODES.replaced);
    const a = action();
    await issueCommand(endpoint.deps, a);
    await fresh.next('command', (m) => m.command.id === a.id);
    expect(old.received.some((m) => m.type === 'command' && m.command.id === a.id)).toBe(false);
    await fresh.close();
  });

  it('closes every connection when the channel closes', async () => {
    const connection = await hq.connect();
    await connection.next('welcome');
    await endpoint.channel.close();
    expect((await connection.closed).code).toBe(AGENT_CLOSE_CODES.stopping);
  });
});

describe('the polling fallback (HTTP on loopback)', () => {
  it('hands queued commands to a poll and takes acks in the next one', async () => {
    const a = action();
    await issueCommand(endpoint.deps, a);
    const first = await hq.poll([{ v: 1, type: 'heartbeat', sentAt: new Date().toISOString() }]);
    expect(first.status).toBe(200);
    expect(first.body.v).toBe(1);
    expect(first.body.commands.map((c) => c.id)).toContain(a.id);
    expect(await endpoint.deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered' });
    const second = await hq.poll([ackMessage(a, 'failed')]);
    expect(second.body.commands.map((c) => c.id)).not.toContain(a.id);
    expect(await endpoint.deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked', reported: true });
    const last = (await endpoint.deps.store.listTransitions('hq')).at(-1);
    expect(last).toMatchObject({ kind: 'action-failed' });
  });

  it('refuses a poll with a bad or reused proof (401), a body that is no PollRequest (400)', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const refused = await hq.poll([], await hq.auth(stranger));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({
      status: 401,
      code: 'agent-auth-refused',
      detail: 'agent authentication refused',
    });
    const auth = await hq.auth();
    expect((await hq.poll([], auth)).status).toBe(200);
    expect((await hq.poll([], auth)).status).toBe(401);
    const bad = await fetch(`${endpoint.url}/v1/agent/poll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"v":1}',
    });
    expect(bad.status).toBe(400);
    // The API's middleware stack: every issue named, the media type checked, unknown parameters refused.
    expect(await bad.json()).toMatchObject({
      code: 'invalid-request',
      errors: expect.arrayContaining([{ path: 'body.auth', message: 'required' }]),
    });
    const text = await fetch(`${endpoint.url}/v1/agent/poll`, { method: 'POST', body: '{"v":1}' });
    expect(text.status).toBe(415);
    const extra = await fetch(`${endpoint.url}/v1/agent/challenge?site=hq&debug=1`);
    expect(extra.status).toBe(400);
    expect(await extra.json()).toMatchObject({ errors: [{ path: 'query.debug', message: 'unknown parameter' }] });
    expect((await fetch(`${endpoint.url}/v1/agent/challenge`)).status).toBe(400);
    const challenge = await fetch(`${endpoint.url}/v1/agent/challenge?site=anything`);
    expect(challenge.status).toBe(200);
    expect(challenge.headers.get('cache-control')).toBe('no-store');
  });
});
