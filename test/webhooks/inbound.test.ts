import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { apiMaintenanceWindows, ticketWindowId } from '../../shared/ports/maintenance-store.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import {
  handleInboundHook,
  HookForbiddenError,
  HookPayloadError,
  HookRejectedError,
  HookReplayError,
  HookSignatureError,
  HookTimestampError,
  UnknownHookSourceError,
  type InboundHookDeps,
} from '../../shared/usecases/webhooks/index.ts';
import { createSecretResolver } from '../../shared/webhooks/secrets.ts';
import { round, T0, webhookConfig } from './scenario.ts';

const SECRETS = {
  CHANGES_SECRET: `whsec_${Buffer.from('changes-signing-key-0123456789abcdef').toString('base64')}`,
  ZENDESK_SECRET: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==',
  CRM_SECRET: 'crm_signing_secret_for_tests',
  HELPDESK_SECRET: 'helpdesk_signing_secret_for_tests',
};

const config = webhookConfig(`integrations:
  inbound:
    - source: changes
      scheme: standard-webhooks
      secret: { env: CHANGES_SECRET }
      allow: [maintenance.open, maintenance.close]
      sites: [store-12]
    - source: zendesk
      scheme: zendesk
      secret: { env: ZENDESK_SECRET }
      allow: [incident.acknowledge]
      sites: ['*']
      fields: { action: $.event.type, incident: $.event.incident, by: $.event.agent }
      values: { ticket_acknowledged: incident.acknowledge }
    - source: crm
      scheme: stripe
      secret: { env: CRM_SECRET }
      allow: [failover, failback]
      sites: [store-12, store-13]
    - source: helpdesk
      scheme: stripe
      secret: { env: HELPDESK_SECRET }
      signatureHeader: X-Helpdesk-Signature
      allow: [incident.acknowledge]
      sites: [store-12, store-13]
`);

let now = T0;
const clock = { now: () => now };
let dynamo: LocalDynamo;
let deps: InboundHookDeps;
let stateStore: DynamoDbStateStore;
let maintenanceStore: DynamoDbMaintenanceStore;
const decided: string[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
  stateStore = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client, clock });
  maintenanceStore = new DynamoDbMaintenanceStore({ tableName: dynamo.tableName, client: dynamo.client });
  const decide = { config, store: stateStore, clock, maintenance: apiMaintenanceWindows(maintenanceStore, clock) };
  deps = {
    config,
    clock,
    secrets: createSecretResolver({ env: SECRETS }),
    replay: new DynamoDbReplayGuard({ tableName: dynamo.tableName, client: dynamo.client, clock }),
    decide,
    maintenanceStore,
    onDecided: (site) => void decided.push(site),
  };
  // store-12 fails over: fiber down from every region for two rounds. Incident store-12.1 is open.
  for (const [n, fiber] of (['up', 'up', 'down', 'down'] as const).entries()) {
    now = T0 + (n + 1) * 60_000 + 5_000;
    await decideSite(decide, { site: 'store-12', batches: round('store-12', n + 1, fiber) });
  }
  expect((await stateStore.load('store-12'))?.incident?.id).toBe('store-12.1');
});
afterAll(() => dynamo.close());

// Independent signers: the reference library for Standard Webhooks, node:crypto for the others.
let ids = 0;
function standard(body: object, options: { skewSeconds?: number; id?: string; secret?: string } = {}) {
  const text = JSON.stringify(body);
  const id = options.id ?? `msg_${++ids}`;
  const at = new Date(now + (options.skewSeconds ?? 0) * 1000);
  const signature = new Webhook(options.secret ?? SECRETS.CHANGES_SECRET).sign(id, at, text);
  return {
    body: text,
    headers: {
      'Webhook-Id': id,
      'Webhook-Timestamp': String(Math.floor(at.getTime() / 1000)),
      'Webhook-Signature': signature,
    },
  };
}
function zendesk(body: object, skewSeconds = 0) {
  const text = JSON.stringify(body);
  const timestamp = new Date(now + skewSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    body: text,
    headers: {
      'x-zendesk-webhook-signature': createHmac('sha256', SECRETS.ZENDESK_SECRET)
        .update(timestamp + text)
        .digest('base64'),
      'x-zendesk-webhook-signature-timestamp': timestamp,
      'x-zendesk-webhook-invocation-id': String(8_350_205_582 + ++ids),
    },
  };
}
function stripe(body: object, options: { secret?: string; header?: string; skewSeconds?: number } = {}) {
  const text = JSON.stringify(body);
  const t = Math.floor(now / 1000) + (options.skewSeconds ?? 0);
  const mac = createHmac('sha256', options.secret ?? SECRETS.CRM_SECRET)
    .update(`${t}.${text}`)
    .digest('hex');
  return { body: text, headers: { [options.header ?? 'Stripe-Signature']: `t=${t},v1=${mac}` } };
}

/** Everything a refused request must leave as it was. */
async function snapshot(site: string) {
  return {
    state: await stateStore.load(site),
    windows: await maintenanceStore.listForSite(site, 0),
  };
}

async function refusedUnchanged(site: string, request: () => Promise<unknown>, error: new (...args: never[]) => Error) {
  const before = await snapshot(site);
  await expect(request()).rejects.toBeInstanceOf(error);
  expect(await snapshot(site)).toEqual(before);
}

describe('accepted inbound webhooks', () => {
  it('Zendesk: acknowledges the open incident (no more reminders), mapped from its own payload', async () => {
    now += 10_000;
    const request = zendesk({ event: { type: 'ticket_acknowledged', incident: 'store-12.1', agent: 'jane' } });
    const out = await handleInboundHook(deps, { source: 'zendesk', ...request });
    expect(out).toMatchObject({
      status: 'applied',
      action: 'incident.acknowledge',
      site: 'store-12',
      transitions: ['acknowledged'],
    });
    const state = await stateStore.load('store-12');
    expect(state?.incident?.acknowledged).toBe(true);
    const [t] = await stateStore.listTransitions('store-12', { fromSeq: state!.seq, toSeq: state!.seq });
    expect(t?.explanation.summary).toContain('hook:zendesk (jane) acknowledged incident store-12.1');
    expect(decided).toContain('store-12');
  });

  it('Zendesk: ignores events that map to no action, changing nothing', async () => {
    const before = await snapshot('store-12');
    const out = await handleInboundHook(deps, { source: 'zendesk', ...zendesk({ event: { type: 'ticket_created' } }) });
    expect(out).toMatchObject({ status: 'ignored', transitions: [] });
    expect(await snapshot('store-12')).toEqual(before);
  });

  it('Standard Webhooks: a change ticket opens a maintenance window, and closes it', async () => {
    now += 10_000;
    const end = new Date(now + 2 * 3_600_000).toISOString();
    const open = { action: 'maintenance.open', site: 'store-12', ticket: 'CHG0030001', end, reason: 'ISP work' };
    const opened = await handleInboundHook(deps, { source: 'changes', ...standard(open) });
    const windowId = ticketWindowId('changes', 'store-12', 'CHG0030001');
    expect(opened).toMatchObject({ status: 'applied', windowId, transitions: ['maintenance-started'] });
    expect(await maintenanceStore.get(windowId)).toMatchObject({
      site: 'store-12',
      ticket: 'CHG0030001',
      reason: 'ISP work',
      createdBy: 'hook:changes',
      cancelledAt: null,
    });
    expect((await stateStore.load('store-12'))?.maintenance?.id).toBe(windowId);

    // The same ticket sent again (a new message) finds its window rather than opening another.
    const again = await handleInboundHook(deps, { source: 'changes', ...standard(open) });
    expect(again.detail).toContain('already open');
    expect(await maintenanceStore.listForSite('store-12', 0)).toHaveLength(1);

    now += 60_000;
    const close = { action: 'maintenance.close', site: 'store-12', ticket: 'CHG0030001' };
    const closed = await handleInboundHook(deps, { source: 'changes', ...standard(close) });
    expect(closed).toMatchObject({ status: 'applied', windowId });
    // The site is still on its backup: the end of the window reminds people of the open incident.
    expect(closed.transitions).toEqual(['maintenance-ended', 'reminder']);
    expect((await maintenanceStore.get(windowId))?.cancelledBy).toBe('hook:changes');
    expect((await stateStore.load('store-12'))?.maintenance).toBeNull();
  });

  it('Stripe-style: a source allowed to fails a site over', async () => {
    now += 10_000;
    const out = await handleInboundHook(deps, {
      source: 'crm',
      ...stripe({ id: 'evt_1', action: 'failover', site: 'store-13', reason: 'carrier maintenance' }),
    });
    expect(out).toMatchObject({ status: 'applied', action: 'failover', transitions: ['failover'] });
    expect(await stateStore.load('store-13')).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
  });

  it('reports a command the decider refuses, changing nothing', async () => {
    await refusedUnchanged(
      'store-13',
      () =>
        handleInboundHook(deps, {
          source: 'crm',
          ...stripe({ id: 'evt_2', action: 'failover', site: 'store-13' }),
        }),
      HookRejectedError,
    );
  });
});

describe('refused inbound webhooks change nothing', () => {
  it('a bad signature', async () => {
    const request = standard({
      action: 'maintenance.open',
      site: 'store-12',
      ticket: 'CHG-X',
      end: '2030-01-01T00:00:00Z',
    });
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'changes', ...request, body: request.body.replace('CHG-X', 'CHG-Y') }),
      HookSignatureError,
    );
    const wrongKey = standard(
      { action: 'maintenance.open', site: 'store-12', ticket: 'CHG-Z', end: '2030-01-01T00:00:00Z' },
      { secret: `whsec_${Buffer.from('another-key-of-some-length').toString('base64')}` },
    );
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'changes', ...wrongKey }),
      HookSignatureError,
    );
    const unsigned = { body: '{"action":"failover","site":"store-12"}', headers: {} };
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'crm', ...unsigned }),
      HookSignatureError,
    );
    const zd = zendesk({ event: { type: 'ticket_acknowledged', incident: 'store-12.1' } });
    zd.headers['x-zendesk-webhook-signature'] = createHmac('sha256', 'not-the-secret').update('x').digest('base64');
    await refusedUnchanged('store-12', () => handleInboundHook(deps, { source: 'zendesk', ...zd }), HookSignatureError);
  });

  it('a timestamp 6 minutes off, either way, in every scheme', async () => {
    const open = { action: 'maintenance.open', site: 'store-12', ticket: 'CHG-OLD', end: '2030-01-01T00:00:00Z' };
    for (const skew of [-360, 360]) {
      await refusedUnchanged(
        'store-12',
        () => handleInboundHook(deps, { source: 'changes', ...standard(open, { skewSeconds: skew }) }),
        HookTimestampError,
      );
      await refusedUnchanged(
        'store-13',
        () =>
          handleInboundHook(deps, {
            source: 'crm',
            ...stripe({ id: `evt_old${skew}`, action: 'failback', site: 'store-13' }, { skewSeconds: skew }),
          }),
        HookTimestampError,
      );
      await refusedUnchanged(
        'store-12',
        () =>
          handleInboundHook(deps, {
            source: 'zendesk',
            ...zendesk({ event: { type: 'ticket_acknowledged', incident: 'store-12.1' } }, skew),
          }),
        HookTimestampError,
      );
    }
  });

  it('a replayed message id', async () => {
    now += 10_000;
    const end = new Date(now + 3_600_000).toISOString();
    const request = standard({ action: 'maintenance.open', site: 'store-12', ticket: 'CHG0030002', end });
    await handleInboundHook(deps, { source: 'changes', ...request });
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'changes', ...request }),
      HookReplayError,
    );
    // Stripe-style: the event id is the replay key, even under a fresh signature.
    const first = stripe({ id: 'evt_replayed', action: 'failback', site: 'store-13', reason: 'done' });
    await handleInboundHook(deps, { source: 'crm', ...first });
    now += 1_000;
    const resent = stripe({ id: 'evt_replayed', action: 'failback', site: 'store-13', reason: 'done' });
    await refusedUnchanged('store-13', () => handleInboundHook(deps, { source: 'crm', ...resent }), HookReplayError);
  });

  it('a source not allowed to fail over, or to touch that site', async () => {
    const failover = stripe(
      { id: 'evt_h1', action: 'failover', site: 'store-12' },
      { secret: SECRETS.HELPDESK_SECRET, header: 'X-Helpdesk-Signature' },
    );
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'helpdesk', ...failover }),
      HookForbiddenError,
    );
    const otherSite = standard({
      action: 'maintenance.open',
      site: 'store-13',
      ticket: 'CHG-13',
      end: new Date(now + 3_600_000).toISOString(),
    });
    await refusedUnchanged(
      'store-13',
      () => handleInboundHook(deps, { source: 'changes', ...otherSite }),
      HookForbiddenError,
    );
  });

  it('an unknown source, or a payload that says nothing usable', async () => {
    await expect(
      handleInboundHook(deps, { source: 'nobody', ...standard({ action: 'failover', site: 'store-12' }) }),
    ).rejects.toBeInstanceOf(UnknownHookSourceError);
    await refusedUnchanged(
      'store-12',
      () =>
        handleInboundHook(deps, { source: 'changes', ...standard({ action: 'maintenance.open', site: 'store-12' }) }),
      HookPayloadError,
    );
    await refusedUnchanged(
      'store-12',
      () => handleInboundHook(deps, { source: 'changes', body: 'not json', headers: standard({}).headers }),
      HookSignatureError,
    );
  });
});
