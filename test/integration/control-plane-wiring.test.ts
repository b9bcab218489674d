import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { rawPublicKey } from '../../shared/contracts/agent-signing.ts';
import { issueApiKey } from '../../shared/api/api-keys.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { Outcome } from '../../shared/contracts/observation.ts';
import type { Transition } from '../../shared/domain/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { AgentChannelEvent } from '../../shared/usecases/agent/deps.ts';
import type { DispatchEvent } from '../../shared/usecases/dispatch.ts';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.ts';
import { dig, digAvailable } from '../support/dig.ts';
import { twoLinkRound } from '../support/observations.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

/**
 * The local control plane as `failover local` starts it: the API, the dispatcher's agent-command and webhook lanes
 * and local webhook delivery are wired to one another. Observations are handed in directly (the probes have their
 * own tests); everything after that is the real path.
 */

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const agentKey = generateKeyPairSync('ed25519').privateKey;
const agentPublicKey = rawPublicKey(createPublicKey(agentKey));
const CONFIG = twoLinkConfigYaml({
  regions: REGIONS,
  policy: 'failureThreshold: 2, recoveryThreshold: 2, holdDownSeconds: 600, remindEveryMinutes: 0',
  sites: [
    {
      id: 'hq',
      dns: [{ name: 'portal.example.com', hostedZoneId: 'Z0000000000TEST', ttl: 5 }],
      agentKey: agentPublicKey,
    },
    {
      id: 'shop',
      policy: 'holdDownSeconds: 0',
      fiber: '203.0.113.30',
      lte: '198.51.100.40',
      dns: [{ name: 'shop.example.com', hostedZoneId: 'Z0000000000TEST', ttl: 5 }],
      agentKey: agentPublicKey,
    },
  ],
});

let cp: ControlPlane;
let receiver: Receiver;
let key: string;
let alerts: string;
const transitions: Transition[] = [];
const agentEvents: AgentChannelEvent[] = [];
const dispatched: DispatchEvent[] = [];
const errors: unknown[] = [];

beforeAll(async () => {
  const { config, diagnostics } = parseConfig(CONFIG);
  expect(diagnostics).toEqual([]);
  const dir = await mkdtemp(join(inject('scratchDir'), 'control-plane-'));
  alerts = join(dir, 'alerts.jsonl');
  cp = await startControlPlane({
    config: config!,
    clock: systemClock,
    notifier: new ConsoleNotifier({ jsonlPath: alerts, out: () => undefined }),
    dnsPort: 0,
    apiPort: 0,
    secretsDir: join(dir, 'secrets'),
    onTransition: (t) => transitions.push(t),
    onDispatch: (e) => dispatched.push(e),
    onAgentEvent: (e) => agentEvents.push(e),
    onError: (e, where) => errors.push({ e, where }),
  });
  receiver = await startReceiver([200]);
  key = (
    await issueApiKey({ store: cp.apiKeys, pepper: cp.pepper, clock: systemClock }, { name: 'ops', scope: 'write' })
  ).key;
});
afterAll(async () => {
  await cp?.close();
  await receiver?.close();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${cp.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

let round = 0;
/** One round from every region, then waits for its decisions and actions. */
async function observe(fiber: Outcome, site = 'hq'): Promise<void> {
  const at = Date.now() + round++;
  cp.submit(twoLinkRound({ site, regions: REGIONS, at, fiber }));
  await cp.idle();
}

const answer = async (name = 'portal.example.com') => (await dig(cp.dns!, name)).answers.map((a) => a.data);

const hasDig = await digAvailable();

describe.skipIf(!hasDig && process.env.FAILOVER_REQUIRE_PEERS !== '1')('the local control plane, wired', () => {
  it('fails over on observations: DNS moves, the agent command is queued, a signed webhook and an alert go out', async () => {
    const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['failover.started'] });
    expect(created.status).toBe(201);
    await observe('up');
    expect(await answer()).toEqual(['203.0.113.10']);

    await observe('down');
    await observe('down');
    expect(transitions.map((t) => t.kind)).toContain('failover');
    expect(await answer()).toEqual(['198.51.100.20']);
    // No agent is connected: the command waits for it.
    expect(agentEvents).toContainEqual(expect.objectContaining({ type: 'command-queued', site: 'hq' }));

    await receiver.waitFor(1);
    const request = receiver.requests[0]!;
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const verified = new Webhook(String(created.body.secret)).verify(request.body, headers) as Record<string, unknown>;
    expect(verified).toMatchObject({ type: 'failover.started', data: expect.objectContaining({ site: 'hq' }) });

    const lines = (await readFile(alerts, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toContain('failover');
    const site = await call('GET', '/v1/sites/hq');
    expect(site.body).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
  });

  it("takes an operator's failback through the API before the hold-down is over, and applies it at once", async () => {
    const refused = await call('POST', '/v1/sites/hq/failback', { reason: 'fiber repaired, checked by the ISP' });
    expect(refused).toMatchObject({ status: 409, body: { detail: 'primary fiber is down' } });
    await observe('up');
    await observe('up');
    // The primary is up again, but the hold-down (10 minutes) keeps the site on its backup.
    expect(await answer()).toEqual(['198.51.100.20']);
    const res = await call('POST', '/v1/sites/hq/failback', { reason: 'fiber repaired, checked by the ISP' });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    await cp.idle();
    expect(await answer()).toEqual(['203.0.113.10']);
    expect(transitions.at(-1)).toMatchObject({ kind: 'failback', toLink: 'fiber' });
    expect(errors).toEqual([]);
  });

  it('answers 20 concurrent operator failovers with one switch and 19 conflicts, and holds it', async () => {
    for (let i = 0; i < 3; i++) await observe('up', 'shop');
    expect(await answer('shop.example.com')).toEqual(['203.0.113.30']);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', '/v1/sites/shop/failover', { reason: `operator ${i}` })),
    );
    await cp.idle();
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array<number>(19).fill(409)]);
    for (const refused of answers.filter((a) => a.status === 409))
      expect(refused.body.current).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    const applied = (kind: string) =>
      dispatched.filter((e) => e.type === 'applied' && e.action.site === 'shop' && e.action.kind === kind);
    expect(applied('dns')).toHaveLength(1);
    expect(agentEvents.filter((e) => e.type === 'command-queued' && e.site === 'shop')).toHaveLength(1);
    expect(await answer('shop.example.com')).toEqual(['198.51.100.40']);

    // The hold-down is 0 s and the primary is up: every round below would fail back without the operator's hold.
    for (let i = 0; i < 4; i++) await observe('up', 'shop');
    expect(transitions.filter((t) => t.site === 'shop').map((t) => t.kind)).toEqual(['failover']);
    expect((await call('GET', '/v1/sites/shop')).body).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect(await answer('shop.example.com')).toEqual(['198.51.100.40']);
    const back = await call('POST', '/v1/sites/shop/failback', { reason: 'ISP done' });
    expect(back.status).toBe(200);
    await cp.idle();
    expect(await answer('shop.example.com')).toEqual(['203.0.113.30']);
    expect(applied('dns')).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it("releases the mass-failover brake through the API, its one alert in the runtime's alert file", async () => {
    // Two sites never engage the brake (minSites 5): the engagement is written as a decider would have written it.
    const now = Date.now();
    const engagement = { id: `brake-${new Date(now).toISOString()}`, since: now, announcer: 'hq' };
    const current = await cp.store.loadFleetBrake();
    const entries = { ...current?.brake.entries, shop: now };
    await cp.store.saveFleetBrake({ v: 1, entries, engagement, updatedAt: now }, current?.version ?? null);
    expect((await call('GET', '/v1/brake')).body).toMatchObject({ engaged: true, engagement: { announcer: 'hq' } });

    const [one, two] = await Promise.all([
      call('POST', '/v1/brake/release', { reason: 'probes fine' }),
      call('POST', '/v1/brake/release', { reason: 'probes fine' }),
    ]);
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    const records = (await readFile(alerts, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; subject: string; site: string });
    const released = records.filter((r) => r.event === 'brake-released');
    expect(released).toHaveLength(1);
    expect(released[0]).toMatchObject({
      site: 'hq',
      subject: '[BRAKE RELEASED] automatic failovers resume: released by ops',
    });
    expect(errors).toEqual([]);
  });
});
