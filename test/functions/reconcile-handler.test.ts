import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  ListResourceRecordSetsCommand,
  Route53Client,
  Route53ServiceException,
  type ListResourceRecordSetsCommandInput,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import type { ReconcileDnsOutput } from '../../shared/usecases/reconcile-dns.ts';
import { captureLogs, emfOf, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const ZONE = 'Z0123456789ABC';

const CONFIG_YAML = twoLinkConfigYaml({
  regions: REGIONS,
  policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
  sites: ['hq', 'calm'].map((id, i) => ({
    id,
    fiber: `203.0.113.${i + 1}`,
    lte: `198.51.100.${i + 1}`,
    dns: [
      { name: `${id}.example.com`, hostedZoneId: ZONE },
      { name: `vpn-${id}.example.com`, hostedZoneId: ZONE, strategy: 'health-check-gated' as const },
    ],
  })),
});
const config = parseConfig(CONFIG_YAML).config!;

const route53 = mockClient(Route53Client);
const cloudwatch = mockClient(CloudWatchClient);
const context = lambdaContext('failover-reconcile', 240_000);
const EVENT = { scheduledTime: '2026-11-25T12:05:00Z' };

let dynamo: LocalDynamo;
let store: DynamoDbStateStore;
let handler: (event: typeof EVENT, ctx: typeof context) => Promise<ReconcileDnsOutput>;

/** Route 53 as it answers: from the record asked for onwards, one record; hq.example.com was changed by hand. */
function zoneAnswers(reads: { name: string; at: number }[]): void {
  const answers: Record<string, string> = { 'hq.example.com.': '192.0.2.99', 'calm.example.com.': '203.0.113.2' };
  route53.on(ListResourceRecordSetsCommand).callsFake((input: ListResourceRecordSetsCommandInput) => {
    reads.push({ name: input.StartRecordName!, at: Date.now() });
    const value = answers[input.StartRecordName!];
    return {
      ResourceRecordSets: value
        ? [{ Name: input.StartRecordName, Type: 'A', TTL: 60, ResourceRecords: [{ Value: value }] }]
        : [],
      IsTruncated: false,
      MaxItems: 1,
    };
  });
}

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'reconcile-handler-test' });
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  // Both sites healthy on their primary: two rounds with every link up from every region.
  const last = Date.now() - 10_000;
  for (const site of ['hq', 'calm']) {
    for (const at of [last - 60_000, last]) {
      const batches = twoLinkRound({ site, regions: REGIONS, at, fiber: 'up' });
      await decideSite({ config, store, clock: { now: () => at + 5_000 } }, { site, batches });
    }
    expect(await store.load(site)).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', outbox: [] });
  }
  handler = (
    await importWithEnv(
      {
        FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
        STATE_TABLE_NAME: dynamo.tableName,
        POWERTOOLS_SERVICE_NAME: 'failover-reconcile',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      },
      () => import('../../functions/reconcile/handler.ts'),
    )
  ).handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  route53.restore();
  cloudwatch.restore();
  await dynamo?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
  route53.reset();
  cloudwatch.reset();
});

describe('reconcile handler', () => {
  it('turns a record answering another value into a dns-drift transition and a pending repair', async () => {
    const reads: { name: string; at: number }[] = [];
    zoneAnswers(reads);
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const logs = captureLogs();
    const startedAt = Date.now();

    const output = await handler(EVENT, context);

    expect(output).toEqual({
      checked: 2,
      drifted: [{ site: 'hq', name: 'hq.example.com', type: 'A' }],
      reapplied: 0,
      failed: [],
    });
    // The same sweep folds the check history: each site's fold mark moves up to the last hour finished 10 min ago.
    const history = new DynamoDbHistoryStore({ tableName: dynamo.tableName, client: dynamo.client });
    const lastHour = (at: number) => Math.floor((at - 600_000) / 3_600_000) * 3_600_000;
    expect([lastHour(startedAt), lastHour(Date.now())]).toContain((await history.foldMark('hq'))?.hourEnd);
    const [drift] = (await store.listTransitions('hq')).filter((t) => t.kind === 'dns-drift');
    expect(drift!.explanation.summary).toMatch(/^hq\.example\.com A answers 192\.0\.2\.99, but traffic belongs on/);
    const state = (await store.load('hq'))!;
    expect(state.outbox).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'dns',
          strategy: 'record-swap',
          name: 'hq.example.com',
          link: 'fiber',
          values: ['203.0.113.1'],
        }),
        expect.objectContaining({ kind: 'alert', severity: 'warning', event: 'dns-drift' }),
      ]),
    );
    expect(await store.listTransitions('calm')).toEqual([]);
    expect((await store.load('calm'))!.outbox).toEqual([]);

    // Health-check-gated records are Route 53's to answer by health: not swept, nothing published.
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toEqual([]);
    // Reads are paced (2 a second) to leave Route 53's account-wide rate to the dispatcher.
    expect(reads.map((r) => r.name)).toEqual(['hq.example.com.', 'calm.example.com.']);
    expect(reads[1]!.at - reads[0]!.at).toBeGreaterThanOrEqual(450);

    const records = logs();
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'dns drift', site: 'hq', record: 'hq.example.com A' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'reconciled',
        scheduledTime: EVENT.scheduledTime,
        checked: 2,
        drifted: 1,
        reapplied: 0,
      }),
    );
    // One metric every sweep; the other counts are in the `reconciled` line above.
    expect(emfOf(records)).toMatchObject({ service: 'failover-reconcile', RecordsDrifted: 1 });
    for (const name of ['RecordsChecked', 'RecordsReapplied', 'SitesNotReconciled', 'ColdStart'])
      expect(emfOf(records)).not.toHaveProperty(name);

    // The next run leaves the record alone while its repair is pending: no second drift.
    route53.reset();
    zoneAnswers([]);
    captureLogs();
    expect(await handler(EVENT, context)).toEqual({ checked: 1, drifted: [], reapplied: 0, failed: [] });
    expect((await store.listTransitions('hq')).filter((t) => t.kind === 'dns-drift')).toHaveLength(1);
  });

  it('reports a site whose records Route 53 refuses to read, with an error line, and sweeps the others', async () => {
    route53.on(ListResourceRecordSetsCommand).rejects(
      new Route53ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized to perform route53:ListResourceRecordSets',
      }),
    );
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const logs = captureLogs();

    const output = await handler(EVENT, context);

    expect(output.failed.length).toBeGreaterThan(0);
    expect(String(output.failed[0]!.error)).toMatch(/is not allowed \(AccessDenied/);
    expect(logs()).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'site not reconciled; the next run tries again',
        error: expect.objectContaining({ name: 'DnsChangeRejectedError' }),
      }),
    );
  });
});
