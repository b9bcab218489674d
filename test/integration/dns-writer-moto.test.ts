import { ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type {
  DynamoDBRecord,
  DynamoDBStreamEvent,
  SQSEvent,
  SQSBatchResponse,
  DynamoDBBatchResponse,
} from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, lambdaContext } from '../support/lambda.ts';
import { createTestHostedZone, motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { twoLinkRound } from '../support/observations.ts';
import { queueDepth, sqsRecordOf } from '../support/sqs-event-source.ts';
import { rawStateItem, streamRecord } from '../support/stream-records.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

/**
 * 250 sites of one hosted zone fail over at once. The real dispatch handler (stream records of the real state
 * items) hands each record-swap change to the DNS writer's FIFO queue in moto; the real writer handler drains it,
 * ten messages a batch as Lambda's event source delivers a FIFO queue, through a fault proxy in front of moto's
 * Route 53 that answers Throttling and PriorRequestNotComplete to a share of the changes. Every record ends on its
 * backup and nothing is given up.
 */
// 500 sites take 70 to 110 s alone on the 2-core machine, and over 300 s inside the full suite: 250 here.
const SITES = 250;
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const available = await motoAvailable();
const ids = Array.from({ length: SITES }, (_, i) => `s${String(i).padStart(3, '0')}`);
const address = (net: number, i: number) => `10.${net}.${i >> 8}.${i & 255}`;

let moto: MotoServer;
let dynamo: LocalDynamo;
let proxy: FaultProxy;
let zoneId: string;
let queueUrl: string;
let config: FailoverConfig;
let store: DynamoDbStateStore;
let sqs: SQSClient;
let route53: Route53Client;

const route53Error = (code: string) => ({
  status: 400,
  headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'fault-proxy' },
  body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>injected by the test</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
});

beforeAll(async () => {
  if (!available) return;
  moto = await startMoto();
  dynamo = await startDynalite({ tableName: 'dns-writer-moto-test' });
  proxy = await startFaultProxy(moto.endpoint);
  const aws = { endpoint: moto.endpoint, region: 'us-east-1', credentials };
  route53 = new Route53Client(aws);
  sqs = new SQSClient(aws);
  zoneId = await createTestHostedZone(route53, 'example.com');
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'failover-dns-writer.fifo',
      Attributes: { FifoQueue: 'true', VisibilityTimeout: '30' },
    }),
  );
  queueUrl = queue.QueueUrl!;
  const sns = new SNSClient(aws);
  const topics = await Promise.all(
    ['failover-critical', 'failover-warning'].map((Name) => sns.send(new CreateTopicCommand({ Name }))),
  );
  const yaml = twoLinkConfigYaml({
    regions: REGIONS,
    policy: 'failureThreshold: 1, recoveryThreshold: 1, remindEveryMinutes: 0',
    // Every site fails over at once on purpose: the mass-failover brake (its own tests) would hold most of them.
    extra: 'brake: { enabled: false }',
    sites: ids.map((id, i) => ({
      id,
      fiber: address(1, i),
      lte: address(2, i),
      dns: [{ name: `${id}.example.com`, hostedZoneId: zoneId }],
    })),
  });
  config = parseConfig(yaml).config!;
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  const env = {
    FAILOVER_CONFIG_JSON: configJsonOf(yaml).json,
    STATE_TABLE_NAME: dynamo.tableName,
    CRITICAL_TOPIC_ARN: topics[0]!.TopicArn!,
    WARNING_TOPIC_ARN: topics[1]!.TopicArn!,
    DNS_CHANGE_QUEUE_URL: queueUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: moto.endpoint,
    AWS_ENDPOINT_URL_SNS: moto.endpoint,
    // Route 53 through the fault proxy, then moto.
    AWS_ENDPOINT_URL_ROUTE_53: proxy.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await dynamo?.close();
  await moto?.close();
});

/** Every record set of the zone, read from moto directly (not through the proxy). */
async function zoneRecords(): Promise<ResourceRecordSet[]> {
  const all: ResourceRecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: 'A' } = {};
  for (;;) {
    const page = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    all.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return all;
    start = { StartRecordName: page.NextRecordName!, StartRecordType: page.NextRecordType as 'A' };
  }
}

/** What Lambda's SQS event source gives the function for a received FIFO message. */
const sqsRecord = (message: Message) =>
  sqsRecordOf(message, { region: 'us-east-1', arn: 'arn:aws:sqs:us-east-1:123456789012:failover-dns-writer.fifo' });

type WriterHandler = (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>;

/**
 * Lambda's SQS event source, as far as the writer sees it: receives up to ten messages (SQS holds a FIFO group back
 * while any of its messages is in flight), invokes the handler, deletes what it did not report as failed.
 */
async function drainWriterQueue(
  writer: WriterHandler,
  context: unknown,
  boundMs = 480_000,
): Promise<{ invocations: number; returned: number }> {
  const started = Date.now();
  let invocations = 0;
  let returned = 0;
  while ((await queueDepth(sqs, queueUrl)) > 0) {
    expect(Date.now() - started).toBeLessThan(boundMs);
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) continue;
    invocations++;
    const out = await writer({ Records: messages.map(sqsRecord) }, context);
    const failed = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
    returned += failed.size;
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length > 0)
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
  }
  return { invocations, returned };
}

describe.skipIf(!available)('DNS writer against moto (Route 53 and SQS) with Route 53 throttling', () => {
  it(`fails ${SITES} sites of one zone over at once: every record on its backup, none given up`, async () => {
    // One round from every region: fiber down, lte up. failureThreshold 1 makes it a failover for every site.
    const at = Date.now() - 10_000;
    for (let from = 0; from < ids.length; from += 25) {
      await Promise.all(
        ids.slice(from, from + 25).map((site) =>
          decideSite(
            { config, store, clock: { now: () => at + 5_000 } },
            {
              site,
              batches: twoLinkRound({ site, regions: REGIONS, at, fiber: 'down' }),
            },
          ),
        ),
      );
    }
    expect((await store.load(ids[SITES - 1]!))!).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });

    // Route 53 through the proxy: a 5 requests/s account bucket, and beyond it one change in four Throttling and
    // one in seven PriorRequestNotComplete.
    let changes = 0;
    let bucket = { tokens: 5, at: Date.now() };
    const faults = { Throttling: 0, PriorRequestNotComplete: 0 };
    proxy.inject = ({ method, path }) => {
      if (method !== 'POST' || !path.includes('/rrset')) return undefined;
      const now = Date.now();
      bucket = { tokens: Math.min(5, bucket.tokens + ((now - bucket.at) / 1000) * 5), at: now };
      changes++;
      const code =
        bucket.tokens < 1 || changes % 4 === 0
          ? 'Throttling'
          : changes % 7 === 0
            ? 'PriorRequestNotComplete'
            : undefined;
      if (!code) {
        bucket = { ...bucket, tokens: bucket.tokens - 1 };
        return undefined;
      }
      faults[code]++;
      return route53Error(code);
    };

    vi.resetModules();
    const dispatch = (await import('../../functions/dispatch/handler.ts')).handler as unknown as (
      event: DynamoDBStreamEvent,
      context: unknown,
    ) => Promise<DynamoDBBatchResponse>;
    const writer = (await import('../../functions/dns-writer/handler.ts')).handler as unknown as (
      event: SQSEvent,
      context: unknown,
    ) => Promise<SQSBatchResponse>;
    const logs = captureLogs();
    const started = Date.now();

    // The stream: batches of ten state records, four shards at once.
    const records: DynamoDBRecord[] = [];
    for (const [i, site] of ids.entries())
      records.push(streamRecord(await rawStateItem(dynamo.endpoint, dynamo.tableName, site), String(1000 + i)));
    const batches: DynamoDBRecord[][] = [];
    for (let i = 0; i < records.length; i += 10) batches.push(records.slice(i, i + 10));
    const dispatchContext = lambdaContext('failover-dispatch', 180_000);
    const shard = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift())
        expect(await dispatch({ Records: batch }, dispatchContext)).toEqual({ batchItemFailures: [] });
    };
    await Promise.all([shard(), shard(), shard(), shard()]);
    const dispatchedMs = Date.now() - started;

    // The writer's event source: receive up to ten, invoke, delete what was not reported as failed.
    const { invocations, returned } = await drainWriterQueue(writer, lambdaContext('failover-dns-writer', 60_000));
    const elapsedMs = Date.now() - started;
    const lines = logs();
    vi.restoreAllMocks();

    const zone = await zoneRecords();
    const answers = new Map(zone.filter((r) => r.Type === 'A').map((r) => [r.Name, r.ResourceRecords?.[0]?.Value]));
    const wrong = ids.filter((id, i) => answers.get(`${id}.example.com.`) !== address(2, i));
    expect(wrong).toEqual([]);
    // Nothing given up: no action-failed anywhere, no refused change, no dispatcher give-up.
    const transitions = await Promise.all(ids.slice(0, 50).map((id) => store.listTransitions(id)));
    expect(transitions.flat().filter((t) => t.kind === 'action-failed')).toEqual([]);
    expect(
      lines.filter((l) => l.message === 'action given up' || String(l.message).startsWith('dns change refused')),
    ).toEqual([]);
    const written = lines.filter((l) => l.message === 'dns batch written');
    const retries = lines.filter((l) => l.message === 'dns batch retry');
    expect(faults.Throttling).toBeGreaterThan(0);
    expect(faults.PriorRequestNotComplete).toBeGreaterThan(0);
    expect(retries.length).toBe(faults.Throttling + faults.PriorRequestNotComplete);
    // Ten messages a FIFO batch: one request per batch of ten records, and a retry per injected fault.
    expect(written.length).toBe(SITES / 10);
    expect(changes).toBe(written.length + retries.length);
    console.info(
      `dns writer, ${SITES} failovers in one zone: dispatched in ${dispatchedMs} ms, all written after ${elapsedMs} ms; ` +
        `${changes} ChangeResourceRecordSets (${faults.Throttling} Throttling, ${faults.PriorRequestNotComplete} PriorRequestNotComplete injected), ` +
        `${invocations} writer invocations, ${returned} messages returned, 0 given up`,
    );
  }, 600_000);

  it('hands back what Route 53 throttles past an invocation, writes it later, and records only a refused change as action-failed', async () => {
    // Twenty sites move back to their primary; Route 53 throttles every change for 8 s (longer than an invocation's
    // time to write) and refuses any batch holding s007's record as invalid.
    const sites = ids.slice(0, 20);
    const refused = `${ids[7]}.example.com.`;
    const throttledUntil = Date.now() + 8_000;
    let refusals = 0;
    proxy.inject = ({ method, path, body }) => {
      if (method !== 'POST' || !path.includes('/rrset')) return undefined;
      if (Date.now() < throttledUntil) return route53Error('Throttling');
      if (body.includes(`<Name>${refused}</Name>`)) {
        refusals++;
        return route53Error('InvalidChangeBatch');
      }
      return undefined;
    };
    vi.resetModules();
    const { SqsDnsChangeQueue } = await import('../../shared/adapters/aws/sqs-dns-change-queue.ts');
    const queue = new SqsDnsChangeQueue({ queueUrl, client: sqs });
    for (const [i, site] of sites.entries()) {
      const state = (await store.load(site))!;
      await queue.apply({
        kind: 'dns',
        id: `${site}:${state.seq + 1}:1`,
        site,
        seq: state.seq + 1,
        at: Date.now(),
        zone: 'example.com',
        hostedZoneId: zoneId,
        name: `${site}.example.com`,
        type: 'A',
        ttl: 60,
        strategy: 'record-swap',
        link: 'fiber',
        values: [address(1, i)],
      });
    }
    const writer = (await import('../../functions/dns-writer/handler.ts')).handler as unknown as WriterHandler;
    const logs = captureLogs();
    // 12.5 s left: the writer keeps 10 s for itself, so each invocation tries for about 2.5 s.
    const { returned } = await drainWriterQueue(writer, lambdaContext('failover-dns-writer', 12_500));
    const lines = logs();
    vi.restoreAllMocks();
    proxy.inject = () => undefined;

    expect(returned).toBeGreaterThan(0);
    const answers = new Map((await zoneRecords()).map((r) => [r.Name, r.ResourceRecords?.[0]?.Value]));
    const wrong = sites.filter((site, i) =>
      site === ids[7]
        ? answers.get(`${site}.example.com.`) !== address(2, i)
        : answers.get(`${site}.example.com.`) !== address(1, i),
    );
    expect(wrong).toEqual([]);
    expect(refusals).toBeGreaterThanOrEqual(2);
    const failedOf = async (site: string) =>
      (await store.listTransitions(site)).filter((t) => t.kind === 'action-failed');
    expect(await failedOf(ids[7]!)).toHaveLength(1);
    expect((await failedOf(ids[7]!))[0]!.explanation.summary).toMatch(/InvalidChangeBatch|rejected as invalid/);
    for (const site of sites.filter((s) => s !== ids[7])) expect(await failedOf(site), site).toEqual([]);
    expect(lines.filter((l) => String(l.message).startsWith('dns change refused'))).toHaveLength(1);
    expect(lines.some((l) => l.message === 'dns batch retry')).toBe(true);
  }, 600_000);
});
