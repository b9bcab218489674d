import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import { failuresInFifoOrder } from '../../functions/decide/decide-records.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';
import { importWithEnv, lambdaContext } from '../support/lambda.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
type Region = (typeof REGIONS)[number];
const SITES = ['hq', 'store-12', 'callcenter', 'depot'] as const;
type Site = (typeof SITES)[number];
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:failover-observations.fifo';

const CONFIG_YAML = twoLinkConfigYaml({
  regions: REGIONS,
  policy: 'intervalSeconds: 60, failureThreshold: 2, recoveryThreshold: 2, holdDownSeconds: 300',
  sites: SITES.map((id, i) => ({ id, fiber: `203.0.113.${i + 1}`, lte: `198.51.100.${i + 1}`, probe: 'http' })),
});

const context = lambdaContext('failover-decide', 30_000);

let dynamo: LocalDynamo;
let proxy: FaultProxy;
let store: DynamoDbStateStore;
let handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** One region's batch of one round for `site`: the web check of each link, with the given outcomes. */
function batch(site: Site, region: Region, at: number, fiber: Outcome, lte: Outcome = 'up'): ObservationBatch {
  const roundId = new Date(at).toISOString();
  const vantage = `region:${region}`;
  return {
    v: 1,
    site,
    vantage,
    roundId,
    startedAt: roundId,
    control: { ok: true, passed: 3, total: 3, detail: 'all control checks up' },
    observations: (['fiber', 'lte'] as const).map((link) => {
      const outcome = link === 'fiber' ? fiber : lte;
      const down = outcome === 'down';
      return {
        v: 1 as const,
        site,
        check: `web-${link}`,
        link,
        dependency: null,
        kind: 'http' as const,
        vantage,
        roundId,
        at: roundId,
        outcome,
        latencyMs: down ? null : 42,
        errorClass: down ? ('connect' as const) : null,
        detail: down ? 'connect ECONNREFUSED' : '200 OK',
        fields: down ? {} : ({ status: 200 } as Record<string, number>),
        attempts: [
          {
            at: roundId,
            outcome,
            latencyMs: down ? null : 42,
            errorClass: down ? ('connect' as const) : null,
            detail: '',
          },
        ],
      };
    }),
  };
}

/** An SQS FIFO record as Lambda's event source mapping delivers it; the group is the site, as the probes send it. */
function record(body: string, group: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: `rh-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AROAEXAMPLE:failover-probe',
      ApproximateFirstReceiveTimestamp: now,
      SequenceNumber: '18849496460467696128',
      MessageGroupId: group,
      MessageDeduplicationId: randomUUID(),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

const recordOf = (b: ObservationBatch) => record(JSON.stringify(b), b.site);
const eventOf = (records: SQSRecord[]): SQSEvent => ({ Records: records });

/** Rounds `count` minutes apart ending 10 s ago, so that the last one is fresh for the decider's wall clock. */
function roundTimes(count: number): number[] {
  const last = Date.now() - 10_000;
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * 60_000);
}

/** Captures what Powertools writes (info to stdout, errors to stderr) as parsed JSON records. */
function captureLogs(): () => Record<string, unknown>[] {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () =>
    [...out.mock.calls, ...err.mock.calls]
      .map((c) => String(c[0]))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The invocation's own EMF record; the per-region probe metrics (with a Region dimension) are records of their own.
const emfOf = (logs: Record<string, unknown>[]) => logs.find((r) => '_aws' in r && !('Region' in r));
/** Counters are published only when not zero. */
const quiet = (emf: Record<string, unknown> | undefined, ...names: string[]) =>
  names.forEach((name) => expect(emf).not.toHaveProperty(name));

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'decide-handler-test' });
  proxy = await startFaultProxy(dynamo.endpoint);
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  handler = (
    await importWithEnv(
      {
        FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
        STATE_TABLE_NAME: dynamo.tableName,
        POWERTOOLS_SERVICE_NAME: 'failover-decide',
        // The SDK's own per-service endpoint setting: the handler's default client talks to the proxy, then dynalite.
        AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
        AWS_MAX_ATTEMPTS: '2',
      },
      () => import('../../functions/decide/handler.ts'),
    )
  ).handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy?.close();
  await dynamo?.close();
});

afterEach(() => {
  proxy.throttle = () => false;
  vi.restoreAllMocks();
});

describe('decide handler', () => {
  it('fails a site over when two of three regions see its primary down for failureThreshold rounds', async () => {
    const [r1, r2, r3, r4] = roundTimes(4) as [number, number, number, number];
    const voting = ['us-east-1', 'us-west-2'] as const;

    let logs = captureLogs();
    const healthy = await handler(
      eventOf([r1, r2].flatMap((at) => voting.map((region) => recordOf(batch('hq', region, at, 'up'))))),
      context,
    );
    expect(healthy).toEqual({ batchItemFailures: [] });
    expect(await store.load('hq')).toMatchObject({ mode: 'PRIMARY_ACTIVE', links: { fiber: { verdict: 'up' } } });
    const healthyEmf = emfOf(logs());
    expect(healthyEmf).toMatchObject({ DecisionLatency: expect.any(Number) });
    quiet(healthyEmf, 'Transitions', 'FailedSites', 'InvalidMessages');
    // eu-west-1 has not been heard from on hq yet: no RegionsReporting rather than a false "one region silent".
    quiet(healthyEmf, 'RegionsReporting');
    vi.restoreAllMocks();

    logs = captureLogs();
    const down = await handler(
      eventOf([r3, r4].flatMap((at) => voting.map((region) => recordOf(batch('hq', region, at, 'down'))))),
      context,
    );

    expect(down).toEqual({ batchItemFailures: [] });
    const state = await store.load('hq');
    expect(state).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte', links: { fiber: { verdict: 'down' } } });
    const transitions = await store.listTransitions('hq');
    expect(transitions).toEqual([
      expect.objectContaining({ kind: 'failover', from: 'PRIMARY_ACTIVE', to: 'BACKUP_ACTIVE', toLink: 'lte' }),
    ]);
    expect(state!.outbox.some((a) => a.kind === 'history')).toBe(false);
    const records = logs();
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'transition',
        site: 'hq',
        kind: 'failover',
        from: 'PRIMARY_ACTIVE',
        to: 'BACKUP_ACTIVE',
        toLink: 'lte',
        summary: transitions[0]!.explanation.summary,
        function_request_id: context.awsRequestId,
      }),
    );
    const emf = emfOf(records) as Record<string, unknown>;
    expect(emf).toMatchObject({ service: 'failover-decide', Transitions: 1 });
    quiet(emf, 'InvalidMessages', 'FailedSites', 'HistoryWritesFailed');
    // From the oldest batch's start (r3, about 70 s ago) to the commit.
    expect(emf.DecisionLatency).toBeGreaterThanOrEqual(Date.now() - r3 - 60_000);
    expect(emf.DecisionLatency).toBeLessThanOrEqual(Date.now() - r3);
    // What the decide function's IAM policy grants on the table (test/infra checks the policy) suffices; the
    // UpdateItem is the rounds added to the check history.
    expect([...proxy.operations].sort()).toEqual(['GetItem', 'PutItem', 'Query', 'UpdateItem']);
  });

  it('drops invalid, malformed and unknown-site messages with a log line and a metric, never failing them', async () => {
    const [at] = roundTimes(1) as [number];
    const garbage = record(`not json ${'x'.repeat(5000)}`, 'hq');
    const notABatch = record(JSON.stringify({ v: 1, site: 'hq', observations: 'none' }), 'hq');
    const unknownSite = record(JSON.stringify({ ...batch('hq', 'eu-west-1', at, 'up'), site: 'atlantis' }), 'atlantis');
    const valid = recordOf(batch('hq', 'eu-west-1', at, 'down'));
    const logs = captureLogs();

    const response = await handler(eventOf([garbage, notABatch, unknownSite, valid]), context);

    expect(response).toEqual({ batchItemFailures: [] });
    const records = logs();
    const dropped = records.filter((r) => r.message === 'invalid message dropped');
    expect(dropped.map((r) => r.messageId)).toEqual([garbage.messageId, notABatch.messageId, unknownSite.messageId]);
    expect(dropped.every((r) => r.level === 'ERROR')).toBe(true);
    expect(dropped[0]).toMatchObject({ reason: expect.stringMatching(/^not JSON: /) });
    expect(Buffer.byteLength(dropped[0]!.body as string)).toBeLessThanOrEqual(1024 + 3);
    expect(dropped[1]).toMatchObject({ reason: expect.stringMatching(/^not an ObservationBatch: .*vantage/) });
    expect(dropped[2]).toMatchObject({ reason: 'unknown site "atlantis"', messageGroupId: 'atlantis' });
    expect(emfOf(records)).toMatchObject({ InvalidMessages: 3, DecisionLatency: expect.any(Number) });
    quiet(emfOf(records), 'FailedSites');
  });

  it('reports every message of a site whose store is throttled, and only those, while other sites go on', async () => {
    const [r1, r2] = roundTimes(2) as [number, number];
    proxy.throttle = (body) => body.includes('SITE#store-12');
    const mixed = [r1, r2].flatMap((at) =>
      REGIONS.flatMap((region) => [
        recordOf(batch('store-12', region, at, 'up')),
        recordOf(batch('callcenter', region, at, 'up')),
      ]),
    );
    // Ten records, as the event source mapping's batch size allows; two more of store-12 would be an eleventh.
    const records = mixed.slice(0, 10);
    const logs = captureLogs();

    const response = await handler(eventOf(records), context);

    const failedIds = records.filter((r) => JSON.parse(r.body).site === 'store-12').map((r) => r.messageId);
    expect(failedIds).toHaveLength(5);
    expect(response.batchItemFailures).toEqual(failedIds.map((itemIdentifier) => ({ itemIdentifier })));
    expect(proxy.throttled).toBeGreaterThanOrEqual(2);
    expect(await store.load('store-12')).toBeNull();
    expect(await store.load('callcenter')).toMatchObject({ links: { fiber: { verdict: 'up' } } });
    const all = logs();
    expect(all).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'decision failed; its messages return to the queue',
        site: 'store-12',
        messageIds: failedIds,
        error: expect.objectContaining({ name: 'StoreUnavailableError' }),
      }),
    );
    // callcenter was decided with fresh batches of all three regions; store-12's decision failed and says nothing.
    expect(emfOf(all)).toMatchObject({ FailedSites: 1, DecisionLatency: expect.any(Number), RegionsReporting: 3 });
    quiet(emfOf(all), 'InvalidMessages');

    // Redelivered once the throttling is over, the same messages are decided.
    proxy.throttle = () => false;
    const retried = await handler(eventOf(records.filter((r) => failedIds.includes(r.messageId))), context);
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(await store.load('store-12')).toMatchObject({ links: { fiber: { verdict: 'up' } } });
  });

  it('changes nothing when the same records are delivered again', async () => {
    const times = roundTimes(4);
    const event = eventOf(
      times.flatMap((at, i) =>
        REGIONS.slice(0, 2).map((region) => recordOf(batch('depot', region, at, i < 2 ? 'up' : 'down'))),
      ),
    );
    captureLogs();
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    const first = await store.load('depot');
    expect(first).toMatchObject({ mode: 'BACKUP_ACTIVE' });
    const transitions = await store.listTransitions('depot');
    vi.restoreAllMocks();

    const logs = captureLogs();
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });

    expect(await store.load('depot')).toEqual(first);
    expect(await store.listTransitions('depot')).toEqual(transitions);
    const again = emfOf(logs());
    expect(again).toMatchObject({ DecisionLatency: expect.any(Number) });
    quiet(again, 'Transitions');
  });
});

describe('failuresInFifoOrder', () => {
  it('fails, in each message group, every message from the first failed one on, and nothing in other groups', () => {
    const [a1, b1, a2, c1, b2, a3] = ['a', 'b', 'a', 'c', 'b', 'a'].map((group) => record('{}', group)) as [
      SQSRecord,
      SQSRecord,
      SQSRecord,
      SQSRecord,
      SQSRecord,
      SQSRecord,
    ];
    const records = [a1, b1, a2, c1, b2, a3];
    const ids = (...rs: SQSRecord[]) => rs.map((r) => ({ itemIdentifier: r.messageId }));

    expect(failuresInFifoOrder(records, new Set())).toEqual([]);
    expect(failuresInFifoOrder(records, new Set([a2.messageId]))).toEqual(ids(a2, a3));
    expect(failuresInFifoOrder(records, new Set([b1.messageId, c1.messageId]))).toEqual(ids(b1, c1, b2));
  });
});
