import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../shared/agent/agent.ts';
import { parseAgentConfig, type AgentConfig } from '../../shared/agent/config.ts';
import { ObservationBatch } from '../../shared/contracts/observation.ts';
import { agentFixture, testLogger, type AgentFixture } from '../support/agent-fixture.ts';
import { FakeControlPlane } from '../support/fake-control-plane.ts';
import { ServerPool } from '../support/probe-servers.ts';
import { generateAgentKeys } from '../../shared/contracts/agent-signing.ts';

const generateAgentKeysPublic = () => generateAgentKeys().publicKey;

const scratch = () => join(inject('scratchDir'), 'agent-inproc');
const running: RunningAgent[] = [];
const planes: FakeControlPlane[] = [];
const pool = new ServerPool();

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  await Promise.all(planes.splice(0).map((p) => p.stop()));
  await pool.closeAll();
});

interface Setup {
  readonly fx: AgentFixture;
  readonly cp: FakeControlPlane;
  readonly log: ReturnType<typeof testLogger>;
  readonly config: AgentConfig;
  start(config?: AgentConfig): Promise<RunningAgent>;
}

/** A fake control plane that knows the fixture's key, and the fixture's config for it (with `overrides`). */
async function setup(overrides: Record<string, unknown> = {}, options: { websocket?: boolean } = {}): Promise<Setup> {
  const fx = await agentFixture(scratch());
  const cp = new FakeControlPlane({ sites: { hq: fx.publicKey }, ...options });
  planes.push(cp);
  await cp.start();
  const { config, diagnostics } = parseAgentConfig(fx.configText(cp, overrides), join(fx.dir, 'agent.yaml'));
  expect(diagnostics).toEqual([]);
  const log = testLogger();
  return {
    fx,
    cp,
    log,
    config: config!,
    async start(c = config!) {
      const agent = await startAgent(c, { log, version: 'test' });
      running.push(agent);
      return agent;
    },
  };
}

describe('agent commands over the WebSocket', () => {
  it('authenticates, heartbeats with the active link, runs a command and acks its output and exit code', async () => {
    const s = await setup();
    await s.start();
    await s.cp.waitFor(() => s.cp.connected('hq'), 10_000, 'the agent to connect');
    const hb = await s.cp.waitFor(() => s.cp.heartbeats[0]);
    expect(hb).toMatchObject({ site: 'hq', activeLink: 'fiber', via: 'websocket' });

    const cmd = s.cp.command('hq', { action: 'switch-wan', args: { link: 'lte' } });
    const ack = await s.cp.ackOf(cmd.id);
    expect(ack).toMatchObject({ commandId: cmd.id, site: 'hq', status: 'succeeded', exitCode: 0 });
    expect(ack.output).toContain('switching to lte from fiber');
    expect(ack.dryRun).toBeUndefined();
    expect(await s.fx.records()).toEqual([`lte fiber ${cmd.id}`]);
    // The next heartbeats carry the new active link.
    await s.cp.waitFor(() => s.cp.heartbeats.some((h) => h.activeLink === 'lte'));
    expect(s.cp.authFailures).toEqual([]);
    expect(s.cp.invalid).toEqual([]);
  });

  it('acks a dry run as succeeded with dryRun and what would have run, and runs nothing', async () => {
    const s = await setup({ dryRun: true });
    await s.start();
    const cmd = s.cp.command('hq', { args: { link: 'lte' } });
    const ack = await s.cp.ackOf(cmd.id);
    expect(ack).toMatchObject({ status: 'succeeded', dryRun: true, exitCode: null });
    expect(ack.output).toMatch(/^dry run: would run .*switch-wan lte fiber /);
    expect(await s.fx.records()).toEqual([]);
  });

  it('acks a failing program as failed with its exit code and output', async () => {
    const s = await setup();
    const config = {
      ...s.config,
      actions: { 'switch-wan': { ...s.config.actions['switch-wan']!, env: { SWITCH_EXIT: '3' } } },
    };
    const agent = await s.start(config);
    const cmd = s.cp.command('hq', { args: { link: 'lte' } });
    const ack = await s.cp.ackOf(cmd.id);
    expect(ack).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(ack.output).toContain('switching to lte from fiber');
    expect(agent.activeLink()).toBe('fiber');
  });

  it('kills a program at its timeout and acks it as failed', async () => {
    const s = await setup();
    const slow = await s.fx.script('slow', 'echo started\nsleep 30');
    await s.start({
      ...s.config,
      actions: { 'switch-wan': { command: slow, args: [], timeoutSeconds: 0.3 } },
    });
    const cmd = s.cp.command('hq');
    const ack = await s.cp.ackOf(cmd.id);
    expect(ack).toMatchObject({ status: 'failed', exitCode: null });
    expect(ack.output).toMatch(/started\n[\s\S]*timed out after 0.3 s/);
  });

  it('refuses forged, foreign, expired, future, replayed, unknown and malformed commands, running none', async () => {
    const s = await setup();
    await s.start();
    await s.cp.waitFor(() => s.cp.connected('hq'));
    const other = generateKeyPairSync('ed25519').privateKey;
    const now = Date.now();
    const good = s.cp.command('hq');
    const cases = [
      [s.cp.command('hq', {}, other), 'bad-signature'],
      [s.cp.command('hq', { site: 'branch' }), 'wrong-site'],
      [
        s.cp.command('hq', {
          issuedAt: new Date(now - 120_000).toISOString(),
          expiresAt: new Date(now - 60_000).toISOString(),
        }),
        'expired',
      ],
      [
        s.cp.command('hq', {
          issuedAt: new Date(now + 120_000).toISOString(),
          expiresAt: new Date(now + 180_000).toISOString(),
        }),
        'expired',
      ],
      [s.cp.command('hq', { nonce: good.nonce }), 'replayed'], // a new id, a used nonce
      [s.cp.command('hq', { action: 'reboot' }), 'unknown-action'],
      [s.cp.command('hq', { args: { link: 'dsl' } }), 'malformed'],
    ] as const;
    await s.cp.ackOf(good.id);
    s.cp.deliver('hq', good); // the same command again
    s.cp.deliver('hq', { id: 'broken', site: 'hq', action: 'switch-wan' });
    for (const [cmd, reason] of cases) {
      const ack = await s.cp.ackOf(cmd.id);
      expect(ack, reason).toMatchObject({ status: 'refused', reason });
      expect(ack.output!.length).toBeGreaterThan(10);
    }
    // The same command again is a resend: answered with the ack of its run, not run again.
    const [firstAck, repeatAck] = await s.cp.waitFor(() => {
      const acks = s.cp.acks.filter((a) => a.commandId === good.id);
      return acks.length >= 2 ? acks : undefined;
    });
    expect(repeatAck).toEqual(firstAck);
    expect(repeatAck).toMatchObject({ status: 'succeeded' });
    expect(await s.cp.ackOf('broken')).toMatchObject({ status: 'refused', reason: 'malformed' });
    expect(await s.fx.records()).toEqual([`lte fiber ${good.id}`]);
  });

  it('answers a command sent again after a restart with its first ack, and runs it once (seen ids are kept)', async () => {
    const s = await setup();
    const first = await s.start();
    const cmd = s.cp.command('hq');
    await s.cp.ackOf(cmd.id);
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const second = await s.start();
    expect(second.activeLink()).toBe('lte'); // remembered too
    await s.cp.waitFor(() => s.cp.connected('hq'));
    s.cp.deliver('hq', cmd);
    const [firstAck, repeatAck] = await s.cp.waitFor(() => {
      const acks = s.cp.acks.filter((a) => a.commandId === cmd.id);
      return acks.length >= 2 ? acks : undefined;
    });
    expect(repeatAck).toEqual(firstAck);
    expect(repeatAck).toMatchObject({ status: 'succeeded' });
    expect(await s.fx.records()).toHaveLength(1);
  });

  it('keeps acks that cannot be sent and delivers them when the control plane is back, even after a restart', async () => {
    const s = await setup();
    const slow = await s.fx.script('slow-switch', `sleep 0.5\necho "switched to $1"`);
    const config = { ...s.config, actions: { 'switch-wan': { command: slow, args: ['{link}'], timeoutSeconds: 5 } } };
    const first = await s.start(config);
    await s.cp.waitFor(() => s.cp.connected('hq'));
    const cmd = s.cp.command('hq');
    await s.cp.stop(); // gone while the action runs
    await s.cp.waitFor(() => s.log.events('command-done')[0], 10_000, 'the action to finish');
    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect(s.cp.acks).toEqual([]);

    await s.start(config);
    await s.cp.start();
    const ack = await s.cp.ackOf(cmd.id);
    expect(ack).toMatchObject({ status: 'succeeded', exitCode: 0, output: 'switched to lte\n' });
  });

  it('drops a connection whose heartbeats go unanswered, and reconnects', async () => {
    const s = await setup();
    s.cp.ackHeartbeats = false;
    await s.start();
    await s.cp.waitFor(() => s.log.events('heartbeat-timeout').length > 0, 10_000, 'a heartbeat timeout');
    await s.cp.waitFor(() => s.cp.connections >= 2, 10_000, 'a second connection');
  });

  it('says so when the control plane replaces its connection (4409), and reconnects', async () => {
    const s = await setup();
    await s.start();
    await s.cp.waitFor(() => s.cp.connected('hq'));
    s.cp.close('hq', 4409, 'replaced by a newer connection');
    await s.cp.waitFor(() => s.log.events('replaced')[0]);
    await s.cp.waitFor(() => s.cp.connections >= 2);
  });

  it('logs a refused authentication (unknown key) and backs off', async () => {
    const s = await setup();
    s.cp.sites.hq = generateAgentKeysPublic();
    await s.start();
    await s.cp.waitFor(() => s.log.events('auth-refused').length >= 3, 10_000, 'three refusals');
    const refusals = s.log.events('auth-refused');
    expect(refusals[0]!.message).toMatch(/refused this agent \(HTTP 401\).*public key.*retrying in \d/);
    expect(refusals.map((r) => r.fields.attempt)).toEqual([1, 2, 3, ...refusals.slice(3).map((r) => r.fields.attempt)]);
    expect(s.cp.authFailures[0]).toMatchObject({ site: 'hq', via: 'websocket', reason: 'bad signature' });
    expect(s.cp.connections).toBe(0);
  });
});

describe('agent commands over polling', () => {
  it('transport poll: heartbeats, commands and acks travel in polls', async () => {
    const s = await setup({ controlPlane: { transport: 'poll' } });
    await s.start();
    await s.cp.waitFor(() => s.cp.heartbeats[0]);
    expect(s.cp.heartbeats[0]).toMatchObject({ via: 'poll', activeLink: 'fiber' });
    const cmd = s.cp.command('hq');
    expect(await s.cp.ackOf(cmd.id)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(s.cp.connections).toBe(0);
    expect(s.cp.invalid).toEqual([]);
  });

  it('transport auto: falls back to polling after failed WebSocket connects', async () => {
    const s = await setup({ controlPlane: { transport: 'auto', fallbackAfterFailures: 2 } }, { websocket: false });
    await s.start();
    await s.cp.waitFor(() => s.log.events('fallback-poll')[0], 10_000, 'the fallback');
    const cmd = s.cp.command('hq');
    expect(await s.cp.ackOf(cmd.id)).toMatchObject({ status: 'succeeded' });
    expect(s.log.events('unreachable').length).toBeGreaterThanOrEqual(2);
    expect(s.log.events('unreachable')[0]!.message).toMatch(/HTTP 503|Unexpected server response: 503/);
  });
  it('transport auto: goes back to the WebSocket when it works again', async () => {
    const s = await setup(
      { controlPlane: { transport: 'auto', fallbackAfterFailures: 1, retryWebSocketSeconds: 1 } },
      { websocket: false },
    );
    await s.start();
    await s.cp.waitFor(() => s.cp.polls > 0, 10_000, 'a poll');
    s.cp.websocket = true;
    await s.cp.waitFor(() => s.cp.connected('hq'), 10_000, 'the WebSocket');
    expect(s.log.events('retry-websocket').length).toBeGreaterThanOrEqual(1);
    const cmd = s.cp.command('hq');
    expect(await s.cp.ackOf(cmd.id)).toMatchObject({ status: 'succeeded' });
  });
});

describe('inside-out checks', () => {
  it('runs the checks through each link and reports them with vantage site:<id>/<link>', async () => {
    const seen = new Set<string>();
    const port = await pool.listen(
      createServer((req, res) => {
        seen.add(req.socket.remoteAddress ?? '?');
        res.end('ok');
      }),
    );
    const s = await setup({
      links: [
        { id: 'fiber', sourceAddress: '127.0.0.1' },
        { id: 'lte', sourceAddress: '127.0.0.2' },
        { id: 'dsl', sourceAddress: '203.0.113.250' },
      ],
      checks: {
        custom: [{ id: 'intranet', http: { url: `http://127.0.0.1:${port}/` } }],
        intervalSeconds: 60,
        jitterMs: 0,
      },
    });
    await s.start();
    const batches = await s.cp.waitFor(() => (s.cp.batches.length >= 2 ? s.cp.batches : undefined));
    for (const batch of batches) expect(ObservationBatch.safeParse(batch).success).toBe(true);
    expect(batches.map((b) => b.vantage).sort()).toEqual(['site:hq/fiber', 'site:hq/lte']);
    for (const b of batches) {
      const link = b.vantage.split('/')[1];
      expect(b.site).toBe('hq');
      expect(b.control).toBeNull();
      expect(b.observations).toMatchObject([{ site: 'hq', check: 'intranet', link, outcome: 'up', dependency: null }]);
    }
    expect([...seen].sort()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(s.log.events('link-skipped')[0]!.message).toMatch(/dsl: source address 203.0.113.250 cannot be bound/);
  });
});

describe('local autonomy', () => {
  /** A target that answers 503 to the addresses in `failing` and 200 to others. */
  async function target(failing: Set<string>): Promise<string> {
    const port = await pool.listen(
      createServer((req, res) => {
        res.statusCode = failing.has(req.socket.remoteAddress ?? '') ? 503 : 200;
        res.end();
      }),
    );
    return `http://127.0.0.1:${port}/`;
  }
  const merge = (a: ReturnType<typeof autonomy>, b: { autonomy: object }) => ({
    autonomy: { ...a.autonomy, ...b.autonomy },
  });
  const autonomy = (url: string) => ({
    autonomy: {
      enabled: true,
      offlineAfterSeconds: 0.3,
      intervalSeconds: 0.1,
      count: 1,
      down: 2,
      up: 2,
      targets: [{ id: 'edge', http: { url }, timeoutMs: 1000 }],
    },
  });

  it('switches locally when the control plane is away and the active link fails, and reports it on return', async () => {
    const url = await target(new Set(['127.0.0.1'])); // fiber fails, lte answers
    const s = await setup(autonomy(url));
    await s.cp.stop();
    const agent = await s.start();
    await s.cp.waitFor(() => s.log.events('autonomy-done')[0], 10_000, 'the local switch');
    expect(agent.activeLink()).toBe('lte');
    expect((await s.fx.records())[0]).toMatch(/^lte fiber local-/);
    expect(s.log.events('autonomy-active')).toHaveLength(1);

    await s.cp.start();
    const report = await s.cp.waitFor(() => s.cp.autonomy[0], 10_000, 'the autonomy report');
    expect(report).toMatchObject({ site: 'hq', fromLink: 'fiber', toLink: 'lte', ack: { status: 'succeeded' } });
    expect(report.reason).toMatch(/control plane unreachable; active link fiber failed 2 interval/);
    await s.cp.waitFor(() => s.cp.heartbeats.find((h) => h.activeLink === 'lte'));
    await s.cp.waitFor(() => s.log.events('autonomy-standby')[0]);
    expect(await s.fx.records()).toHaveLength(1);
  });

  it('stops promptly with every loop waiting on a long interval', async () => {
    const url = await target(new Set());
    const s = await setup({
      ...merge(autonomy(url), { autonomy: { intervalSeconds: 60 } }),
      checks: { custom: [{ id: 'edge', http: { url } }], intervalSeconds: 60, jitterMs: 0 },
    });
    await s.cp.stop();
    const agent = await s.start();
    await s.cp.waitFor(() => s.log.events('autonomy-active')[0], 10_000, 'autonomy to start');
    await new Promise((r) => setTimeout(r, 300)); // both loops are asleep now
    const started = Date.now();
    await agent.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('never switches on its own while the control plane is reachable', async () => {
    const url = await target(new Set(['127.0.0.1']));
    const s = await setup(merge(autonomy(url), { autonomy: { offlineAfterSeconds: 2 } }));
    const agent = await s.start();
    await s.cp.waitFor(() => s.cp.heartbeats.length >= 3, 10_000, 'three heartbeats');
    await new Promise((r) => setTimeout(r, 1000));
    expect(agent.activeLink()).toBe('fiber');
    expect(s.log.events('autonomy-active')).toEqual([]);
    expect(await s.fx.records()).toEqual([]);
  });

  it('does not switch when no other link is up', async () => {
    const url = await target(new Set(['127.0.0.1', '127.0.0.2']));
    const s = await setup(autonomy(url));
    await s.cp.stop();
    const agent = await s.start();
    await s.cp.waitFor(() => s.log.events('autonomy-stuck')[0], 10_000, 'the stuck message');
    expect(agent.activeLink()).toBe('fiber');
    expect(await s.fx.records()).toEqual([]);
  });
});
