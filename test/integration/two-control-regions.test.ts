import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ControlQueuesSink } from '../../shared/adapters/aws/control-queues-sink.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { ObservationsNotDeliveredError } from '../../shared/adapters/aws/errors.ts';
import { SqsObservationSink } from '../../shared/adapters/aws/sqs-observation-sink.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import { peersRequired } from '../support/dynamodb-local.ts';
import { lambdaContext } from '../support/lambda.ts';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { testBatch } from '../support/observations.ts';
import { sqsRecordOf } from '../support/sqs-event-source.ts';
import { rawStateItem, streamRecord } from '../support/stream-records.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

// Two control "regions" on this machine: a moto_server each (their observations queue; the standby's also holds
// every SNS topic, see below), one dynalite table standing for the MRSC global table (one serialization point, as
// MRSC gives: a conditional write sees the latest write of either region), and the real handlers of each region.
const PROBES = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
const PRIMARY = 'us-west-2';
const STANDBY = 'us-east-2';
const ACCOUNT = '123456789012';
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
const CONFIG_YAML = twoLinkConfigYaml({
  regions: PROBES,
  policy: 'intervalSeconds: 60, failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
  extra: 'contacts: [{ name: noc, email: noc@example.com }]',
  sites: [
    { id: 'hq', fiber: '203.0.113.1', lte: '198.51.100.1' },
    { id: 'shop', fiber: '203.0.113.2', lte: '198.51.100.2' },
  ],
}).replace('control: us-east-1', `control: [${PRIMARY}, ${STANDBY}], witness: us-east-1`);

type Decide = (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
type Dispatch = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

interface ControlRegion {
  readonly region: string;
  readonly moto: MotoServer;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  decide: Decide;
  dispatch: Dispatch;
}

const moto = await motoAvailable();
let dynamo: LocalDynamo;
let store: DynamoDbStateStore;
let primary: ControlRegion;
let standby: ControlRegion;
let inboxUrl: string;
let sequence = 1000;
const missed: string[] = [];

async function controlRegion(region: string): Promise<ControlRegion> {
  const server = await startMoto();
  const sqs = new SQSClient({ endpoint: server.endpoint, region, credentials: LOCAL });
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'failover-observations.fifo',
      Attributes: {
        FifoQueue: 'true',
        ContentBasedDeduplication: 'false',
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
        VisibilityTimeout: '180',
      },
    }),
  );
  return { region, moto: server, sqs, queueUrl: QueueUrl!, decide: undefined!, dispatch: undefined! };
}

/** Loads a region's decide and dispatch handlers with its environment (module scope: one instance each). */
async function loadHandlers(target: ControlRegion, topics: { critical: string; warning: string }): Promise<void> {
  const env = {
    FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
    STATE_TABLE_NAME: dynamo.tableName,
    OBSERVATIONS_QUEUE_URL: target.queueUrl,
    CRITICAL_TOPIC_ARN: topics.critical,
    WARNING_TOPIC_ARN: topics.warning,
    AWS_REGION: target.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    // The SDK reads endpoints when a client first sends, after both regions loaded: every SNS topic lives on the
    // standby's moto_server (the notifier signs for each topic's own region).
    AWS_ENDPOINT_URL_SNS: standby.moto.endpoint,
    AWS_MAX_ATTEMPTS: '2',
  };
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  vi.resetModules();
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'failover-decide');
  target.decide = (await import('../../functions/decide/handler.ts')).handler;
  vi.resetModules();
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'failover-dispatch');
  target.dispatch = (await import('../../functions/dispatch/handler.ts')).handler;
}

/** A region's critical and warning topics, on the standby's moto_server; the critical one feeds the inbox. */
async function topicsIn(region: string): Promise<{ critical: string; warning: string }> {
  const sns = new SNSClient({ endpoint: standby.moto.endpoint, region, credentials: LOCAL });
  const critical = (await sns.send(new CreateTopicCommand({ Name: 'failover-critical' }))).TopicArn!;
  const warning = (await sns.send(new CreateTopicCommand({ Name: 'failover-warning' }))).TopicArn!;
  await sns.send(
    new SubscribeCommand({
      TopicArn: critical,
      Protocol: 'sqs',
      Endpoint: `arn:aws:sqs:${STANDBY}:${ACCOUNT}:alerts-inbox`,
    }),
  );
  return { critical, warning };
}

/** What each probe region's function would hand on for one round, with each site's fiber as given. */
function round(at: number, fiber: Record<'hq' | 'shop', Outcome>): ObservationBatch[] {
  return PROBES.flatMap((region) =>
    (['hq', 'shop'] as const).map((site) =>
      testBatch({
        site,
        vantage: `region:${region}`,
        at,
        results: [
          { check: 'web-fiber', link: 'fiber', outcome: fiber[site] },
          { check: 'web-lte', link: 'lte', outcome: 'up' },
        ],
      }),
    ),
  );
}

/** The real sink of a probe region: both control regions' queues, through the SQS adapter. */
function probeSink(): ControlQueuesSink {
  const queue = (target: ControlRegion) => ({
    name: target.region,
    sink: new SqsObservationSink({ queueUrl: target.queueUrl, client: target.sqs, maxAttempts: 2, baseDelayMs: 10 }),
  });
  return new ControlQueuesSink([queue(primary), queue(standby)], (name) => missed.push(name));
}

/** Everything in a region's queue now, as the SQS event source would deliver it. */
async function receiveAll(target: ControlRegion, site?: string): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  for (;;) {
    const { Messages = [] } = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return site ? records.filter((r) => r.attributes.MessageGroupId === site) : records;
    records.push(...Messages.map((m) => sqsRecord(target, m)));
  }
}

const sqsRecord = (target: ControlRegion, message: Message): SQSRecord =>
  sqsRecordOf(message, {
    region: target.region,
    arn: `arn:aws:sqs:${target.region}:${ACCOUNT}:failover-observations.fifo`,
  });

/** The critical alerts SNS delivered for `site` to the inbox so far (both regions' topics feed it). */
async function criticalAlertsFor(site: string, seen: Map<string, string>): Promise<string[]> {
  const sqs = standby.sqs;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: inboxUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) break;
    for (const m of Messages) {
      const envelope = JSON.parse(m.Body!) as {
        TopicArn: string;
        Subject?: string;
        MessageAttributes?: Record<string, { Value: string }>;
      };
      seen.set(m.MessageId!, `${envelope.MessageAttributes?.site?.Value}|${envelope.TopicArn}|${envelope.Subject}`);
    }
  }
  return [...seen.values()].filter((v) => v.startsWith(`${site}|`));
}

const context = (name: string) => lambdaContext(name, 60_000);

/** Runs a region's decider on records as its event source would: then deletes the records it did not fail. */
async function decideIn(target: ControlRegion, records: SQSRecord[]) {
  const answer = await target.decide({ Records: records }, context('failover-decide'));
  const failed = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier));
  const done = records.filter((r) => !failed.has(r.messageId));
  for (let i = 0; i < done.length; i += 10)
    await target.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: target.queueUrl,
        Entries: done.slice(i, i + 10).map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
      }),
    );
  return answer;
}
const streamEventOf = async (sites: string[]): Promise<DynamoDBStreamEvent> => ({
  Records: await Promise.all(
    sites.map(async (site) =>
      streamRecord(await rawStateItem(dynamo.endpoint, dynamo.tableName, site), String(sequence++)),
    ),
  ),
});

describe.skipIf(!moto && !peersRequired)('two control regions', () => {
  beforeAll(async () => {
    dynamo = await startDynalite({ tableName: 'two-control-regions-test' });
    store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
    [primary, standby] = await Promise.all([controlRegion(PRIMARY), controlRegion(STANDBY)]);
    inboxUrl = (await standby.sqs.send(new CreateQueueCommand({ QueueName: 'alerts-inbox' }))).QueueUrl!;
    const primaryTopics = await topicsIn(PRIMARY);
    const standbyTopics = await topicsIn(STANDBY);
    await loadHandlers(primary, primaryTopics);
    await loadHandlers(standby, standbyTopics);
  }, 240_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await primary?.moto.close();
    await standby?.moto.close();
    await dynamo?.close();
  });

  it('decides every round in both regions once, dispatches each effect once, and fails over with the primary gone', async () => {
    const sink = probeSink();
    const last = Date.now() - 5_000;
    const at = (i: number) => last - (5 - i) * 15_000;
    const failoversOf = async (site: string) =>
      (await store.listTransitions(site)).filter((t) => t.kind === 'failover');
    const seen = new Map<string, string>();

    // Rounds 1 to 4 reach both queues, and both deciders decide each batch at the same time: shop fails over.
    const both: Record<'hq' | 'shop', Outcome>[] = [
      { hq: 'up', shop: 'up' },
      { hq: 'up', shop: 'up' },
      { hq: 'up', shop: 'down' },
      { hq: 'up', shop: 'down' },
    ];
    for (const [i, fiber] of both.entries()) {
      await sink.publish(round(at(i), fiber));
      const [forPrimary, forStandby] = await Promise.all([receiveAll(primary), receiveAll(standby)]);
      expect(forPrimary).toHaveLength(6);
      expect(forStandby).toHaveLength(6);
      const answers = await Promise.all([decideIn(primary, forPrimary), decideIn(standby, forStandby)]);
      expect(answers).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    }
    expect(missed).toEqual([]);
    expect(await store.load('shop')).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect(await failoversOf('shop')).toHaveLength(1);
    expect(await store.load('hq')).toMatchObject({ mode: 'PRIMARY_ACTIVE' });

    // Both dispatchers read the same stream record (every MRSC replica's stream has every write): one alert.
    const shopEvent = await streamEventOf(['shop']);
    const dispatched = await Promise.all([
      primary.dispatch(shopEvent, context('failover-dispatch')),
      standby.dispatch(shopEvent, context('failover-dispatch')),
    ]);
    expect(dispatched).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(await criticalAlertsFor('shop', seen)).toHaveLength(1);
    expect((await rawStateItem(dynamo.endpoint, dynamo.tableName, 'shop')).pending).toEqual({ N: '0' });

    // The primary control region goes away: its queue stops answering. Rounds 5 and 6 still count as published.
    await primary.moto.close();
    for (const i of [4, 5]) {
      await sink.publish(round(at(i), { hq: 'down', shop: 'down' }));
      const forStandby = await receiveAll(standby);
      expect(forStandby).toHaveLength(6);
      expect(await decideIn(standby, forStandby)).toEqual({ batchItemFailures: [] });
    }
    expect(missed).toEqual([PRIMARY, PRIMARY]);
    expect(await store.load('hq')).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect(await failoversOf('hq')).toHaveLength(1);
    expect(await failoversOf('shop')).toHaveLength(1);

    // The standby's dispatcher applies it alone: one critical alert, on its own region's topic.
    const hqEvent = await streamEventOf(['hq']);
    expect(await standby.dispatch(hqEvent, context('failover-dispatch'))).toEqual({ batchItemFailures: [] });
    const alerts = await criticalAlertsFor('hq', seen);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(`:sns:${STANDBY}:`);
    // What the standby cannot apply (it has no webhook queue) waits in the outbox for the primary's dispatcher.
    const left = (await store.load('hq'))!.outbox.filter((a) => a.kind !== 'history');
    expect(left.length).toBeGreaterThan(0);
    expect(new Set(left.map((a) => a.kind))).toEqual(new Set(['webhook']));
    expect(await criticalAlertsFor('shop', seen)).toHaveLength(1);
  }, 180_000);

  it('refuses a round only when no control region took it', async () => {
    // The primary's moto_server is stopped (above): a sink of two queues that both refuse.
    const dead = new SqsObservationSink({ queueUrl: primary.queueUrl, client: primary.sqs, maxAttempts: 1 });
    const sink = new ControlQueuesSink([
      { name: PRIMARY, sink: dead },
      { name: STANDBY, sink: dead },
    ]);
    const error = await sink.publish(round(Date.now(), { hq: 'up', shop: 'up' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObservationsNotDeliveredError);
    expect(error).toMatchObject({ lost: 6, total: 6 });
    expect((error as Error).message).toMatch(
      new RegExp(`^6 of 6 observation batch\\(es\\) not delivered: ${PRIMARY}: .*; ${STANDBY}: `),
    );
  }, 60_000);
});
