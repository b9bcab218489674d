import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DISPATCH_FILTER } from '../../infra/constructs/dispatcher.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { secretsManagerSecretBox } from '../../shared/adapters/aws/secrets-manager-webhook-secrets.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { createSubscription } from '../../shared/usecases/webhooks/create-subscription.ts';
import { peersRequired } from '../support/dynamodb-local.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { createTestHostedZone, motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';
import { queueDepth, SqsEventSource, type Polled } from '../support/sqs-event-source.ts';
import type { ProbeEvent, TickResult } from '../../functions/probe/runtime.ts';
import { matchesFilter, StateItemStream } from '../support/stream-records.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';
import { startReceiver, type Receiver } from '../webhooks/receiver.ts';

/**
 * The whole failover path, every Lambda handler real and run by the event it gets in AWS, against moto_server (SQS,
 * SNS, Route 53, Secrets Manager) and dynalite (the state table):
 *
 * the Scheduler's tick in each probe region -> round tickets on the region's round queue, delayed until due ->
 * probe rounds against a loopback server -> the control region's observations queue (FIFO) -> decide -> the state
 * item's new image (the stream) -> dispatch -> the DNS writer's queue -> dns-writer -> the record in Route 53; the
 * alert on SNS; a webhook delivery ticket -> the delivery worker -> a loopback receiver, signature verified.
 *
 * Messages move as the event sources move them: received from moto, handed over as the SQS event of what was
 * received (attributes, FIFO group), deleted unless reported as failed. The stream is read from the table's items
 * (dynalite has no stream API) and filtered with the dispatcher's filter. The observations that fail hq over and
 * its first webhook ticket are delivered three times each (a lost delete, twice), and the dispatcher's stream batch
 * twice: hq fails over once, shop never.
 */
const PROBES = ['eu-west-1', 'us-east-2', 'ap-southeast-2'] as const;
const CONTROL = 'us-west-2';
const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SITES = ['hq', 'shop'] as const;
/** hq's primary answers 503 from the start: two rounds of two regions (threshold 2, majority of 3) fail it over. */
const DOWN = new Set(['/hq/fiber']);
/** What the whole chain may take on a loaded 2-core machine; alone it takes 20 to 25 s (rounds 10 s apart). */
const CHAIN_BOUND_MS = 60_000;

const moto = await motoAvailable();

interface Fn<E, R> {
  readonly name: string;
  invoke(event: E): Promise<R>;
}

let motoServer: MotoServer;
let dynamo: LocalDynamo;
let route53Proxy: FaultProxy;
let target: Server;
let receiver: Receiver;
let route53: Route53Client;
let zoneId: string;
let webhookSecret: string;
let store: DynamoDbStateStore;
const route53Changes: string[] = [];

let probes: Map<string, Fn<ProbeEvent, TickResult | SQSBatchResponse>>;
let decide: Fn<SQSEvent, SQSBatchResponse>;
let dispatch: Fn<DynamoDBStreamEvent, DynamoDBBatchResponse>;
let writer: Fn<SQSEvent, SQSBatchResponse>;
let deliver: Fn<SQSEvent, SQSBatchResponse>;
let lanes: {
  rounds: Map<string, SqsEventSource>;
  observations: SqsEventSource;
  dnsChanges: SqsEventSource;
  webhooks: SqsEventSource;
};
let inboxUrl: string;
let urls: { observations: string; dns: string; webhooks: string; critical: string };

/**
 * A handler module imported with the function's environment (what its construct sets), invoked with that
 * environment in place: SDK clients resolve their region at their first request.
 */
async function lambda<E, R>(
  name: string,
  env: Record<string, string>,
  load: () => Promise<{ handler: unknown }>,
  remainingMs = 60_000,
): Promise<Fn<E, R>> {
  const full = { ...common(), POWERTOOLS_SERVICE_NAME: name, ...env };
  const { handler } = await importWithEnv(full, load);
  const context: Context = lambdaContext(name, remainingMs);
  return {
    name,
    async invoke(event) {
      vi.unstubAllEnvs();
      for (const [key, value] of Object.entries(full)) vi.stubEnv(key, value);
      return (handler as (event: E, context: Context) => Promise<R>)(event, context);
    },
  };
}

/** What every function of this test shares: credentials and the emulators, named by the SDK's own variables. */
function common(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: motoServer.endpoint,
    AWS_ENDPOINT_URL_SNS: motoServer.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: motoServer.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    // Route 53 through a proxy that counts the writes, then moto.
    AWS_ENDPOINT_URL_ROUTE_53: route53Proxy.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

const sqsIn = (region: string) => new SQSClient({ region, endpoint: motoServer.endpoint, credentials });

async function createQueue(region: string, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const out = await sqsIn(region).send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return out.QueueUrl!;
}

const lane = (region: string, queueUrl: string, batchSize = 10) =>
  new SqsEventSource({ client: sqsIn(region), queueUrl, region, account: ACCOUNT, batchSize });

/** The A record `name` answers in moto now. */
async function answer(name: string): Promise<string | undefined> {
  const out = await route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A' }),
  );
  const set = out.ResourceRecordSets?.find((r) => r.Name === `${name}.` && r.Type === 'A');
  return set?.ResourceRecords?.[0]?.Value;
}

/** SNS deliveries to the inbox queue so far (both topics feed it), as their envelopes. */
const alerts: { TopicArn: string; Subject: string; MessageAttributes: Record<string, { Value: string }> }[] = [];
async function readInbox(): Promise<void> {
  const client = sqsIn(CONTROL);
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: inboxUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return;
    for (const m of Messages) alerts.push(JSON.parse(m.Body!) as (typeof alerts)[number]);
    // Left undeleted on purpose: the visibility timeout (12 h) keeps them from being read twice.
  }
}

describe.skipIf(!moto && !peersRequired)('the whole failover path, handler to handler, on moto', () => {
  beforeAll(async () => {
    target = createServer((req, res) => {
      const down = DOWN.has(req.url ?? '');
      res.writeHead(down ? 503 : 200, { 'content-type': 'text/plain' }).end(down ? 'down' : 'ok');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as AddressInfo).port;
    [motoServer, dynamo, receiver] = await Promise.all([
      startMoto(),
      startDynalite({ tableName: 'failover-full-chain' }),
      startReceiver([200]),
    ]);
    route53Proxy = await startFaultProxy(motoServer.endpoint);
    route53Proxy.inject = ({ method, path, body }) => {
      if (method === 'POST' && path.endsWith('/rrset')) route53Changes.push(body);
      return undefined;
    };
    store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });

    // Route 53: the zone, with each site's record on its primary (as the operator created them).
    route53 = new Route53Client({ region: 'us-east-1', endpoint: motoServer.endpoint, credentials });
    zoneId = await createTestHostedZone(route53, 'example.com');
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: SITES.map((site, i) => ({
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: `${site}.example.com`,
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: `203.0.113.${i + 1}` }],
            },
          })),
        },
      }),
    );

    const yaml = twoLinkConfigYaml({
      regions: PROBES,
      control: CONTROL,
      policy:
        'intervalSeconds: 10, failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0, confirmRetryMs: 50',
      extra: [
        'probing: { concurrency: 8, jitterMs: 0 }',
        'controlChecks:',
        `  - { id: known-good, http: { url: 'http://127.0.0.1:${port}/known-good' } }`,
      ].join('\n'),
      sites: SITES.map((id, i) => ({
        id,
        fiber: `203.0.113.${i + 1}`,
        lte: `198.51.100.${i + 1}`,
        checks: ['fiber', 'lte'].map(
          (link) =>
            `{ id: web-${link}, link: ${link}, timeoutMs: 2000, http: { url: 'http://127.0.0.1:${port}/${id}/${link}' } }`,
        ),
        dns: [{ name: `${id}.example.com`, hostedZoneId: zoneId }],
      })),
    });
    expect(parseConfig(yaml).diagnostics).toEqual([]);

    // The queues and topics the stacks create, by their physical names; URLs as moto gives them (no region in them).
    const roundUrls = new Map<string, string>();
    for (const region of PROBES) roundUrls.set(region, await createQueue(region, 'failover-rounds'));
    const observationsUrl = await createQueue(CONTROL, 'failover-observations.fifo', {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: '180',
    });
    const dnsUrl = await createQueue(CONTROL, 'failover-dns-writer.fifo', {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      VisibilityTimeout: '360',
    });
    const webhookUrl = await createQueue(CONTROL, 'failover-webhooks', { VisibilityTimeout: '360' });
    inboxUrl = await createQueue(CONTROL, 'alerts-inbox', { VisibilityTimeout: '43200' });
    const sns = new SNSClient({ region: CONTROL, endpoint: motoServer.endpoint, credentials });
    const [critical, warning] = await Promise.all(
      ['failover-critical', 'failover-warning'].map(
        async (Name) => (await sns.send(new CreateTopicCommand({ Name }))).TopicArn!,
      ),
    );
    for (const TopicArn of [critical!, warning!])
      await sns.send(
        new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: `arn:aws:sqs:${CONTROL}:${ACCOUNT}:alerts-inbox` }),
      );
    // The webhook key ring as the WebhookDelivery construct generates it (64 characters, no punctuation).
    const secrets = new SecretsManagerClient({ region: CONTROL, endpoint: motoServer.endpoint, credentials });
    const keyRing = await secrets.send(
      new CreateSecretCommand({ Name: 'failover-webhook-keys', SecretString: randomBytes(32).toString('hex') }),
    );
    // A subscription to failover.started, made as the API makes it (sealed with that key ring).
    const created = await createSubscription(
      {
        store: new DynamoDbWebhookStore({ tableName: dynamo.tableName, client: dynamo.client }),
        secretBox: secretsManagerSecretBox({ secretId: keyRing.ARN!, client: secrets }),
        clock: systemClock,
        allowPrivateUrls: true,
      },
      { url: receiver.url, events: ['failover.started'] },
    );
    webhookSecret = created.secret;

    // Each function with the environment its construct gives it.
    const config = { FAILOVER_CONFIG_JSON: configJsonOf(yaml).json };
    const table = { STATE_TABLE_NAME: dynamo.tableName };
    probes = new Map();
    for (const region of PROBES)
      probes.set(
        region,
        await lambda(
          'failover-probe',
          {
            ...config,
            AWS_REGION: region,
            OBSERVATIONS_QUEUE_URL: observationsUrl,
            ROUNDS_QUEUE_URL: roundUrls.get(region)!,
          },
          () => import('../../functions/probe/handler.ts'),
          60_000,
        ),
      );
    const control = { ...config, ...table, AWS_REGION: CONTROL };
    decide = await lambda(
      'failover-decide',
      { ...control, OBSERVATIONS_QUEUE_URL: observationsUrl },
      () => import('../../functions/decide/handler.ts'),
    );
    dispatch = await lambda(
      'failover-dispatch',
      {
        ...control,
        CRITICAL_TOPIC_ARN: critical!,
        WARNING_TOPIC_ARN: warning!,
        DNS_CHANGE_QUEUE_URL: dnsUrl,
        WEBHOOK_QUEUE_URL: webhookUrl,
      },
      () => import('../../functions/dispatch/handler.ts'),
      180_000,
    );
    writer = await lambda(
      'failover-dns-writer',
      { ...control, DNS_CHANGE_QUEUE_URL: dnsUrl },
      () => import('../../functions/dns-writer/handler.ts'),
    );
    // The delivery worker carries no sites.yaml.
    deliver = await lambda(
      'failover-webhooks',
      { ...table, AWS_REGION: CONTROL, WEBHOOK_QUEUE_URL: webhookUrl, WEBHOOK_KEY_SECRET_ARN: keyRing.ARN! },
      () => import('../../functions/webhooks/deliver-handler.ts'),
    );
    urls = { observations: observationsUrl, dns: dnsUrl, webhooks: webhookUrl, critical: critical! };
    lanes = {
      // The probe function's event source reads one ticket at a time.
      rounds: new Map(PROBES.map((region) => [region, lane(region, roundUrls.get(region)!, 1)])),
      observations: lane(CONTROL, observationsUrl),
      dnsChanges: lane(CONTROL, dnsUrl),
      webhooks: lane(CONTROL, webhookUrl),
    };
  }, 180_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await receiver?.close();
    await route53Proxy?.close();
    await dynamo?.close();
    await motoServer?.close();
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
  });

  it('ticks, probes, decides, dispatches, writes Route 53, alerts and delivers the webhook, each once', async () => {
    const logs = captureLogs();
    const started = Date.now();

    // The Scheduler's tick in each probe region: the tick of the minute before plans this minute (its rounds already
    // past are left out as stale), this minute's tick the next one.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const scheduledTime = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    let tickets = 0;
    let leftOut = 0;
    for (const region of PROBES)
      for (const at of [minute - 60_000, minute]) {
        const out = (await probes.get(region)!.invoke({ scheduledTime: scheduledTime(at) })) as TickResult;
        tickets += out.scheduled;
        leftOut += out.skipped.length;
      }
    // Rounds every 10 s in each region over two minutes, less those already stale.
    expect(tickets).toBeGreaterThanOrEqual(3 * 6);

    const stream = new StateItemStream(dynamo.endpoint, dynamo.tableName);
    const dispatched: DynamoDBRecord[][] = [];
    const counts = { tickets: 0, decides: 0, dispatches: 0, writes: 0, deliveries: 0, filteredOut: 0 };
    // The receive counts of every message handed to a function, by message id.
    const receives = new Map<string, number[]>();
    const noteReceives = (records: readonly SQSRecord[]) => {
      for (const r of records)
        receives.set(r.messageId, [...(receives.get(r.messageId) ?? []), Number(r.attributes.ApproximateReceiveCount)]);
    };
    const receivedUnder3 = (records: readonly SQSRecord[], ids: ReadonlySet<string> | undefined) =>
      records.some((r) => ids?.has(r.messageId) && Number(r.attributes.ApproximateReceiveCount) < 3);
    // A lost delete, twice: the batch whose decision failed hq over is delivered again (receive counts 2 and 3).
    let tipping: Set<string> | undefined;
    const redeliverTipping = async ({ records }: Polled) => {
      noteReceives(records);
      if (!tipping && (await store.load('hq'))?.mode === 'BACKUP_ACTIVE')
        tipping = new Set(records.map((r) => r.messageId));
      return receivedUnder3(records, tipping);
    };
    // The same for the first webhook delivery ticket.
    let firstTicket: Set<string> | undefined;
    const redeliverTicket = ({ records }: Polled) => {
      noteReceives(records);
      firstTicket ??= new Set([records[0]!.messageId]);
      return receivedUnder3(records, firstTicket);
    };

    /** One pass of every event source; true when some function ran. */
    const step = async (): Promise<boolean> => {
      let worked = false;
      for (const region of PROBES) {
        const polled = await lanes.rounds
          .get(region)!
          .poll((e) => probes.get(region)!.invoke(e) as Promise<SQSBatchResponse>);
        if (polled) {
          expect(polled.response).toEqual({ batchItemFailures: [] });
          counts.tickets++;
          worked = true;
        }
      }
      const decided = await lanes.observations.poll((e) => decide.invoke(e), { redeliver: redeliverTipping });
      if (decided) {
        expect(decided.response).toEqual({ batchItemFailures: [] });
        counts.decides++;
        worked = true;
      }
      // The stream: new images of the state items, through the dispatcher's filter (pending actions only).
      const records = await stream.read(SITES);
      const passed = records.filter((r) => matchesFilter(DISPATCH_FILTER, r));
      counts.filteredOut += records.length - passed.length;
      if (passed.length > 0) {
        expect(await dispatch.invoke({ Records: passed })).toEqual({ batchItemFailures: [] });
        dispatched.push(passed);
        counts.dispatches++;
        worked = true;
      }
      const wrote = await lanes.dnsChanges.poll((e) => writer.invoke(e));
      if (wrote) {
        expect(wrote.response).toEqual({ batchItemFailures: [] });
        counts.writes++;
        worked = true;
      }
      const delivered = await lanes.webhooks.poll((e) => deliver.invoke(e), { redeliver: redeliverTicket });
      if (delivered) {
        expect(delivered.response).toEqual({ batchItemFailures: [] });
        counts.deliveries++;
        worked = true;
      }
      return worked;
    };

    const pumpUntil = async (what: string, done: () => Promise<boolean>) => {
      while (!(await done())) {
        if (Date.now() - started > CHAIN_BOUND_MS)
          throw new Error(`${what}: not after ${CHAIN_BOUND_MS} ms (${JSON.stringify(counts)})`);
        if (!(await step())) await sleep(100);
      }
    };
    const drained = async () =>
      (await Promise.all([urls.observations, urls.dns, urls.webhooks].map((u) => queueDepth(sqsIn(CONTROL), u)))).every(
        (n) => n === 0,
      );

    await pumpUntil('hq failed over: its record moved, the alert and the webhook out', async () => {
      await readInbox();
      return (await answer('hq.example.com')) === '198.51.100.1' && alerts.length > 0 && receiver.requests.length > 0;
    });
    const failedOverMs = Date.now() - started;
    const ticketsAtFailover = counts.tickets;

    // Three tickets more (a round per region, hq still down), and the redeliveries and the queues are worked off.
    await pumpUntil('three more tickets, the redeliveries, the queues drained', async () => {
      const tippingDone = [...(tipping ?? [])].every((id) => receives.get(id)?.length === 3);
      return counts.tickets >= ticketsAtFailover + 3 && tippingDone && (await drained());
    });
    // Lambda retries a stream batch whole (a timeout after the work was done): the failover's batch again.
    const failoverBatch = dispatched.find((b) => b.some((r) => r.dynamodb?.Keys?.pk?.S === 'SITE#hq'))!;
    expect(await dispatch.invoke({ Records: failoverBatch })).toEqual({ batchItemFailures: [] });
    expect(await drained()).toBe(true);
    await readInbox();
    const elapsedMs = Date.now() - started;
    const lines = logs();
    vi.restoreAllMocks();

    // hq failed over once, shop never.
    expect(await store.load('hq')).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    expect((await store.listTransitions('hq')).filter((t) => t.kind === 'failover')).toHaveLength(1);
    expect(await store.load('shop')).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber' });
    expect(await store.listTransitions('shop')).toEqual([]);
    // The batch that tipped it came three times (receive counts 1, 2, 3), and so did the first delivery ticket.
    expect(tipping?.size).toBeGreaterThan(0);
    for (const id of [...tipping!, ...firstTicket!]) expect(receives.get(id)).toEqual([1, 2, 3]);

    // One Route 53 change: hq's record UPSERTed to its backup; shop's untouched.
    expect(route53Changes).toHaveLength(1);
    expect(route53Changes[0]).toMatch(/<Action>UPSERT<\/Action>/);
    expect(route53Changes[0]).toContain('<Name>hq.example.com.</Name>');
    expect(await answer('hq.example.com')).toBe('198.51.100.1');
    expect(await answer('shop.example.com')).toBe('203.0.113.2');

    // One alert, on the critical topic, with the attributes subscribers filter on.
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.TopicArn).toBe(urls.critical);
    expect(alerts[0]!.Subject).toContain('hq');
    const attributes = Object.fromEntries(Object.entries(alerts[0]!.MessageAttributes).map(([k, v]) => [k, v.Value]));
    expect(attributes).toMatchObject({ site: 'hq', severity: 'critical', event: 'failover' });

    // One webhook delivery, signed with the subscription's secret.
    expect(receiver.requests).toHaveLength(1);
    const request = receiver.requests[0]!;
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const payload = new Webhook(webhookSecret).verify(request.body, headers) as Record<string, unknown>;
    expect(payload).toMatchObject({ type: 'failover.started', data: expect.objectContaining({ site: 'hq' }) });
    expect(lines.filter((l) => l.message === 'webhook attempt')).toEqual([
      expect.objectContaining({ outcome: 'ok', status: 200, event: 'failover.started' }),
    ]);
    expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
    // Each ticket arrived when its round was due (its DelaySeconds), never before; on a loaded machine one may come
    // too late and be dropped as stale (beyond the stale rounds the late tick left out).
    const rounds = lines.filter((l) => l.message === 'round');
    const lateTickets = lines.filter((l) => l.message === 'stale round dropped').length - leftOut;
    expect(rounds.length + lateTickets).toBe(counts.tickets);
    for (const r of rounds)
      expect(Date.parse(String(r.startedAt))).toBeGreaterThanOrEqual(Date.parse(String(r.roundId)));
    expect(new Set(rounds.map((r) => r.region))).toEqual(new Set(PROBES));

    console.info(
      `full chain on moto: ${tickets} round tickets queued by ${PROBES.length * 2} ticks; hq failed over, its record ` +
        `moved, alerted and delivered after ${failedOverMs} ms, all drained after ${elapsedMs} ms; ${counts.tickets} ` +
        `tickets run (${lateTickets} of them too late), ${counts.decides} decide, ${counts.dispatches} dispatch (+1 replayed), ${counts.writes} dns-writer, ` +
        `${counts.deliveries} delivery invocations; ${counts.filteredOut} state images filtered out; ` +
        `${route53Changes.length} Route 53 change, ${alerts.length} alert, ${receiver.requests.length} webhook`,
    );
  }, 120_000);
});
