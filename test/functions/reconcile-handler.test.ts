import { ChangeResourceRecordSetsCommand, Route53Client, type Change } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import type { ReconcileZonesOutput } from '../../shared/usecases/reconcile-zones.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, emfOf, lambdaContext } from '../support/lambda.ts';
import { createTestHostedZone, motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

/**
 * The real reconcile handler against moto's Route 53 (through a loopback proxy that counts and can refuse the
 * listings) with 350 record-swap records in one zone: more than one ListResourceRecordSets page of 300.
 */
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const SITES = 350;
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const available = await motoAvailable();
const ids = ['hq', 'calm', ...Array.from({ length: SITES - 2 }, (_, i) => `s${String(i).padStart(3, '0')}`)];
const address = (net: number, i: number) => `10.${net}.${i >> 8}.${i & 255}`;
const EVENT = { scheduledTime: '2026-11-25T12:05:00Z' };

let moto: MotoServer;
let dynamo: LocalDynamo;
let proxy: FaultProxy;
let zoneId: string;
let config: FailoverConfig;
let store: DynamoDbStateStore;
let handler: (event: typeof EVENT, ctx: ReturnType<typeof lambdaContext>) => Promise<ReconcileZonesOutput>;
/** The listings the handler made (query strings), through the proxy. */
const listings: string[] = [];

beforeAll(async () => {
  if (!available) return;
  moto = await startMoto();
  dynamo = await startDynalite({ tableName: 'reconcile-handler-test' });
  proxy = await startFaultProxy(moto.endpoint);
  const route53 = new Route53Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  zoneId = await createTestHostedZone(route53, 'example.com');
  const yaml = twoLinkConfigYaml({
    regions: REGIONS,
    policy: 'failureThreshold: 2, recoveryThreshold: 1, remindEveryMinutes: 0',
    sites: ids.map((id, i) => ({
      id,
      fiber: address(1, i),
      lte: address(2, i),
      dns: [
        { name: `${id}.example.com`, hostedZoneId: zoneId },
        ...(i < 2
          ? [{ name: `vpn-${id}.example.com`, hostedZoneId: zoneId, strategy: 'health-check-gated' as const }]
          : []),
      ],
    })),
  });
  config = parseConfig(yaml).config!;
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  // Every site healthy on its primary since 10 minutes ago (past the reconciler's grace after a change of mode).
  const at = Date.now() - 600_000;
  for (let from = 0; from < ids.length; from += 25)
    await Promise.all(
      ids.slice(from, from + 25).map((site) =>
        decideSite(
          { config, store, clock: { now: () => at + 5_000 } },
          {
            site,
            batches: twoLinkRound({ site, regions: REGIONS, at, fiber: 'up' }),
          },
        ),
      ),
    );
  expect(await store.load('calm')).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', outbox: [] });
  // The history of every site but hq is folded already: the sweep's fold (72 hours a site at first) stays short.
  const history = new DynamoDbHistoryStore({ tableName: dynamo.tableName, client: dynamo.client });
  const hourEnd = Math.floor((Date.now() - 600_000) / 3_600_000) * 3_600_000;
  const dayEnd = Math.floor(hourEnd / 86_400_000) * 86_400_000;
  for (const id of ids.slice(1)) await history.setFoldMark(id, { hourEnd, dayEnd });
  // The zone answers each record's primary, but hq was changed by hand and s100 is missing.
  const changes: Change[] = ids
    .map((id, i) => ({ id, value: id === 'hq' ? '192.0.2.99' : address(1, i) }))
    .filter(({ id }) => id !== 's100')
    .map(({ id, value }) => ({
      Action: 'UPSERT',
      ResourceRecordSet: { Name: `${id}.example.com.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: value }] },
    }));
  for (let from = 0; from < changes.length; from += 100)
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: changes.slice(from, from + 100) },
      }),
    );
  route53.destroy();
  proxy.inject = ({ method, path }) => {
    if (method === 'GET' && path.includes('/rrset')) listings.push(decodeURIComponent(path.split('?')[1] ?? ''));
    return undefined;
  };
  vi.resetModules();
  const env = {
    FAILOVER_CONFIG_JSON: configJsonOf(yaml).json,
    STATE_TABLE_NAME: dynamo.tableName,
    POWERTOOLS_SERVICE_NAME: 'failover-reconcile',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_ROUTE_53: proxy.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  handler = (await import('../../functions/reconcile/handler.ts')).handler as unknown as typeof handler;
}, 180_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await dynamo?.close();
  await moto?.close();
});

describe.skipIf(!available)('reconcile handler (moto Route 53, 350 records in one zone)', () => {
  it('pages the zone, 300 a call, and turns drifted and missing records into dns-drift transitions with repairs', async () => {
    listings.length = 0;
    const logs = captureLogs();
    const startedAt = Date.now();

    const output = await handler(EVENT, lambdaContext('failover-reconcile', 240_000));

    expect(output).toMatchObject({
      checked: SITES,
      drifted: [
        { site: 'hq', name: 'hq.example.com', type: 'A' },
        { site: 's100', name: 's100.example.com', type: 'A' },
      ],
      reapplied: 0,
      failed: [],
      failedZones: [],
      pages: 2,
      zonesCompleted: 1,
      resumedFrom: null,
    });
    // Two pages of the whole zone (349 records, its NS and SOA), not one read per record.
    expect(listings).toHaveLength(2);
    expect(listings[0]).toBe('maxitems=300');
    expect(listings[1]).toMatch(/^maxitems=300&name=.+&type=A$/);
    // The same sweep folds the check history.
    const history = new DynamoDbHistoryStore({ tableName: dynamo.tableName, client: dynamo.client });
    const lastHour = (at: number) => Math.floor((at - 600_000) / 3_600_000) * 3_600_000;
    expect([lastHour(startedAt), lastHour(Date.now())]).toContain((await history.foldMark('hq'))?.hourEnd);
    const [drift] = (await store.listTransitions('hq')).filter((t) => t.kind === 'dns-drift');
    expect(drift!.explanation.summary).toMatch(/^hq\.example\.com A answers 192\.0\.2\.99, but traffic belongs on/);
    expect((await store.load('hq'))!.outbox).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'dns', strategy: 'record-swap', name: 'hq.example.com', values: ['10.1.0.0'] }),
        expect.objectContaining({ kind: 'alert', severity: 'warning', event: 'dns-drift' }),
      ]),
    );
    expect((await store.load('s100'))!.outbox).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'dns', name: 's100.example.com' })]),
    );
    expect(await store.listTransitions('calm')).toEqual([]);
    const records = logs();
    vi.restoreAllMocks();
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'dns drift', site: 'hq', record: 'hq.example.com A' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'reconciled', checked: SITES, drifted: 2, pages: 2 }),
    );
    expect(emfOf(records)).toMatchObject({ service: 'failover-reconcile', RecordsDrifted: 2 });
    for (const name of ['RecordsChecked', 'RecordsReapplied', 'SitesNotReconciled', 'ColdStart'])
      expect(emfOf(records)).not.toHaveProperty(name);
    console.info(`reconciled ${SITES} records in ${Date.now() - startedAt} ms`);
  }, 240_000);

  it('resumes where the last sweep stopped, and leaves records with a pending repair alone', async () => {
    listings.length = 0;
    captureLogs();
    // Time for one page only: the next one would start a second later (the reconciler's own pace).
    const short = await handler(EVENT, lambdaContext('failover-reconcile', 20_500));
    // The last sweep finished the zone: this one starts at its first record again.
    expect(short).toMatchObject({ pages: 1, zonesCompleted: 0, resumedFrom: { hostedZoneId: zoneId, next: null } });
    expect(short.drifted).toEqual([]);
    const rest = await handler(EVENT, lambdaContext('failover-reconcile', 240_000));
    vi.restoreAllMocks();
    // hq and s100 have their repair pending: not checked again, no second drift.
    expect(rest).toMatchObject({ pages: 1, zonesCompleted: 1, drifted: [], failed: [] });
    expect(rest.resumedFrom).toEqual({ hostedZoneId: zoneId, next: { name: expect.any(String), type: 'A' } });
    expect(short.checked + rest.checked).toBe(SITES - 2);
    expect(listings).toEqual(['maxitems=300', expect.stringMatching(/^maxitems=300&name=.+&type=A$/)]);
    expect((await store.listTransitions('hq')).filter((t) => t.kind === 'dns-drift')).toHaveLength(1);
  }, 240_000);

  it('logs a zone whose listing Route 53 refuses, and resumes there next time', async () => {
    proxy.inject = ({ method, path }) =>
      method === 'GET' && path.includes('/rrset')
        ? {
            status: 403,
            headers: { 'content-type': 'text/xml' },
            body: '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform route53:ListResourceRecordSets</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>',
          }
        : undefined;
    const logs = captureLogs();

    const output = await handler(EVENT, lambdaContext('failover-reconcile', 240_000));

    const records = logs();
    vi.restoreAllMocks();
    proxy.inject = () => undefined;
    expect(output).toMatchObject({ pages: 0, checked: 0, resumedFrom: { hostedZoneId: zoneId, next: null } });
    expect(output.failedZones).toHaveLength(1);
    expect(String(output.failedZones[0]!.error)).toMatch(/is not allowed \(AccessDenied/);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'zone listing failed; the next run resumes there',
        hostedZoneId: zoneId,
        error: expect.objectContaining({ name: 'DnsChangeRejectedError' }),
      }),
    );
    expect(emfOf(records)).toMatchObject({ ZonesNotReconciled: 1 });
    const again = await handler(EVENT, lambdaContext('failover-reconcile', 240_000));
    expect(again).toMatchObject({ resumedFrom: { hostedZoneId: zoneId, next: null }, zonesCompleted: 1, pages: 2 });
  }, 240_000);
});
