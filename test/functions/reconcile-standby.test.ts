import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbReconcileCursorStore } from '../../shared/adapters/aws/dynamodb-reconcile-cursor.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { STANDBY_DEFERS_MS, type ReconcileZonesOutput } from '../../shared/usecases/reconcile-zones.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, lambdaContext } from '../support/lambda.ts';
import { createTestHostedZone, motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

/**
 * Two control regions: the real reconcile handler loaded as the primary's (us-west-2) and as the standby's
 * (us-east-2), on one table (dynalite: the model of the global table) and moto's Route 53 through a proxy that
 * counts the listings. The standby sweeps only when the primary has not saved the shared cursor for
 * STANDBY_DEFERS_MS.
 */
const PRIMARY = 'us-west-2';
const STANDBY = 'us-east-2';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const available = await motoAvailable();
const EVENT = { scheduledTime: '2026-12-04T03:05:00Z' };
type Handler = (event: typeof EVENT, ctx: ReturnType<typeof lambdaContext>) => Promise<ReconcileZonesOutput>;

let moto: MotoServer;
let dynamo: LocalDynamo;
let proxy: FaultProxy;
let cursor: DynamoDbReconcileCursorStore;
let store: DynamoDbStateStore;
let zoneId: string;
const handlers = new Map<string, Handler>();
let listings = 0;

beforeAll(async () => {
  if (!available) return;
  moto = await startMoto();
  dynamo = await startDynalite({ tableName: 'reconcile-standby-test' });
  proxy = await startFaultProxy(moto.endpoint);
  const route53 = new Route53Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  zoneId = await createTestHostedZone(route53, 'example.com');
  const yaml = twoLinkConfigYaml({
    regions: REGIONS,
    control: PRIMARY,
    policy: 'failureThreshold: 2, recoveryThreshold: 1, remindEveryMinutes: 0',
    sites: [{ id: 'hq', fiber: '203.0.113.10', dns: [{ name: 'hq.example.com', hostedZoneId: zoneId }] }],
  }).replace(`control: ${PRIMARY}`, `control: [${PRIMARY}, ${STANDBY}], witness: us-east-1`);
  const config = parseConfig(yaml).config!;
  expect(config.regions.standby).toBe(STANDBY);
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  cursor = new DynamoDbReconcileCursorStore({ tableName: dynamo.tableName, client: dynamo.client });
  const at = Date.now() - 600_000;
  await decideSite(
    { config, store, clock: { now: () => at + 5_000 } },
    { site: 'hq', batches: twoLinkRound({ site: 'hq', regions: REGIONS, at, fiber: 'up' }) },
  );
  // Changed by hand: the record answers something else than the state wants.
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'hq.example.com.',
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '192.0.2.99' }],
            },
          },
        ],
      },
    }),
  );
  route53.destroy();
  proxy.inject = ({ method, path }) => {
    if (method === 'GET' && path.includes('/rrset')) listings++;
    return undefined;
  };
  const env = {
    FAILOVER_CONFIG_JSON: configJsonOf(yaml).json,
    STATE_TABLE_NAME: dynamo.tableName,
    POWERTOOLS_SERVICE_NAME: 'failover-reconcile',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_ROUTE_53: proxy.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  // The handler reads its region when loaded, as Lambda's does: one module per region.
  for (const region of [PRIMARY, STANDBY]) {
    vi.resetModules();
    vi.stubEnv('AWS_REGION', region);
    handlers.set(region, (await import('../../functions/reconcile/handler.ts')).handler as unknown as Handler);
  }
}, 180_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await dynamo?.close();
  await moto?.close();
});

const sweep = async (region: string) => {
  const logs = captureLogs();
  const output = await handlers.get(region)!(EVENT, lambdaContext('failover-reconcile', 60_000));
  const records = logs();
  vi.restoreAllMocks();
  return { output, records };
};

describe.skipIf(!available)('the standby control region reconciler', () => {
  it('sweeps while no sweep saved the cursor (the primary never ran, or is down), and finds the drift', async () => {
    listings = 0;
    const { output } = await sweep(STANDBY);
    expect(output).toMatchObject({ deferred: false, pages: 1, zonesCompleted: 1, failed: [] });
    expect(output.drifted).toEqual([{ site: 'hq', name: 'hq.example.com', type: 'A' }]);
    expect(listings).toBe(1);
    expect((await store.listTransitions('hq')).filter((t) => t.kind === 'dns-drift')).toHaveLength(1);
  }, 120_000);

  it('leaves the sweep to the primary while the primary saved the cursor recently: no page read, nothing written', async () => {
    const { output: primary } = await sweep(PRIMARY);
    expect(primary).toMatchObject({ deferred: false, pages: 1 });
    const saved = (await cursor.load())!.savedAtMs!;
    expect(Date.now() - saved).toBeLessThan(60_000);
    listings = 0;
    const { output, records } = await sweep(STANDBY);
    expect(output).toMatchObject({ deferred: true, pages: 0, checked: 0, drifted: [] });
    expect(listings).toBe(0);
    expect((await cursor.load())!.savedAtMs).toBe(saved);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: expect.stringMatching(/^reconcile left to the primary/) }),
    );
    expect(records.some((r) => r.message === 'reconciled' || r.message === 'history folded')).toBe(false);
    // The primary never defers, whoever saved the cursor.
    listings = 0;
    expect((await sweep(PRIMARY)).output).toMatchObject({ deferred: false, pages: 1 });
    expect(listings).toBe(1);
  }, 120_000);

  it('takes the sweeps over once the primary has not saved the cursor for STANDBY_DEFERS_MS', async () => {
    const { hostedZoneId, next } = (await cursor.load())!;
    await cursor.save({ hostedZoneId, next }, Date.now() - STANDBY_DEFERS_MS - 1_000);
    listings = 0;
    const { output, records } = await sweep(STANDBY);
    expect(output).toMatchObject({ deferred: false, pages: 1, zonesCompleted: 1 });
    expect(listings).toBe(1);
    expect(records).toContainEqual(expect.objectContaining({ message: 'reconciled', pages: 1 }));
    // It folds the check history too, as the primary's sweeps do.
    expect(records).toContainEqual(expect.objectContaining({ message: 'history folded' }));
    expect(Date.now() - (await cursor.load())!.savedAtMs!).toBeLessThan(60_000);
  }, 120_000);
});
