import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configJsonOf } from '../../shared/config/load.ts';
import { ObservationBatch } from '../../shared/contracts/observation.ts';
import { importWithEnv, lambdaContext } from '../support/lambda.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/failover-observations.fifo';
const ROUNDS_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/failover-rounds';
const sqs = mockClient(SQSClient);
let server: Server;
let port: number;

const context = lambdaContext('failover-probe', 120_000);

/** A config whose only region is the one under test (offset 0) and whose checks hit the loopback server. */
function configYaml(probing = '{ concurrency: 4, jitterMs: 0 }'): string {
  return `
version: 1
regions: { probe: [eu-west-1, us-west-2], control: us-east-1 }
probing: ${probing}
controlChecks:
  - id: known-good
    http: { url: 'http://127.0.0.1:${port}/known-good' }
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 127.0.0.1 }
      - { id: lte, role: backup, address: 127.0.0.2 }
    checks:
      - id: portal-fiber
        link: fiber
        timeoutMs: 3000
        http: { url: 'http://127.0.0.1:${port}/health', bodyContains: ok }
      - id: portal-lte
        link: lte
        timeoutMs: 3000
        tcp: { host: 127.0.0.1, port: ${port} }
`;
}

/** Imports the handler afresh with the given environment: its dependencies are built at import. */
async function importHandler(env: Record<string, string>) {
  return (await importWithEnv(env, () => import('../../functions/probe/handler.ts'))).handler;
}

/** Captures what Powertools writes (info to stdout, errors to stderr) as parsed JSON records. */
function captureLogs(): { text: () => string; records: () => Record<string, unknown>[] } {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const lines = () => [...out.mock.calls, ...err.mock.calls].map((c) => String(c[0]));
  return {
    text: () => lines().join(''),
    records: () =>
      lines()
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** The current minute, as the Scheduler would send it. */
const thisMinute = () => new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace('.000Z', 'Z');

/** An SQS event of the round queue carrying these message bodies. */
function ticketEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      receiptHandle: `h${i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: 'x',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:rounds',
      awsRegion: 'eu-west-1',
    })),
  };
}

/** The eu-west-1 round of the next minute (offset 0 of a 60 s interval): running it now is early, never stale. */
const nextRound = () => Math.ceil(Date.now() / 60_000) * 60_000;
const ticket = (atMs: number, region = 'eu-west-1') => JSON.stringify({ v: 1, region, atMs });

const acceptAll = (input: { Entries: SendMessageBatchRequestEntry[] }) => ({
  Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
  Failed: [],
});

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url === '/health' ? 'ok' : 'fine');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  sqs.reset();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('probe handler', () => {
  const env = () => ({
    FAILOVER_CONFIG_JSON: configJsonOf(configYaml()).json,
    OBSERVATIONS_QUEUE_URL: QUEUE_URL,
    ROUNDS_QUEUE_URL: ROUNDS_URL,
    AWS_REGION: 'eu-west-1',
    POWERTOOLS_SERVICE_NAME: 'failover-probe',
  });

  it('on a tick, queues a ticket per round of the next minute, delayed to its offset, and returns at once', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    const logs = captureLogs();
    const handler = await importHandler(env());
    const scheduledTime = thisMinute();
    const windowStart = Date.parse(scheduledTime) + 60_000;

    const before = Date.now();
    const result = await handler({ scheduledTime }, context);

    expect(result).toEqual({ scheduled: 1, skipped: [] });
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.QueueUrl).toBe(ROUNDS_URL);
    expect(input.Entries).toHaveLength(1);
    const [entry] = input.Entries!;
    expect(JSON.parse(entry!.MessageBody!)).toEqual({ v: 1, region: 'eu-west-1', atMs: windowStart });
    // Whole seconds, rounded up: the ticket never arrives before its round.
    expect(entry!.DelaySeconds).toBeGreaterThanOrEqual(Math.floor((windowStart - Date.now()) / 1000));
    expect(entry!.DelaySeconds).toBeLessThanOrEqual(Math.ceil((windowStart - before) / 1000));
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ message: 'rounds scheduled', region: 'eu-west-1', scheduledTime }),
    );
    // Nothing went wrong: no metric, and no "no metrics" warning either.
    expect(logs.records().find((r) => '_aws' in r)).toBeUndefined();
    expect(logs.text()).not.toContain('No application metrics');
  });

  it('shards a round larger than a ticket: a tick queues a ticket per shard, and a ticket runs its shard only', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    const logs = captureLogs();
    // A second site, and tickets of 3 checks: the control check and one site's two.
    const yaml = configYaml('{ concurrency: 4, jitterMs: 0, maxChecksPerTicket: 3 }').replace(
      'sites:\n',
      `sites:
  - id: branch
    links:
      - { id: dsl, role: primary, address: 127.0.0.3 }
      - { id: lte, role: backup, address: 127.0.0.4 }
    checks:
      - { id: web-dsl, link: dsl, http: { url: 'http://127.0.0.1:${port}/branch' } }
      - { id: web-lte, link: lte, tcp: { host: 127.0.0.1, port: ${port} } }
`,
    );
    const handler = await importHandler({ ...env(), FAILOVER_CONFIG_JSON: configJsonOf(yaml).json });
    const scheduledTime = thisMinute();
    const windowStart = Date.parse(scheduledTime) + 60_000;
    expect(await handler({ scheduledTime }, context)).toEqual({ scheduled: 2, skipped: [] });
    const bodies = sqs
      .commandCalls(SendMessageBatchCommand)[0]!
      .args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!));
    expect(bodies).toEqual([
      { v: 1, region: 'eu-west-1', atMs: windowStart, shard: 0, shards: 2 },
      { v: 1, region: 'eu-west-1', atMs: windowStart, shard: 1, shards: 2 },
    ]);

    sqs.resetHistory();
    const shard1 = JSON.stringify(bodies[1]);
    const outOfRange = JSON.stringify({ ...bodies[1], shard: 2 });
    const result = (await handler(ticketEvent(shard1, outOfRange), context)) as SQSBatchResponse;
    expect(result).toEqual({ batchItemFailures: [] });
    const entries = sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!);
    expect(entries.map((e) => e.MessageGroupId)).toEqual(['hq']);
    expect(ObservationBatch.parse(JSON.parse(entries[0]!.MessageBody!))).toMatchObject({
      roundId: new Date(windowStart).toISOString(),
      control: { ok: true, passed: 1, total: 1 },
    });
    const records = logs.records();
    expect(records).toContainEqual(expect.objectContaining({ message: 'round', shard: 1, shards: 2, observations: 2 }));
    expect(records).toContainEqual(
      expect.objectContaining({ message: 'round ticket dropped', messageId: 'm1', reason: 'unreadable' }),
    );
  });

  it("on a ticket, runs its round against the real server and publishes the observations to the decider's queue", async () => {
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    const logs = captureLogs();
    const handler = await importHandler(env());
    const atMs = nextRound();

    const result = (await handler(ticketEvent(ticket(atMs)), context)) as SQSBatchResponse;

    expect(result).toEqual({ batchItemFailures: [] });
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    const entry = calls[0]!.args[0].input.Entries![0]!;
    expect(calls[0]!.args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(entry.MessageGroupId).toBe('hq');
    const batch = ObservationBatch.parse(JSON.parse(entry.MessageBody!));
    expect(batch).toMatchObject({
      site: 'hq',
      vantage: 'region:eu-west-1',
      roundId: new Date(atMs).toISOString(),
      control: { ok: true, passed: 1, total: 1 },
    });
    expect(batch.observations).toHaveLength(2);
    expect(batch.observations.find((o) => o.check === 'portal-fiber')).toMatchObject({
      check: 'portal-fiber',
      link: 'fiber',
      kind: 'http',
      outcome: 'up',
      errorClass: null,
      fields: { status: 200 },
    });

    const records = logs.records();
    expect(records).toContainEqual(
      expect.objectContaining({
        message: 'round',
        region: 'eu-west-1',
        roundId: batch.roundId,
        observations: 2,
        up: 2,
        control: expect.objectContaining({ ok: true }),
        function_request_id: context.awsRequestId,
      }),
    );
    expect(records.find((r) => '_aws' in r)).toBeUndefined();
  });

  it('reports a round whose observations cannot be delivered, and counts it', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }));
    const logs = captureLogs();
    const handler = await importHandler(env());

    const result = await handler(ticketEvent(ticket(nextRound())), context);

    // The round ran and its loss is reported; retrying it would only make it late.
    expect(result).toEqual({ batchItemFailures: [] });
    const records = logs.records();
    expect(records).toContainEqual(
      expect.objectContaining({
        message: 'observations dropped',
        error: expect.objectContaining({ name: 'ObservationsNotDeliveredError' }),
      }),
    );
    expect(records.find((r) => '_aws' in r)).toMatchObject({ FailedPublishes: 1, service: 'failover-probe' });
  });

  it("sends the checks a round had to skip with the site's batch, and counts them", async () => {
    const sent: SendMessageBatchRequestEntry[] = [];
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => {
      sent.push(...input.Entries);
      return acceptAll(input);
    });
    const logs = captureLogs();
    // A budget shorter than the site checks' 3 s timeouts: they cannot run, and are not judged half-run.
    const handler = await importHandler({
      ...env(),
      FAILOVER_CONFIG_JSON: configJsonOf(configYaml('{ concurrency: 4, jitterMs: 0, roundBudgetMs: 2000 }')).json,
    });

    const result = await handler(ticketEvent(ticket(nextRound())), context);

    expect(result).toEqual({ batchItemFailures: [] });
    const [batch] = sent.map((e) => ObservationBatch.parse(JSON.parse(e.MessageBody!)));
    expect(sent).toHaveLength(1);
    expect(batch!.observations).toEqual([]);
    expect(batch!.skipped!.map((s) => [s.check, s.link]).sort()).toEqual([
      ['portal-fiber', 'fiber'],
      ['portal-lte', 'lte'],
    ]);
    const records = logs.records();
    // The control check (5 s by default) was skipped too: counted, but it belongs to no site's batch.
    expect(records).toContainEqual(expect.objectContaining({ message: 'round', skipped: 3 }));
    expect(records.find((r) => '_aws' in r)).toMatchObject({ SkippedChecks: 3, service: 'failover-probe' });
  });

  it('drops stale, unreadable and foreign tickets without running or retrying them', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(acceptAll);
    const logs = captureLogs();
    const handler = await importHandler(env());
    const stale = nextRound() - 120_000;

    const result = await handler(ticketEvent(ticket(stale), 'not json', ticket(nextRound(), 'us-west-2')), context);

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    const records = logs.records();
    expect(records).toContainEqual(
      expect.objectContaining({ message: 'stale round dropped', roundId: new Date(stale).toISOString() }),
    );
    expect(records.filter((r) => r.message === 'round ticket dropped').map((r) => r.reason)).toEqual(
      expect.arrayContaining(['unreadable', 'ticket of us-west-2']),
    );
    expect(records.find((r) => '_aws' in r)).toMatchObject({ StaleRounds: 1 });
  });

  it('fails the cold start naming the problem when the bundle carries a raw document instead of a resolved config', async () => {
    const logs = captureLogs();
    // What a bundle built by hand from the sites.yaml, without synth, would carry.
    const raw = JSON.stringify({ version: 1, regions: { probe: ['eu-west-1'], control: 'us-east-1' }, sites: [] });
    await expect(importHandler({ ...env(), FAILOVER_CONFIG_JSON: raw })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    const diagnostics = logs
      .records()
      .filter((r) => r.message === 'invalid configuration')
      .map((r) => r.diagnostic);
    expect(diagnostics).toEqual(['format undefined, expected "failover-config/resolved-2" (build it at synth)']);
  });

  it('fails the cold start naming the problem when the bundled config is not JSON or missing', async () => {
    const logs = captureLogs();
    await expect(importHandler({ ...env(), FAILOVER_CONFIG_JSON: 'version: 1' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    expect(logs.records().find((r) => r.message === 'invalid configuration')?.diagnostic).toMatch(/^not JSON: /);
    await expect(importHandler({ ...env(), FAILOVER_CONFIG_JSON: '' })).rejects.toThrow(
      'FAILOVER_CONFIG_JSON is empty: the bundle was built without the configuration',
    );
  });

  it('refuses to start in a region that is not a probe region of the config', async () => {
    captureLogs();
    await expect(importHandler({ ...env(), AWS_REGION: 'ap-south-1' })).rejects.toThrow(/not a probe region/);
  });

  it("refuses a control queue URL that names another region than the configuration's control region", async () => {
    captureLogs();
    const elsewhere = 'https://sqs.eu-central-1.amazonaws.com/123456789012/failover-observations.fifo';
    await expect(importHandler({ ...env(), OBSERVATIONS_QUEUE_URL: elsewhere })).rejects.toThrow(
      `queue URL ${elsewhere} names region eu-central-1, but the queue is expected in us-east-1`,
    );
  });

  it('refuses a standby queue when the configuration names no standby control region', async () => {
    captureLogs();
    await expect(
      importHandler({ ...env(), STANDBY_OBSERVATIONS_QUEUE_URL: QUEUE_URL.replace('us-east-1', 'us-east-2') }),
    ).rejects.toThrow('STANDBY_OBSERVATIONS_QUEUE_URL is set, but the configuration names no standby control region');
  });
});
