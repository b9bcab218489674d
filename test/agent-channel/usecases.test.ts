import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EphemeralAgentKeyring, controlPlanePublicKey } from '../../shared/adapters/local/file-agent-keyring.ts';
import { agentAuthPayload, publicKeyFromRaw, signBytes, verifyCommand } from '../../shared/contracts/agent-signing.ts';
import type { AgentAuth, CommandAck, ServerMessage } from '../../shared/contracts/agent.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import type { AgentChannel } from '../../shared/ports/agent-channel.ts';
import { authenticateAgent } from '../../shared/usecases/agent/authenticate-agent.ts';
import { deliverPending, RESEND, viaChannel } from '../../shared/usecases/agent/deliver-pending.ts';
import { AgentAuthError, NoAgentError, type AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { expireCommands } from '../../shared/usecases/agent/expire-commands.ts';
import { handleAgentMessage } from '../../shared/usecases/agent/handle-agent-message.ts';
import { issueChallenge } from '../../shared/usecases/agent/issue-challenge.ts';
import { agentCommandHandler, issueCommand } from '../../shared/usecases/agent/issue-command.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { dispatchSite } from '../../shared/usecases/dispatch.ts';
import { testBatch, twoLinkRound } from '../support/observations.ts';
import { T0, testAction } from './fixtures.ts';
import { REGIONS, seedState, startChannel, type Channel } from './harness.ts';

/** A channel to agents that are online or not, at the test's word; remembers what it sent. */
class RecordingChannel implements AgentChannel {
  readonly online = new Set<string>();
  readonly sent: { site: string; message: ServerMessage }[] = [];
  failWith: Error | undefined;

  async send(site: string, message: ServerMessage): Promise<boolean> {
    if (this.failWith) throw this.failWith;
    if (!this.online.has(site)) return false;
    this.sent.push({ site, message });
    return true;
  }
}

let now = T0;
const clock = { now: () => now };
const recording = new RecordingChannel();
const dispatched: string[] = [];
let ch: Channel;
let deps: AgentChannelDeps;
let seq = 100;

beforeAll(async () => {
  ch = await startChannel({ clock, channel: recording, dispatch: (site) => void dispatched.push(site) });
  deps = ch.deps;
  await seedState(deps, 'hq');
  await seedState(deps, 'shop');
});
afterAll(() => ch.close());
beforeEach(() => {
  now += 3_600_000; // every test in its own hour: earlier commands have expired
  recording.online.clear();
  recording.sent.length = 0;
  recording.failWith = undefined;
  ch.events.length = 0;
  dispatched.length = 0;
});

/** A fresh action of `site` (its own seq), expiring in 5 minutes. */
const action = (site = 'hq', overrides: Partial<AgentCommandAction> = {}) =>
  testAction(site, ++seq, { at: now, expiresAt: now + 300_000, ...overrides });

async function signedAuth(site: string, key = ch.keys.hq): Promise<AgentAuth> {
  const c = await issueChallenge(deps, { site });
  return {
    site: c.site,
    nonce: c.nonce,
    expiresAt: c.expiresAt,
    token: c.token,
    signature: signBytes(agentAuthPayload(c), key),
  };
}

const replies = () => {
  const sent: ServerMessage[] = [];
  return { sent, reply: async (m: ServerMessage) => void sent.push(m) };
};

const siteOf = (id: string) => deps.config.sites.find((s) => s.id === id)!;

const ackOf = (a: AgentCommandAction, status: CommandAck['status'], extra: Partial<CommandAck> = {}): CommandAck => ({
  commandId: a.id,
  site: a.site,
  status,
  finishedAt: new Date(now).toISOString(),
  ...extra,
});

async function lastTransition(site: string) {
  const all = await deps.store.listTransitions(site);
  return all.at(-1);
}

describe('issueChallenge and authenticateAgent', () => {
  it('lets in an agent that signed a fresh challenge of this control plane with its key, once', async () => {
    const auth = await signedAuth('hq');
    expect(Date.parse(auth.expiresAt) - now).toBe(60_000);
    const { site } = await authenticateAgent(deps, auth);
    expect(site.id).toBe('hq');
    expect(ch.events).toContainEqual({ type: 'auth-accepted', site: 'hq' });
    await expect(authenticateAgent(deps, auth)).rejects.toMatchObject({ reason: 'replayed', site: 'hq' });
  });

  const refusals: [string, AgentAuthError['reason'], () => Promise<unknown>][] = [
    ['not an AgentAuth', 'malformed', async () => ({ site: 'hq', nonce: 'x' })],
    ['a site the configuration does not have', 'unknown-site', () => signedAuth('nowhere')],
    ['a site without an agent key', 'no-agent-key', () => signedAuth('bare')],
    ["another site's key", 'bad-signature', () => signedAuth('hq', ch.keys.shop)],
    [
      'a challenge whose expiry was moved',
      'bad-token',
      async () => {
        const c = await issueChallenge(deps, { site: 'hq' });
        const expiresAt = new Date(Date.parse(c.expiresAt) + 3_600_000).toISOString();
        const moved = { ...c, expiresAt };
        return { ...moved, v: undefined, signature: signBytes(agentAuthPayload(moved), ch.keys.hq) };
      },
    ],
    [
      "another control plane's challenge",
      'bad-token',
      async () => {
        const c = await issueChallenge({ ...deps, keys: new EphemeralAgentKeyring() }, { site: 'hq' });
        return { ...c, signature: signBytes(agentAuthPayload(c), ch.keys.hq) };
      },
    ],
    [
      'an expired challenge',
      'expired',
      async () => {
        const auth = await signedAuth('hq');
        now += 61_000;
        return auth;
      },
    ],
  ];
  it.each(refusals)('refuses %s (%s) and logs the reason and site, never the signature', async (_, reason, make) => {
    const auth = (await make()) as AgentAuth;
    const error = await authenticateAgent(deps, auth).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentAuthError);
    expect(error).toMatchObject({ reason });
    const logged = ch.events.find((e) => e.type === 'auth-refused');
    expect(logged).toMatchObject({ type: 'auth-refused', reason, site: reason === 'malformed' ? 'hq' : auth.site });
    if (auth.signature) expect(JSON.stringify(ch.events)).not.toContain(auth.signature);
  });

  it("does not let a forgery spend a genuine agent's challenge", async () => {
    const genuine = await signedAuth('hq');
    const forged = { ...genuine, signature: signBytes(agentAuthPayload(genuine), ch.keys.shop) };
    await expect(authenticateAgent(deps, forged)).rejects.toMatchObject({ reason: 'bad-signature' });
    await expect(authenticateAgent(deps, genuine)).resolves.toMatchObject({ site: { id: 'hq' } });
  });

  it('refuses a malformed site id for a challenge', async () => {
    await expect(issueChallenge(deps, { site: '../etc' })).rejects.toThrow();
  });
});

describe('issueCommand (the dispatcher handler)', () => {
  it('queues the command of an offline agent, and a retry changes nothing', async () => {
    const a = action();
    const out = await issueCommand(deps, a);
    expect(out).toMatchObject({ created: true, delivered: false, record: { status: 'queued', id: a.id } });
    expect(out.detail).toBe(`switch-wan to lte (${a.id}) queued until the agent connects or polls`);
    const again = await issueCommand(deps, a);
    expect(again.created).toBe(false);
    expect(again.record.command.nonce).toBe(out.record.command.nonce);
    expect(recording.sent).toEqual([]);
    expect(ch.events.filter((e) => e.type === 'command-queued')).toHaveLength(1);
  });

  it('delivers a signed command with the action as id, site, action, link, expiry and a nonce to a live agent', async () => {
    recording.online.add('hq');
    const a = action('hq', { command: 'restore-wan', link: 'fiber' });
    const { detail } = await agentCommandHandler(deps)(a);
    expect(detail).toBe(
      `restore-wan to fiber (${a.id}) delivered to the agent; sent again until it acks, until ${new Date(a.expiresAt).toISOString()}`,
    );
    expect(recording.sent).toHaveLength(1);
    const { message } = recording.sent[0]!;
    if (message.type !== 'command') throw new Error('expected a command');
    expect(message.command).toMatchObject({
      id: a.id,
      site: 'hq',
      action: 'restore-wan',
      args: { link: 'fiber' },
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(a.expiresAt).toISOString(),
    });
    expect(message.command.nonce.length).toBeGreaterThanOrEqual(16);
    const key = publicKeyFromRaw(await controlPlanePublicKey(deps.keys));
    expect(verifyCommand(message.command, key)).toBe(true);
    expect(verifyCommand({ ...message.command, args: { link: 'lte' } }, key)).toBe(false);
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered', deliveries: 1 });
    // A retry of the dispatcher before a resend is due sends nothing again.
    expect((await issueCommand(deps, a)).detail).toContain('delivered to the agent');
    expect(recording.sent).toHaveLength(1);
  });

  it('keeps the command queued when the channel fails, and says so in the log', async () => {
    recording.online.add('hq');
    recording.failWith = new Error('socket hang up');
    const a = action();
    expect((await issueCommand(deps, a)).delivered).toBe(false);
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'queued' });
    expect(ch.events).toContainEqual({ type: 'delivery-failed', site: 'hq', id: a.id, error: 'socket hang up' });
  });

  it('refuses a site without an agent', async () => {
    await expect(issueCommand(deps, action('bare'))).rejects.toBeInstanceOf(NoAgentError);
  });

  it("applies the decider's agent-command actions through dispatchSite", async () => {
    const site = 'shop';
    for (const at of [now + 1000, now + 61_000, now + 121_000]) {
      now = at;
      await decideSite(deps, { site, batches: twoLinkRound({ site, regions: REGIONS, at, fiber: 'down' }) });
    }
    const state = await deps.store.load(site);
    const pending = state!.outbox.find((x) => x.kind === 'agent-command') as AgentCommandAction;
    expect(pending).toMatchObject({ command: 'switch-wan', link: 'lte' });
    const { config, store } = deps;
    const out = await dispatchSite({ config, store, clock, agentCommands: agentCommandHandler(deps) }, { site });
    expect(out.applied.map((x) => x.id)).toContain(pending.id);
    expect(await deps.commands.get(site, pending.id)).toMatchObject({ status: 'queued', action: pending });
  });
});

describe('resending a command until the agent acks it', () => {
  /** The deps with the resend clock recorded, and the commands sent to hq so far. */
  const resending = () => {
    const scheduled: number[] = [];
    const d: AgentChannelDeps = { ...deps, resendAt: (site, at) => void scheduled.push(at) };
    const sentIds = () =>
      recording.sent.map((m) => (m.message.type === 'command' ? m.message.command.id : m.message.type));
    const pending = () => deliverPending(d, { site: 'hq', send: viaChannel(d, 'hq') });
    return { d, scheduled, sentIds, pending };
  };

  it('sends the same signed command again when its resend is due, backing off, until the ack; then never', async () => {
    const r = resending();
    recording.online.add('hq');
    const a = action();
    await issueCommand(r.d, a);
    const first = recording.sent[0]!.message;
    expect(r.scheduled).toEqual([now + RESEND.firstMs]);
    await r.pending(); // not due yet
    expect(r.sentIds()).toEqual([a.id]);
    now += RESEND.firstMs;
    await r.pending();
    expect(r.sentIds()).toEqual([a.id, a.id]);
    expect(recording.sent[1]!.message).toEqual(first); // same id, nonce and signature
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered', deliveries: 2 });
    expect(ch.events).toContainEqual({ type: 'command-resent', site: 'hq', id: a.id, deliveries: 2 });
    expect(r.scheduled.at(-1)).toBe(now + 2 * RESEND.firstMs);
    now += 2 * RESEND.firstMs - 1;
    await r.pending();
    expect(r.sentIds()).toHaveLength(2);
    now += 1;
    await r.pending();
    expect(r.sentIds()).toHaveLength(3);
    // The agent's ack (of its one run) ends it.
    await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: { v: 1, type: 'ack', ack: ackOf(a, 'succeeded') },
      reply: async () => undefined,
    });
    now += RESEND.maxMs;
    await r.pending();
    expect(r.sentIds()).toHaveLength(3);
  });

  it('backs off to a minute apart and stops before the expiry; the sweep then expires it', async () => {
    const r = resending();
    recording.online.add('hq');
    const a = action('hq', { expiresAt: now + 600_000 });
    await issueCommand(r.d, a);
    const sentAt: number[] = [];
    for (let t = 0; t <= 600_000; t += 5_000) {
      const before = r.sentIds().length;
      await r.pending();
      if (r.sentIds().length > before || t === 0) sentAt.push(t / 1000);
      now += 5_000;
    }
    expect(sentAt).toEqual([0, 5, 15, 35, 75, 135, 195, 255, 315, 375, 435, 495, 555]);
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered', deliveries: 13 });
    expect(Math.max(...r.scheduled)).toBeLessThan(a.expiresAt);
    expect((await expireCommands(deps)).expired.map((e) => e.id)).toContain(a.id);
  });

  it('gives a new connection every command still waiting for its ack at once', async () => {
    const r = resending();
    recording.online.add('hq');
    const a = action();
    await issueCommand(r.d, a);
    recording.sent.length = 0;
    const { sent, reply } = replies();
    await deliverPending(r.d, {
      site: 'hq',
      resend: 'all',
      send: (command) => reply({ v: 1, type: 'command', command }).then(() => true),
    });
    expect(sent).toMatchObject([{ type: 'command', command: { id: a.id } }]);
  });

  it('sends an older command still waiting for its ack again before a newer one, so the agent gets them in order', async () => {
    const r = resending();
    recording.online.add('hq');
    const older = action();
    await issueCommand(r.d, older);
    now += 1000;
    const newer = action('hq', { command: 'restore-wan', link: 'fiber' });
    await issueCommand(r.d, newer);
    expect(r.sentIds()).toEqual([older.id, older.id, newer.id]);
  });

  it('sends a due command once when deliverers race, and puts it back in the queue when the agent is gone', async () => {
    const r = resending();
    recording.online.add('hq');
    const a = action();
    await issueCommand(r.d, a);
    now += RESEND.firstMs;
    await Promise.all([r.pending(), r.pending(), r.pending()]);
    expect(r.sentIds()).toEqual([a.id, a.id]);
    now += 2 * RESEND.firstMs;
    recording.online.clear();
    await r.pending();
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'queued', deliveries: 2 });
    recording.online.add('hq');
    await r.pending(); // queued: sent at the next chance
    expect(r.sentIds()).toEqual([a.id, a.id, a.id]);
  });
});

describe('handleAgentMessage', () => {
  it('answers a heartbeat, then hands over the queued commands', async () => {
    const a = action();
    await issueCommand(deps, a);
    const { sent, reply } = replies();
    const out = await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: { v: 1, type: 'heartbeat', sentAt: new Date(now).toISOString(), activeLink: 'fiber' },
      reply,
    });
    expect(out).toEqual({ type: 'heartbeat' });
    expect(sent.map((m) => m.type)).toEqual(['heartbeat-ack', 'command']);
    expect(sent[1]).toMatchObject({ command: { id: a.id } });
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered' });
    // Nothing is sent twice.
    const second = replies();
    await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: { v: 1, type: 'heartbeat', sentAt: new Date(now).toISOString() },
      reply: second.reply,
    });
    expect(second.sent.map((m) => m.type)).toEqual(['heartbeat-ack']);
  });

  it('records a successful ack, and nothing else', async () => {
    const a = action();
    await issueCommand(deps, a);
    const before = await lastTransition('hq');
    const { reply } = replies();
    await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: { v: 1, type: 'ack', ack: ackOf(a, 'succeeded', { exitCode: 0, output: 'ok' }) },
      reply,
    });
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked', ack: { status: 'succeeded' } });
    expect(await lastTransition('hq')).toEqual(before);
    expect(dispatched).toEqual([]);
  });

  const failures: [string, Partial<CommandAck> & { status: CommandAck['status'] }, string][] = [
    [
      'failed',
      { status: 'failed', exitCode: 2, output: 'ip: RTNETLINK answers: No such device\n' },
      'the agent ran it and it failed with exit code 2: ip: RTNETLINK answers: No such device',
    ],
    ['refused', { status: 'refused', reason: 'bad-signature' }, 'the agent refused it (bad-signature)'],
  ];
  it.each(failures)(
    'records a %s ack as an action-failed transition with a critical alert and an agent.command_failed webhook',
    async (_, ack, text) => {
      const a = action();
      await issueCommand(deps, a);
      const { reply } = replies();
      await handleAgentMessage(deps, {
        site: siteOf('hq'),
        message: { v: 1, type: 'ack', ack: ackOf(a, ack.status, ack) },
        reply,
      });
      const t = await lastTransition('hq');
      expect(t).toMatchObject({ kind: 'action-failed' });
      expect(t!.explanation.summary).toContain(`agent command switch-wan to lte failed after 1 attempt: ${text}`);
      const state = await deps.store.load('hq');
      const effects = state!.outbox.filter((x) => x.seq === t!.seq);
      expect(effects).toContainEqual(expect.objectContaining({ kind: 'alert', severity: 'critical' }));
      expect(effects).toContainEqual(
        expect.objectContaining({
          kind: 'webhook',
          event: 'agent.command_failed',
          data: expect.objectContaining({ action: a.id, command: 'switch-wan', link: 'lte', error: text }),
        }),
      );
      expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked', reported: true });
      expect(dispatched).toEqual(['hq']);

      // The same ack again changes nothing.
      await handleAgentMessage(deps, {
        site: siteOf('hq'),
        message: { v: 1, type: 'ack', ack: ackOf(a, ack.status, ack) },
        reply,
      });
      expect(await lastTransition('hq')).toEqual(t);
      expect(ch.events).toContainEqual(
        expect.objectContaining({ type: 'ack-ignored', site: 'hq', id: a.id, why: 'the command is already acked' }),
      );
    },
  );

  it("refuses an ack of another site's command, and malformed messages", async () => {
    const a = action('shop');
    await issueCommand(deps, a);
    const { sent, reply } = replies();
    const out = await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: { v: 1, type: 'ack', ack: ackOf(a, 'failed') },
      reply,
    });
    expect(out).toMatchObject({ type: 'refused' });
    expect(sent).toEqual([{ v: 1, type: 'error', message: 'ack for site shop on the connection of hq' }]);
    expect(await deps.commands.get('shop', a.id)).toMatchObject({ status: 'queued' });
    expect(
      await handleAgentMessage(deps, { site: siteOf('hq'), message: { v: 2, type: 'heartbeat' }, reply }),
    ).toMatchObject({
      type: 'refused',
    });
  });

  it("feeds observations of the site's own links to the decider as vantage site:<site>/<link>, and refuses others", async () => {
    const batch = (vantage: string, site = 'hq') =>
      testBatch({ site, vantage, at: now, results: [{ check: 'web-fiber', link: 'fiber', outcome: 'down' }] });
    const { sent, reply } = replies();
    const out = await handleAgentMessage(deps, {
      site: siteOf('hq'),
      message: {
        v: 1,
        type: 'observations',
        batches: [
          batch('site:hq/fiber'),
          batch('region:us-east-1'),
          batch('site:hq/satellite'),
          batch('site:shop/fiber', 'shop'),
        ],
      },
      reply,
    });
    expect(out).toMatchObject({ type: 'refused' });
    expect(sent[0]).toMatchObject({ type: 'error', message: expect.stringContaining('3 batch(es)') });
    expect(ch.events).toContainEqual({ type: 'observations', site: 'hq', accepted: 1, refused: 3 });
    const state = await deps.store.load('hq');
    expect(state!.streaks['web-fiber|fiber|site:hq/fiber']).toMatchObject({
      down: 1,
      lastRound: new Date(now).toISOString(),
    });
    expect(state!.vantages['site:hq/fiber']).toBeDefined();
    expect(state!.vantages['site:hq/satellite']).toBeUndefined();
    expect((await deps.store.load('shop'))!.vantages['site:shop/fiber']).toBeUndefined();

    const published: ObservationBatch[][] = [];
    await handleAgentMessage(
      { ...deps, observations: { publish: async (b) => void published.push([...b]) } },
      { site: siteOf('hq'), message: { v: 1, type: 'observations', batches: [batch('site:hq/lte')] }, reply },
    );
    expect(published).toHaveLength(1);
  });

  it('stores autonomy reports, and takes the ack they carry', async () => {
    const a = action();
    await issueCommand(deps, a);
    const { reply } = replies();
    const report = {
      site: 'hq',
      at: new Date(now).toISOString(),
      fromLink: 'fiber',
      toLink: 'lte',
      reason: 'fiber failed 3 intervals',
      ack: ackOf(a, 'succeeded'),
    };
    expect(
      await handleAgentMessage(deps, { site: siteOf('hq'), message: { v: 1, type: 'autonomy', report }, reply }),
    ).toEqual({
      type: 'autonomy',
    });
    expect((await deps.commands.listAutonomyReports('hq', 1))[0]).toEqual({ report, receivedAt: now });
    expect(ch.events).toContainEqual({
      type: 'autonomy',
      site: 'hq',
      fromLink: 'fiber',
      toLink: 'lte',
      reason: report.reason,
    });
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked' });
  });
});

describe('expireCommands', () => {
  it('expires queued and delivered commands past their expiry with a critical alert, once', async () => {
    await expireCommands(deps); // what earlier tests left behind
    dispatched.length = 0;
    const queued = action('hq', { expiresAt: now + 1000 });
    const delivered = action('hq', { expiresAt: now + 1000 });
    const acked = action('hq', { expiresAt: now + 1000 });
    const later = action('hq', { expiresAt: now + 600_000 });
    for (const x of [queued, delivered, acked, later]) await issueCommand(deps, x);
    await deps.commands.claim('hq', delivered.id, now);
    await deps.commands.acknowledge('hq', acked.id, ackOf(acked, 'succeeded'), now);
    now += 2000;
    const out = await expireCommands(deps);
    expect(out.failed).toEqual([]);
    expect(out.expired.map((r) => r.id).sort()).toEqual([queued.id, delivered.id].sort());
    const transitions = (await deps.store.listTransitions('hq')).slice(-2);
    expect(transitions.map((t) => t.kind)).toEqual(['action-failed', 'action-failed']);
    for (const t of transitions) expect(t.explanation.summary).toContain('command expired before the agent ran it');
    expect(await deps.commands.get('hq', later.id)).toMatchObject({ status: 'queued' });
    expect(dispatched).toEqual(['hq']);

    const again = await expireCommands(deps);
    expect(again).toEqual({ expired: [], reported: [], failed: [] });
  });

  it('records a failure that an earlier run acknowledged but never recorded', async () => {
    await expireCommands(deps);
    const a = action('shop');
    await issueCommand(deps, a);
    await deps.commands.acknowledge('shop', a.id, ackOf(a, 'failed', { exitCode: 1 }), now);
    expect((await expireCommands(deps, { sites: ['shop'] })).reported).toEqual([]); // the handler's to record, for now
    now += 61_000;
    const out = await expireCommands(deps, { sites: ['shop'] });
    expect(out.reported.map((r) => r.id)).toEqual([a.id]);
    expect((await lastTransition('shop'))!.explanation.summary).toContain('failed with exit code 1');
  });
});
