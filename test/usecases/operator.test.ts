import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailoverConfig, MaintenanceConfig } from '../../shared/config/model.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { apiMaintenanceWindows, siteOfWindowId, ticketWindowId } from '../../shared/ports/maintenance-store.ts';
import { commandSite, type OperatorDeps } from '../../shared/usecases/operator/command-site.ts';
import {
  ClosedWindowError,
  ConfiguredWindowError,
  InvalidOperatorRequestError,
  UnknownWindowError,
} from '../../shared/usecases/operator/errors.ts';
import { cancelMaintenanceWindow, openMaintenanceWindow } from '../../shared/usecases/operator/maintenance-windows.ts';
import { T0, webhookConfig } from '../webhooks/scenario.ts';

// store-12 has a window in the configuration: yearly-check, tomorrow.
const base = webhookConfig();
const yearly: MaintenanceConfig = {
  id: 'yearly-check',
  ...{ start: '2026-11-26T12:00Z', end: '2026-11-26T13:00Z', timezone: 'UTC', ticket: undefined },
  ...{ startMs: T0 + 86_400_000, endMs: T0 + 90_000_000, reason: 'yearly' },
};
const config: FailoverConfig = {
  ...base,
  sites: base.sites.map((s, i) => (i === 0 ? { ...s, maintenance: [yearly] } : s)),
};
const clock = { now: () => T0 };
let dynamo: LocalDynamo;
let deps: OperatorDeps;
const decided: string[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
  const store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client, clock });
  const maintenance = new DynamoDbMaintenanceStore({ tableName: dynamo.tableName, client: dynamo.client });
  deps = {
    decide: { config, store, clock, maintenance: apiMaintenanceWindows(maintenance, clock) },
    maintenance,
    onDecided: (site) => void decided.push(site),
  };
});
afterAll(() => dynamo.close());

const iso = (ms: number) => new Date(T0 + ms).toISOString();
const request = { site: 'store-12', end: iso(3_600_000), timezone: 'UTC', reason: 'change', by: 'ops' };

describe('openMaintenanceWindow', () => {
  it('opens a window and decides the site at once: it has begun', async () => {
    const { window, created, decision } = await openMaintenanceWindow(deps, { ...request, ticket: null });
    expect(created).toBe(true);
    expect(siteOfWindowId(window.id)).toBe('store-12');
    expect(window).toMatchObject({ startMs: T0, endMs: T0 + 3_600_000, start: iso(0), createdBy: 'ops' });
    expect(decision.state.maintenance?.id).toBe(window.id);
    expect(decided).toContain('store-12');
  });

  it('opens a ticket window once when the same open arrives twice at the same time', async () => {
    const id = ticketWindowId('changes', 'store-13', 'CHG-1');
    const open = () => openMaintenanceWindow(deps, { ...request, site: 'store-13', id, ticket: 'CHG-1' });
    const [a, b] = await Promise.all([open(), open()]);
    expect(a.window.id).toBe(id);
    expect(b.window.id).toBe(id);
    expect(await deps.maintenance.listForSite('store-13', T0)).toHaveLength(1);
    expect((await open()).created).toBe(false);
  });

  it('names the field that breaks a rule, and stores nothing', async () => {
    const before = await deps.maintenance.listForSite('store-12', T0);
    const cases: [{ timezone?: string; start?: string; end?: string }, string][] = [
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ start: iso(-60_000), end: iso(-1000) }, 'end'],
      [{ start: iso(60_000), end: iso(0) }, 'end'],
      [{ start: 'now-ish' }, 'start'],
      [{ end: 'next tuesday' }, 'end'],
    ];
    for (const [change, field] of cases) {
      const error = await openMaintenanceWindow(deps, { ...request, ...change, ticket: null }).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidOperatorRequestError);
      expect((error as InvalidOperatorRequestError).issues.map((i) => i.field)).toEqual([field]);
    }
    expect(await deps.maintenance.listForSite('store-12', T0)).toEqual(before);
  });

  it('refuses to open again the window of a ticket that was closed', async () => {
    const id = ticketWindowId('changes', 'store-13', 'CHG-2');
    await openMaintenanceWindow(deps, { ...request, site: 'store-13', id, ticket: 'CHG-2' });
    await cancelMaintenanceWindow(deps, { id, by: 'ops' });
    await expect(
      openMaintenanceWindow(deps, { ...request, site: 'store-13', id, ticket: 'CHG-2' }),
    ).rejects.toBeInstanceOf(ClosedWindowError);
  });
});

describe('cancelMaintenanceWindow', () => {
  it('cancels once; cancelling again is not an error', async () => {
    const { window } = await openMaintenanceWindow(deps, { ...request, ticket: null });
    const first = await cancelMaintenanceWindow(deps, { id: window.id, by: 'ops' });
    expect(first).toMatchObject({ cancelled: true, window: { cancelledBy: 'ops' } });
    expect(first.decision?.state.maintenance?.id).not.toBe(window.id);
    expect((await cancelMaintenanceWindow(deps, { id: window.id, by: 'ops' })).cancelled).toBe(false);
  });

  it('refuses a window of sites.yaml, an unknown one, and one of another site', async () => {
    await expect(cancelMaintenanceWindow(deps, { id: 'yearly-check', by: 'ops' })).rejects.toBeInstanceOf(
      ConfiguredWindowError,
    );
    await expect(cancelMaintenanceWindow(deps, { id: 'store-12.mw-000000000000', by: 'ops' })).rejects.toBeInstanceOf(
      UnknownWindowError,
    );
    const { window } = await openMaintenanceWindow(deps, { ...request, ticket: null });
    await expect(cancelMaintenanceWindow(deps, { id: window.id, site: 'store-13', by: 'ops' })).rejects.toBeInstanceOf(
      UnknownWindowError,
    );
  });
});

describe('commandSite', () => {
  it('checks until: in the future, a failover held at most 7 days', async () => {
    const failover = (until: string) =>
      commandSite(deps, 'store-13', { type: 'failover', reason: 'x', by: 'ops', until });
    for (const [until, message] of [
      [iso(-1), 'must be in the future'],
      [iso(8 * 86_400_000), 'must be at most 7 days ahead'],
      ['soon', 'expected a date-time such as 2026-12-01T22:00:00Z'],
    ] as const) {
      const error = await failover(until).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOperatorRequestError);
      expect((error as InvalidOperatorRequestError).issues).toEqual([{ field: 'until', message }]);
    }
    const held = await failover(iso(3_600_000));
    expect(held.rejected).toEqual([]);
    expect(held.state.mode).toBe('BACKUP_ACTIVE');
  });
});
