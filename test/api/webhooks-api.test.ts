import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import type { WebhookAction } from '../../shared/domain/model.ts';
import { startLocalWebhookDelivery, type LocalWebhookDelivery } from '../../shared/usecases/webhooks/local-delivery.ts';
import { publishWebhookEvent } from '../../shared/usecases/webhooks/publish-webhook-event.ts';
import { localSecretBox } from '../../shared/webhooks/secret-box.ts';
import { createSecretResolver } from '../../shared/webhooks/secrets.ts';
import { apiTestConfig, startApiHarness, type ApiHarness } from '../support/api.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';

const CRM_SECRET = 'crm_signing_secret_for_api_tests';
const CHANGES_SECRET = `whsec_${Buffer.from('changes-signing-key-for-api-tests').toString('base64')}`;
const ZENDESK_SECRET = 'zendesk_signing_secret_for_api_tests';

const config = apiTestConfig(
  ['hq', 'shop'],
  '',
  `integrations:
  inbound:
    - source: crm
      scheme: stripe
      secret: { env: CRM_SECRET }
      allow: [failover, failback]
      sites: [hq]
    - source: changes
      scheme: standard-webhooks
      secret: { env: CHANGES_SECRET }
      allow: [maintenance.open, maintenance.close]
      sites: ['*']
    - source: zendesk
      scheme: zendesk
      secret: { env: ZENDESK_SECRET }
      allow: [failover, failback]
      sites: [shop]
`,
);

let api: ApiHarness;
let receiver: Receiver;
let delivery: LocalWebhookDelivery;
let store: DynamoDbWebhookStore;

beforeAll(async () => {
  receiver = await startReceiver([200, 200, 200]);
  const secretBox = localSecretBox();
  api = await startApiHarness({
    config,
    webhooks: (dynamo, clock) => {
      store = new DynamoDbWebhookStore({ tableName: dynamo.tableName, client: dynamo.client, clock });
      delivery = startLocalWebhookDelivery({ store, secretBox, clock, schedule: [60, 120], timeoutMs: 2_000 });
      return { store, secretBox, allowPrivateUrls: true, timeoutMs: 2_000 };
    },
    hooks: (dynamo, clock) => ({
      secrets: createSecretResolver({ env: { CRM_SECRET, CHANGES_SECRET, ZENDESK_SECRET } }),
      replay: new DynamoDbReplayGuard({ tableName: dynamo.tableName, client: dynamo.client, clock }),
    }),
  });
});
afterAll(async () => {
  await delivery?.close();
  await api?.close();
  await receiver?.close();
});

/** What the dispatcher does with the webhook actions of the last decision an API call wrote. */
async function publishLastDecision(): Promise<void> {
  const actions = api.decisions.at(-1)!.actions.filter((a): a is WebhookAction => a.kind === 'webhook');
  expect(actions.length).toBeGreaterThan(0);
  for (const action of actions) await publishWebhookEvent({ store, queue: delivery.queue, clock: api.clock }, action);
  await delivery.idle();
}

describe('webhook subscriptions', () => {
  let id: string;
  let secret: string;

  it('creates a subscription and shows its signing secret once', async () => {
    const res = await api.call('POST', '/v1/webhooks', {
      key: api.keys.write,
      body: { url: receiver.url, events: ['failover.started', 'failback'], description: 'CRM' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ url: receiver.url, format: 'generic', enabled: true, sites: [] });
    expect(res.body.secret).toMatch(/^whsec_/);
    ({ id, secret } = res.body);
    expect(res.headers.get('location')).toBe(`/v1/webhooks/${id}`);

    const list = await api.call('GET', '/v1/webhooks', { key: api.keys.read });
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect(list.text).not.toContain(secret);
    const one = await api.call('GET', `/v1/webhooks/${id}`, { key: api.keys.read });
    expect(one.body).toMatchObject({ id, events: ['failover.started', 'failback'], description: 'CRM' });
    expect(one.body.secret).toBeUndefined();
  });

  it('answers 400 listing the problems of a subscription, from the schema and from the use case', async () => {
    const bad = await api.call('POST', '/v1/webhooks', {
      key: api.keys.write,
      body: { url: 'ftp://example.com', events: ['nothing.happened'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.events[0]', 'body.url']);
    const jira = await api.call('POST', '/v1/webhooks', {
      key: api.keys.write,
      body: { url: 'https://example.atlassian.net/rest/api/3/issue', format: 'jira', sites: ['atlantis'] },
    });
    expect(jira.status).toBe(400);
    expect(jira.body.errors).toEqual([
      { path: 'body.options.projectKey', message: 'required for jira' },
      { path: 'body.sites', message: 'unknown site "atlantis"' },
    ]);
  });

  it('logs deliveries with their attempts, and redelivers one with the same webhook-id', async () => {
    const over = await api.call('POST', '/v1/sites/hq/failover', { key: api.keys.write, body: { reason: 'drill' } });
    expect(over.status).toBe(200);
    await publishLastDecision();
    await receiver.waitFor(1);
    const first = receiver.requests[0]!;
    // Standard Webhooks: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under the secret's bytes>.
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const signed = `${first.headers['webhook-id']}.${first.headers['webhook-timestamp']}.${first.body}`;
    const mac = createHmac('sha256', key).update(signed).digest('base64');
    expect(String(first.headers['webhook-signature']).split(' ')).toContain(`v1,${mac}`);
    expect(JSON.parse(first.body).type).toBe('failover.started');

    const list = await api.call('GET', `/v1/webhooks/${id}/deliveries`, { key: api.keys.read });
    expect(list.status).toBe(200);
    expect(list.body.next).toBeNull();
    const [d] = list.body.items;
    expect(d).toMatchObject({ subscriptionId: id, event: 'failover.started', site: 'hq', status: 'delivered' });
    expect(d.attempts).toEqual([expect.objectContaining({ n: 1, status: 200, outcome: 'ok', redelivery: false })]);
    expect(d.id).toBe(first.headers['webhook-id']);

    const again = await api.call('POST', `/v1/webhooks/${id}/deliveries/${encodeURIComponent(d.id)}/redeliver`, {
      key: api.keys.write,
    });
    expect(again.status).toBe(202);
    expect(again.body.attempt).toMatchObject({ n: 2, outcome: 'ok', redelivery: true });
    expect(again.body.delivery.attemptCount).toBe(2);
    await receiver.waitFor(2);
    expect(receiver.requests[1]!.headers['webhook-id']).toBe(d.id);

    const missing = await api.call('POST', `/v1/webhooks/${id}/deliveries/nope/redeliver`, { key: api.keys.write });
    expect(missing.status).toBe(404);
    const filtered = await api.call('GET', `/v1/webhooks/${id}/deliveries?status=failed`, { key: api.keys.read });
    expect(filtered.body.items).toEqual([]);
    const badQuery = await api.call('GET', `/v1/webhooks/${id}/deliveries?status=lost`, { key: api.keys.read });
    expect(badQuery.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.status']);
  });

  it('disables and enables a subscription; a disabled one is not redelivered to (409)', async () => {
    const off = await api.call('POST', `/v1/webhooks/${id}/disable`, {
      key: api.keys.write,
      body: { reason: 'CRM migration' },
    });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, disabledReason: 'disabled by ops-alice: CRM migration' });
    const [d] = (await api.call('GET', `/v1/webhooks/${id}/deliveries`, { key: api.keys.read })).body.items;
    const refused = await api.call('POST', `/v1/webhooks/${id}/deliveries/${encodeURIComponent(d.id)}/redeliver`, {
      key: api.keys.write,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('webhook-disabled');
    const on = await api.call('POST', `/v1/webhooks/${id}/enable`, { key: api.keys.write });
    expect(on.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
  });

  it('deletes a subscription; then it is 404 everywhere', async () => {
    expect((await api.call('DELETE', `/v1/webhooks/${id}`, { key: api.keys.write })).status).toBe(204);
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
      ['POST', `/v1/webhooks/${id}/enable`],
    ] as const) {
      const res = await api.call(method, path, { key: api.keys.write });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('webhook-not-found');
    }
  });
});

describe('inbound hooks', () => {
  let ids = 0;
  const stripe = (body: object, secret = CRM_SECRET) => {
    const text = JSON.stringify(body);
    const t = Math.floor(api.clock.now() / 1000);
    const mac = createHmac('sha256', secret).update(`${t}.${text}`).digest('hex');
    return { body: text, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${mac}` } };
  };
  const standard = (body: object) => {
    const text = JSON.stringify(body);
    const id = `msg_${++ids}`;
    const signature = new Webhook(CHANGES_SECRET).sign(id, new Date(api.clock.now()), text);
    return {
      body: text,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(api.clock.now() / 1000)),
        'webhook-signature': signature,
      },
    };
  };

  it('acts on a signed request without an API key', async () => {
    const request = stripe({ action: 'failover', site: 'hq', reason: 'CRM says the line is flaky', by: 'crm-bot' });
    const res = await api.call('POST', '/v1/hooks/crm', request);
    // hq is on its backup since the drill above: the engine refuses, and says why.
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('already on backup lte');
    const back = await api.call('POST', '/v1/hooks/crm', stripe({ action: 'failback', site: 'hq', by: 'crm-bot' }));
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ source: 'crm', status: 'applied', action: 'failback', site: 'hq' });
    expect(back.body.transitions).toEqual(['failback']);
  });

  it('holds a failover from a tool until its `end`, refusing one in the past or over 7 days ahead (422)', async () => {
    const at = (ms: number) => new Date(api.clock.now() + ms).toISOString();
    const hook = (body: object) =>
      api.call('POST', '/v1/hooks/crm', stripe({ action: 'failover', site: 'hq', ...body }));
    const past = await hook({ reason: 'late', end: at(-60_000) });
    expect(past.status).toBe(422);
    expect(past.body.detail).toBe('end: must be in the future');
    const far = await hook({ reason: 'far', end: at(8 * 86_400_000) });
    expect(far.status).toBe(422);
    expect(far.body.detail).toBe('end: must be at most 7 days ahead');
    expect(await api.deps.store.load('hq')).toMatchObject({ mode: 'PRIMARY_ACTIVE' });

    const end = at(3_600_000);
    const ok = await hook({ reason: 'ISP ticket opened', by: 'crm-bot', end });
    expect(ok.status).toBe(200);
    expect(ok.body.transitions).toEqual(['failover']);
    expect((await api.deps.store.load('hq'))!.operatorFailover).toEqual({
      by: 'hook:crm (crm-bot)',
      reason: 'ISP ticket opened',
      at: api.clock.now(),
      until: Date.parse(end),
    });
    const again = await hook({ reason: 'second ticket' });
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain(`already on backup lte (the site is BACKUP_ACTIVE on lte since`);
    expect(again.body.detail).toContain(`held there by hook:crm (crm-bot)'s failover until ${end}`);
    const back = await api.call('POST', '/v1/hooks/crm', stripe({ action: 'failback', site: 'hq', reason: 'fixed' }));
    expect(back.status).toBe(200);
  });

  it('opens and closes a maintenance window from a change ticket', async () => {
    const end = new Date(api.clock.now() + 3_600_000).toISOString();
    const open = await api.call(
      'POST',
      '/v1/hooks/changes',
      standard({ action: 'maintenance.open', site: 'shop', ticket: 'CHG-9', end }),
    );
    expect(open.status).toBe(200);
    expect(open.body.transitions).toEqual(['maintenance-started']);
    const listed = await api.call('GET', '/v1/maintenance?site=shop', { key: api.keys.read });
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: open.body.windowId, ticket: 'CHG-9', createdBy: 'hook:changes' }),
    ]);
    const close = await api.call(
      'POST',
      '/v1/hooks/changes',
      standard({ action: 'maintenance.close', site: 'shop', ticket: 'CHG-9' }),
    );
    expect(close.body.transitions).toEqual(['maintenance-ended']);
  });

  it('refuses bad signatures (401), replays (409), unknown sources (404), forbidden sites (403), bad payloads (422)', async () => {
    const forged = stripe({ action: 'failover', site: 'hq' }, 'not-the-secret');
    expect((await api.call('POST', '/v1/hooks/crm', forged)).status).toBe(401);
    const unsigned = await api.call('POST', '/v1/hooks/crm', { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(unsigned.status).toBe(401);
    const request = standard({ action: 'maintenance.close', site: 'shop', ticket: 'CHG-404' });
    const first = await api.call('POST', '/v1/hooks/changes', request);
    expect(first.status).toBe(409);
    const replay = await api.call('POST', '/v1/hooks/changes', request);
    expect(replay.status).toBe(409);
    expect(replay.body.code).toBe('hook-replayed');
    expect((await api.call('POST', '/v1/hooks/pagerduty', stripe({ action: 'failover' }))).status).toBe(404);
    const shop = await api.call('POST', '/v1/hooks/crm', stripe({ action: 'failover', site: 'shop' }));
    expect(shop.status).toBe(403);
    const payload = await api.call('POST', '/v1/hooks/crm', stripe({ action: 'failover' }));
    expect(payload.status).toBe(422);
    expect(payload.body.detail).toBe('no site in the payload');
  });

  it('answers 400 to a signed body that is not valid UTF-8, changing nothing', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"action":"failover","site":"hq","reason":"'),
      Buffer.from([0xff, 0x28]),
      Buffer.from('"}'),
    ]);
    const t = Math.floor(api.clock.now() / 1000);
    const mac = createHmac('sha256', CRM_SECRET).update(`${t}.`).update(bytes).digest('hex');
    const before = await api.deps.store.load('hq');
    const res = await api.call('POST', '/v1/hooks/crm', {
      body: bytes,
      headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${mac}` },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid-utf8');
    expect(await api.deps.store.load('hq')).toEqual(before);
  });

  it('applies a captured Zendesk request once: resent with new invocation ids it is 409 hook-replayed', async () => {
    // Zendesk signs the timestamp and the body, not X-Zendesk-Webhook-Invocation-Id: an attacker can change the id.
    const text = JSON.stringify({ action: 'failover', site: 'shop', reason: 'ticket: line down' });
    const stamp = new Date(api.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const captured = {
      'content-type': 'application/json',
      'x-zendesk-webhook-signature': createHmac('sha256', ZENDESK_SECRET).update(`${stamp}${text}`).digest('base64'),
      'x-zendesk-webhook-signature-timestamp': stamp,
    };
    const send = (invocation: string) =>
      api.call('POST', '/v1/hooks/zendesk', {
        body: text,
        headers: { ...captured, 'x-zendesk-webhook-invocation-id': invocation },
      });
    const first = await send('8350205582');
    expect(first.status).toBe(200);
    expect(first.body.transitions).toEqual(['failover']);
    // The operator fails back; the attacker then resends the capture within the 5-minute tolerance.
    api.clock.advance(30_000);
    expect(
      (await api.call('POST', '/v1/sites/shop/failback', { key: api.keys.write, body: { reason: 'ok' } })).status,
    ).toBe(200);
    for (const [n, invocation] of ['8350205583', '8350205584', '8350205585'].entries()) {
      api.clock.advance(30_000 * (n + 1));
      const resent = await send(invocation);
      expect(resent.status, invocation).toBe(409);
      expect(resent.body.code, invocation).toBe('hook-replayed');
    }
    const transitions = await api.deps.store.listTransitions('shop');
    expect(transitions.filter((t) => t.kind === 'failover')).toHaveLength(1);
    expect(await api.deps.store.load('shop')).toMatchObject({ mode: 'PRIMARY_ACTIVE' });
  });
});
