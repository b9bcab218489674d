import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import {
  RETRY_VISIBILITY_MAX_SECONDS,
  retryVisibilitySeconds,
  returnSoon,
} from '../../functions/decide/return-soon.ts';
import { peersRequired } from '../support/dynamodb-local.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { sqsRecordOf } from '../support/sqs-event-source.ts';

// The decide handler against moto_server's SQS (the observations FIFO queue, 180 s visibility as deployed) and
// dynalite behind a proxy that throttles one site: the real handler, with the records SQS really delivered.
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
const CONFIG_YAML = `version: 1
regions: { probe: [${REGIONS.join(', ')}], control: us-east-1 }
sites:
${['store-12', 'callcenter']
  .map(
    (id, i) => `  - id: ${id}
    links:
      - { id: fiber, role: primary, address: 203.0.113.${i + 1} }
      - { id: lte, role: backup, address: 198.51.100.${i + 1} }
    checks:
      - { id: web-fiber, link: fiber, http: { url: 'https://203.0.113.${i + 1}/' } }
      - { id: web-lte, link: lte, http: { url: 'https://198.51.100.${i + 1}/' } }`,
  )
  .join('\n')}
`;
const ENV = {
  AWS_MAX_ATTEMPTS: '2',
  POWERTOOLS_SERVICE_NAME: 'failover-decide',
};

const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
const moto = await motoAvailable();
let server: MotoServer;
let dynamo: LocalDynamo;
let proxy: FaultProxy;
let sqs: SQSClient;
let queueUrl: string;
let queueArn: string;
let handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

function batch(site: string, region: string, at: number): ObservationBatch {
  const roundId = new Date(at).toISOString();
  const vantage = `region:${region}`;
  return {
    v: 1,
    site,
    vantage,
    roundId,
    startedAt: roundId,
    control: { ok: true, passed: 3, total: 3, detail: 'all control checks up' },
    observations: [
      {
        v: 1,
        site,
        check: 'web-fiber',
        link: 'fiber',
        dependency: null,
        kind: 'http',
        vantage,
        roundId,
        at: roundId,
        outcome: 'up',
        latencyMs: 42,
        errorClass: null,
        detail: '200 OK',
        fields: { status: 200 },
        attempts: [{ at: roundId, outcome: 'up', latencyMs: 42, errorClass: null, detail: '' }],
      },
    ],
  };
}

/** A received message as Lambda's event source mapping hands it to the function. */
const recordOf = (message: Message): SQSRecord => sqsRecordOf(message, { region: 'us-east-1', arn: queueArn });

async function receive(): Promise<SQSRecord[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return (out.Messages ?? []).map(recordOf);
}

describe.skipIf(!moto && !peersRequired)('decide handler: transient failures come back within seconds', () => {
  beforeAll(async () => {
    server = await startMoto();
    dynamo = await startDynalite({ tableName: 'decide-return-soon-test' });
    proxy = await startFaultProxy(dynamo.endpoint);
    sqs = new SQSClient({ endpoint: server.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: LOCAL });
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'failover-observations.fifo',
        Attributes: { FifoQueue: 'true', VisibilityTimeout: '180' },
      }),
    );
    queueUrl = created.QueueUrl!;
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    queueArn = attributes.Attributes!.QueueArn!;
    handler = (
      await importWithEnv(
        {
          ...ENV,
          FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
          STATE_TABLE_NAME: dynamo.tableName,
          AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
          OBSERVATIONS_QUEUE_URL: queueUrl,
          AWS_ENDPOINT_URL_SQS: server.endpoint,
        },
        () => import('../../functions/decide/handler.ts'),
      )
    ).handler;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    sqs?.destroy();
    await proxy?.close();
    await dynamo?.close();
    await server?.close();
  });

  afterEach(() => {
    proxy.throttle = () => false;
    vi.restoreAllMocks();
  });

  it('makes a throttled site’s messages visible again within seconds, not the queue’s 180 s, and leaves the rest alone', async () => {
    const at = Date.now() - 10_000;
    const sent = [
      batch('store-12', 'us-east-1', at),
      batch('store-12', 'us-west-2', at),
      batch('callcenter', 'us-east-1', at),
    ];
    for (const [i, b] of sent.entries()) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(b),
          MessageGroupId: b.site,
          MessageDeduplicationId: `${b.site}-${i}`,
        }),
      );
    }
    const records: SQSRecord[] = [];
    await vi.waitFor(async () => {
      records.push(...(await receive()));
      expect(records).toHaveLength(3);
    }, 20_000);
    const site = (r: SQSRecord) => (JSON.parse(r.body) as ObservationBatch).site;
    const throttledIds = records.filter((r) => site(r) === 'store-12').map((r) => r.messageId);
    expect(throttledIds).toHaveLength(2);

    proxy.throttle = (body) => body.includes('SITE#store-12');
    const logs = captureLogs();
    const returnedAt = Date.now();
    const response = await handler({ Records: records }, lambdaContext('failover-decide'));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([...throttledIds].sort());
    expect(logs()).toContainEqual(
      expect.objectContaining({ message: 'transient failures return within seconds', messages: 2 }),
    );
    vi.restoreAllMocks();
    proxy.throttle = () => false;
    const store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
    expect(await store.load('store-12')).toBeNull();

    // First receive: 2-4 s. Only store-12's messages come back; callcenter's (not deleted here) stay invisible.
    // moto hands a group's messages back one at a time; each is decided (the store answers again) and deleted, as
    // the event source mapping deletes what the function did not report.
    const again: SQSRecord[] = [];
    captureLogs();
    await vi.waitFor(async () => {
      const received = await receive();
      if (received.length > 0) {
        expect(await handler({ Records: received }, lambdaContext('failover-decide'))).toEqual({
          batchItemFailures: [],
        });
        for (const r of received)
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: r.receiptHandle }));
        again.push(...received);
      }
      expect(again.map((r) => r.messageId).sort()).toEqual([...throttledIds].sort());
    }, 40_000);
    expect(Date.now() - returnedAt).toBeLessThan(60_000);
    expect(again.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['2', '2']);
    expect(again.filter((r) => site(r) === 'callcenter')).toEqual([]);
    // Both regions' batches were decided on redelivery (one round is not yet a verdict).
    expect(await store.load('store-12')).toMatchObject({ site: 'store-12', version: 2 });
  });

  it('reports the messages SQS does not change, and never throws: a stale receipt handle, a queue that does not answer', async () => {
    const stale = recordOf({
      MessageId: 'm-stale',
      ReceiptHandle: 'not-a-receipt-handle',
      Body: '{}',
      MD5OfBody: '',
      Attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'store-12' },
    });
    const refusedByQueue = await returnSoon(sqs, queueUrl, [stale]);
    expect(refusedByQueue.changed).toBe(0);
    expect(refusedByQueue.refused).toEqual([{ messageId: 'm-stale', reason: expect.any(String) }]);

    const nowhere = new SQSClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: LOCAL,
    });
    const unreachable = await returnSoon(nowhere, 'http://127.0.0.1:9/123456789012/gone.fifo', [stale, stale]);
    expect(unreachable).toEqual({
      changed: 0,
      refused: [expect.objectContaining({ messageId: 'm-stale' }), expect.anything()],
    });
    nowhere.destroy();
  });
});

describe('retryVisibilitySeconds', () => {
  it.each([
    // receive count, random, seconds
    [1, 0, 2],
    [1, 1, 4],
    [2, 0, 4],
    [2, 1, 8],
    [3, 0.5, 12],
    [4, 1, 32],
    [5, 1, RETRY_VISIBILITY_MAX_SECONDS],
    [5, 0, RETRY_VISIBILITY_MAX_SECONDS / 2],
    [40, 1, RETRY_VISIBILITY_MAX_SECONDS],
    [Number.NaN, 1, 4],
    [0, 0, 2],
  ])('receive %d, random %d: %d s', (receives, random, seconds) => {
    expect(retryVisibilitySeconds(receives, () => random)).toBe(seconds);
  });
});
