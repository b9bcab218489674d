import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PublishCommand, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DISPATCH_FILTER } from '../../infra/constructs/dispatcher.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import type { Outcome } from '../../shared/contracts/observation.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, emfOf, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { twoLinkRound } from '../support/observations.ts';
import { matchesFilter, rawStateItem, streamRecord } from '../support/stream-records.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const SITES = ['hq', 'shop', 'depot', 'kiosk'];
const CRITICAL = 'arn:aws:sns:us-east-1:123456789012:failover-critical';
const WARNING = 'arn:aws:sns:us-east-1:123456789012:failover-warning';
const ZONE = 'Z0123456789ABC';
const DNS_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/failover-dns-writer.fifo';

const CONFIG_YAML = twoLinkConfigYaml({
  regions: REGIONS,
  policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
  extra: 'contacts: [{ name: noc, email: noc@example.com }]',
  sites: SITES.map((id, i) => ({
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
const sqs = mockClient(SQSClient);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);
const context = lambdaContext('failover-dispatch', 180_000);

let dynamo: LocalDynamo;
let proxy: FaultProxy;
let store: DynamoDbStateStore;
let handler: (event: DynamoDBStreamEvent, ctx: typeof context) => Promise<DynamoDBBatchResponse>;
let sequence = 100;

/** Four rounds from three regions ending 10 s ago: two with the fiber up, two with it down. */
async function failOver(site: string): Promise<void> {
  const last = Date.now() - 10_000;
  for (let round = 0; round < 4; round++) {
    const at = last - (3 - round) * 60_000;
    const fiber: Outcome = round < 2 ? 'up' : 'down';
    const batches = twoLinkRound({ site, regions: REGIONS, at, fiber });
    await decideSite({ config, store, clock: { now: () => at + 5_000 } }, { site, batches });
  }
  expect(await store.load(site)).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
}

/** The stream record of the site's state item as it is now. */
async function recordOf(site: string): Promise<DynamoDBRecord> {
  return streamRecord(await rawStateItem(dynamo.endpoint, dynamo.tableName, site), String(sequence++));
}

const eventOf = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
/** The wanted states the dispatcher handed to the DNS writer's queue for the site's record-swap record. */
const changesOf = (site: string) =>
  sqs
    .commandCalls(SendMessageCommand)
    .map((c) => c.args[0].input)
    .filter((input) => (JSON.parse(input.MessageBody!) as { name: string }).name === `${site}.example.com`);
const publishedFor = (site: string) =>
  sns
    .commandCalls(PublishCommand)
    .map((c) => c.args[0].input)
    .filter((input) => input.MessageAttributes?.site?.StringValue === site);

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'dispatch-handler-test' });
  proxy = await startFaultProxy(dynamo.endpoint);
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  handler = (
    await importWithEnv(
      {
        FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
        STATE_TABLE_NAME: dynamo.tableName,
        CRITICAL_TOPIC_ARN: CRITICAL,
        WARNING_TOPIC_ARN: WARNING,
        DNS_CHANGE_QUEUE_URL: DNS_QUEUE,
        POWERTOOLS_SERVICE_NAME: 'failover-dispatch',
        // The handler's own DynamoDB client talks to the fault proxy, then dynalite; SQS, Route 53, CloudWatch and SNS
        // are mocked (command shapes).
        AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
        AWS_MAX_ATTEMPTS: '2',
      },
      () => import('../../functions/dispatch/handler.ts'),
    )
  ).handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  route53.restore();
  sqs.restore();
  cloudwatch.restore();
  sns.restore();
  await proxy?.close();
  await dynamo?.close();
});

afterEach(() => {
  proxy.throttle = () => false;
  vi.restoreAllMocks();
  route53.reset();
  sqs.reset();
  cloudwatch.reset();
  sns.reset();
});

function acceptEverything(): void {
  route53
    .on(ChangeResourceRecordSetsCommand)
    .resolves({ ChangeInfo: { Id: '/change/C0123456789', Status: 'PENDING', SubmittedAt: new Date() } });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'q-0001' });
  cloudwatch.on(PutMetricDataCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm-0001' });
}

describe('dispatch handler', () => {
  it("applies a failover: the backup handed to the zone's DNS writer, the alert on the critical topic, no effect on a gated record", async () => {
    acceptEverything();
    await failOver('hq');
    const image = await rawStateItem(dynamo.endpoint, dynamo.tableName, 'hq');
    expect(image).toMatchObject({ entity: { S: 'state' }, pending: { N: expect.stringMatching(/^[1-9]\d*$/) } });
    const record = await recordOf('hq');
    expect(matchesFilter(DISPATCH_FILTER, record)).toBe(true);
    const logs = captureLogs();

    const response = await handler(eventOf([record]), context);

    expect(response).toEqual({ batchItemFailures: [] });
    // The record-swap record's wanted state goes to the DNS writer's FIFO queue, one group per hosted zone; the
    // dispatcher itself makes no Route 53 call.
    expect(changesOf('hq')).toEqual([
      {
        QueueUrl: DNS_QUEUE,
        MessageGroupId: ZONE,
        MessageDeduplicationId: expect.stringMatching(/^[0-9a-f]{64}$/),
        MessageBody: expect.any(String),
      },
    ]);
    expect(JSON.parse(changesOf('hq')[0]!.MessageBody!)).toEqual({
      v: 1,
      kind: 'dns',
      id: expect.stringMatching(/^hq:\d+:\d+$/),
      site: 'hq',
      seq: expect.any(Number),
      at: expect.any(Number),
      zone: 'example.com',
      hostedZoneId: ZONE,
      name: 'hq.example.com',
      type: 'A',
      ttl: 60,
      strategy: 'record-swap',
      link: 'lte',
      values: ['198.51.100.1'],
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toEqual([]);
    // The health-check-gated record is Route 53's to answer, by the probe regions' health: no call, a line saying so.
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toEqual([]);
    const published = publishedFor('hq');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: CRITICAL,
      MessageStructure: 'json',
      Subject: expect.stringMatching(/^\[FAILOVER\]/),
      MessageAttributes: { severity: { StringValue: 'critical' }, event: { StringValue: 'failover' } },
    });

    const state = (await store.load('hq'))!;
    expect(state.outbox).toEqual([]);
    const drained = await rawStateItem(dynamo.endpoint, dynamo.tableName, 'hq');
    expect(drained.pending).toEqual({ N: '0' });
    expect(matchesFilter(DISPATCH_FILTER, streamRecord(drained, '1'))).toBe(false);
    const alertId = published[0]!.MessageAttributes!.dedupKey!.StringValue!;
    expect(alertId).toMatch(/^hq:\d+$/);

    const records = logs();
    const applied = records.filter((r) => r.message === 'action applied');
    expect(applied.map((r) => r.kind).sort()).toEqual(['alert', 'dns', 'dns']);
    expect(applied.find((r) => r.strategy === 'record-swap')).toMatchObject({
      level: 'INFO',
      site: 'hq',
      record: 'hq.example.com A',
      link: 'lte',
      attempts: 1,
      detail: expect.stringContaining(`queued for the writer of hosted zone ${ZONE}, message q-0001`),
      function_request_id: context.awsRequestId,
    });
    expect(applied.find((r) => r.strategy === 'health-check-gated')).toMatchObject({
      record: 'vpn-hq.example.com A',
      detail: expect.stringContaining("answered by Route 53 from the probe regions' health checks (data plane)"),
    });
    const emf = emfOf(records)!;
    expect(emf).toMatchObject({ service: 'failover-dispatch', ActionsApplied: 3, ActionsFailed: 0, FailedSites: 0 });
    expect(emf.ActionsSkipped).toBe(records.filter((r) => r.message === 'action skipped').length);
    // From the decision (10 to 15 s ago) to the effect: three values, one per applied action.
    expect([emf.ActionLatency].flat()).toHaveLength(3);
    for (const ms of [emf.ActionLatency].flat() as number[]) expect(ms).toBeGreaterThanOrEqual(4_000);
    // What the dispatcher's IAM policy grants on the table (test/infra checks the policy) suffices.
    expect([...proxy.operations].sort()).toEqual(['GetItem', 'PutItem']);

    // The same record again (a retried batch): nothing is pending, nothing is sent twice.
    expect(await handler(eventOf([record]), context)).toEqual({ batchItemFailures: [] });
    expect(changesOf('hq')).toHaveLength(1);
    expect(publishedFor('hq')).toHaveLength(1);
  });

  it('with SNS throttled every time, still changes DNS, and gives the alert up as an action-failed transition', async () => {
    acceptEverything();
    sns.on(PublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    await failOver('shop');
    const logs = captureLogs();

    const response = await handler(eventOf([await recordOf('shop')]), context);

    // Giving an action up is recorded, not a failure of the invocation.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(changesOf('shop')).toHaveLength(1);
    expect(publishedFor('shop')).toHaveLength(5);
    const transitions = await store.listTransitions('shop');
    expect(transitions.map((t) => t.kind)).toEqual(['failover', 'action-failed']);
    expect(transitions[1]!.explanation.summary).toMatch(/^alert ".*" failed after 5 attempts: .*Throttled/);
    const state = (await store.load('shop'))!;
    expect(state.outbox).toEqual([
      expect.objectContaining({ kind: 'alert', severity: 'critical', event: 'action-failed', suppressed: false }),
    ]);
    // The new alert is a pending action: its state write starts the dispatcher again.
    expect(matchesFilter(DISPATCH_FILTER, await recordOf('shop'))).toBe(true);
    const records = logs();
    expect(records.filter((r) => r.message === 'action retry')).toHaveLength(4);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'action given up',
        site: 'shop',
        kind: 'alert',
        alertEvent: 'failover',
        attempts: 5,
        error: expect.stringContaining('Throttled: Rate exceeded'),
      }),
    );
    expect(emfOf(records)).toMatchObject({ ActionsApplied: 2, ActionsFailed: 1, FailedSites: 0 });

    // SNS is back: the next stream record sends the [ACTION FAILED] alert, and the outbox is empty.
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-0002' });
    captureLogs();
    expect(await handler(eventOf([await recordOf('shop')]), context)).toEqual({ batchItemFailures: [] });
    expect(publishedFor('shop')).toEqual([
      expect.objectContaining({ TopicArn: CRITICAL, Subject: expect.stringMatching(/^\[ACTION FAILED\]/) }),
    ]);
    expect((await store.load('shop'))!.outbox).toEqual([]);
  });

  it('reports the records of a site whose store is unavailable, by sequence number, while other sites go on', async () => {
    acceptEverything();
    await failOver('depot');
    await failOver('kiosk');
    const [depot1, kiosk, depot2] = [await recordOf('depot'), await recordOf('kiosk'), await recordOf('depot')];
    proxy.throttle = (body) => body.includes('SITE#depot');
    const logs = captureLogs();

    const response = await handler(eventOf([depot1!, kiosk!, depot2!]), context);

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: depot1!.dynamodb!.SequenceNumber },
      { itemIdentifier: depot2!.dynamodb!.SequenceNumber },
    ]);
    expect(proxy.throttled).toBeGreaterThanOrEqual(2);
    expect((await store.load('kiosk'))!.outbox).toEqual([]);
    expect((await store.load('depot'))!.outbox.length).toBeGreaterThan(0);
    expect(changesOf('depot')).toEqual([]);
    const records = logs();
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'dispatch failed; the stream retries its records',
        site: 'depot',
        sequenceNumbers: [depot1!.dynamodb!.SequenceNumber, depot2!.dynamodb!.SequenceNumber],
        error: expect.objectContaining({ name: 'StoreUnavailableError' }),
      }),
    );
    expect(emfOf(records)).toMatchObject({ FailedSites: 1, ActionsFailed: 0 });

    // Retried once the table answers again, from the first failed record on: the site is dispatched.
    proxy.throttle = () => false;
    expect(await handler(eventOf([depot1!, kiosk!, depot2!]), context)).toEqual({ batchItemFailures: [] });
    expect((await store.load('depot'))!.outbox).toEqual([]);
    expect(changesOf('depot')).toHaveLength(1);
    expect(changesOf('kiosk')).toHaveLength(1);
  });

  it('ignores records of items that are no configured site state, without failing them', async () => {
    const image = await rawStateItem(dynamo.endpoint, dynamo.tableName, 'hq');
    const atlantis = streamRecord({ ...image, pk: { S: 'SITE#atlantis' } }, String(sequence++));
    const other = streamRecord({ ...image, pk: { S: 'CONFIG' } }, String(sequence++));
    const logs = captureLogs();

    expect(await handler(eventOf([atlantis, other]), context)).toEqual({ batchItemFailures: [] });

    const ignored = logs().filter((r) => r.message === 'stream record ignored');
    expect(ignored.map((r) => r.reason)).toEqual(['site "atlantis" is not configured', 'not a site item']);
    expect(sqs.commandCalls(SendMessageCommand)).toEqual([]);
  });
});
