import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkHealthDimensions } from '../../shared/config/data-plane.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { planRounds } from '../../shared/probes/schedule.ts';
import { addDataPlaneStacks } from '../../infra/stacks/failover-app.ts';
import { DataPlaneModel, type DataPoint } from '../support/data-plane-model.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';

/**
 * The data plane with the control region gone: the real probe handler, run by real round tickets in three probe
 * regions (a moto_server each) against loopback targets, while the control region's moto (its observations queue)
 * has been stopped. Each region still puts its own LinkHealth to its own CloudWatch, counts FailedPublishes, and the
 * synthesized alarms and calculated health checks, evaluated over what CloudWatch holds (test/support/
 * data-plane-model.ts: moto stores metrics but evaluates no alarm), move a site's record to its backup when a
 * quorum of regions sees its primary down, and keep it when one region alone does.
 */

const REGIONS = ['eu-west-1', 'us-west-2', 'us-east-2'] as const;
const CONTROL = 'eu-central-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let target: Server;
let port: number;
/** Paths the target answers 503 on, set before each region's round. */
let down = new Set<string>();
const moto = new Map<string, MotoServer>();
let controlQueueUrl: string;
let config: FailoverConfig;
let configJson: string;

const context = lambdaContext('failover-probe', 120_000);

const site = (id: string, octet: number) => `
  - id: ${id}
    links:
      - { id: fiber, role: primary, address: 203.0.113.${octet} }
      - { id: lte, role: backup, address: 198.51.100.${octet} }
    policy: { failureThreshold: 2, confirmRetryMs: 50 }
    checks:
      - { id: web-fiber, link: fiber, timeoutMs: 3000, http: { url: 'http://127.0.0.1:${port}/${id}/fiber' } }
      - { id: web-lte, link: lte, timeoutMs: 3000, http: { url: 'http://127.0.0.1:${port}/${id}/lte' } }
    dns:
      - { zone: example.com, hostedZoneId: Z0123456789EXAMPLE, name: ${id}.example.com, type: A, strategy: health-check-gated, values: { fiber: [203.0.113.${octet}], lte: [198.51.100.${octet}] } }`;

function ticketEvent(region: string, atMs: number): SQSEvent {
  return {
    Records: [
      {
        messageId: `m-${region}-${atMs}`,
        receiptHandle: 'h',
        body: JSON.stringify({ v: 1, region, atMs }),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'AIDAEXAMPLE',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: 'x',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${region}:123456789012:failover-rounds`,
        awsRegion: region,
      },
    ],
  };
}

/** Runs one round of `region` with the real handler, built (at import) for that region's endpoints. */
async function runRound(region: string, atMs: number, downPaths: string[]) {
  down = new Set(downPaths);
  const { handler } = await importWithEnv(
    {
      FAILOVER_CONFIG_JSON: configJson,
      OBSERVATIONS_QUEUE_URL: controlQueueUrl,
      ROUNDS_QUEUE_URL: `${moto.get(region)!.endpoint}/123456789012/failover-rounds`,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_CLOUDWATCH: moto.get(region)!.endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      POWERTOOLS_SERVICE_NAME: 'failover-probe',
    },
    () => import('../../functions/probe/handler.ts'),
  );
  const logs = captureLogs();
  const result = (await handler(ticketEvent(region, atMs), context)) as SQSBatchResponse;
  const records = logs();
  vi.restoreAllMocks();
  return { result, records };
}

/** The LinkHealth data points CloudWatch of `region` holds for the metric of `alarm` (read from the template). */
async function pointsOf(
  model: DataPlaneModel,
  region: string,
  alarmName: string,
  fromMs: number,
  toMs: number,
): Promise<DataPoint[]> {
  const alarm = model.alarm(region, alarmName);
  // moto matches dimensions in order (CloudWatch does not): ask in the order the probe puts them.
  const order = Object.keys(linkHealthDimensions('', ''));
  const dimensions = Object.entries(alarm.dimensions)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([Name, Value]) => ({ Name, Value }));
  const client = new CloudWatchClient({ region, endpoint: moto.get(region)!.endpoint, credentials });
  const out = await client.send(
    new GetMetricDataCommand({
      StartTime: new Date(fromMs),
      EndTime: new Date(toMs),
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: alarm.namespace,
              MetricName: alarm.metricName,
              Dimensions: dimensions,
            },
            Period: alarm.periodSeconds,
            Stat: alarm.statistic,
          },
        },
      ],
    }),
  );
  const r = out.MetricDataResults?.[0];
  return (r?.Timestamps ?? []).map((t, i) => ({ atMs: t.getTime(), value: r!.Values![i]! }));
}

beforeAll(async () => {
  target = createServer((req, res) => {
    const bad = down.has(req.url ?? '');
    res.writeHead(bad ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(bad ? 'down' : 'ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;
  const yaml = `version: 1
regions: { probe: [${REGIONS.join(', ')}], control: ${CONTROL} }
probing: { concurrency: 8, jitterMs: 0 }
controlChecks:
  - { id: known-good, http: { url: 'http://127.0.0.1:${port}/known-good' } }
sites:${site('hq', 10)}${site('branch', 20)}
`;
  const parsed = parseConfig(yaml);
  expect(parsed.diagnostics).toEqual([]);
  config = parsed.config!;
  configJson = configJsonOf(yaml).json;

  const servers = await Promise.all([CONTROL, ...REGIONS].map(() => startMoto()));
  [CONTROL, ...REGIONS].forEach((r, i) => moto.set(r, servers[i]!));
  // The control region's queue exists, then the whole region goes away.
  const sqs = new SQSClient({ region: CONTROL, endpoint: moto.get(CONTROL)!.endpoint, credentials });
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: 'failover-observations.fifo', Attributes: { FifoQueue: 'true' } }),
  );
  controlQueueUrl = queue.QueueUrl!;
  expect(controlQueueUrl).toContain('failover-observations.fifo');
  await moto.get(CONTROL)!.close();
}, 120_000);

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await Promise.all([...moto.values()].map((m) => m.close()));
  await new Promise<void>((resolve) => target.close(() => resolve()));
});

describe('the data plane with the control region down', () => {
  it('fails hq over on a quorum of regions and keeps branch, which one region alone sees down', async () => {
    // Two rounds per region (the policy's failureThreshold), at each region's planned times, run now (early).
    const from = Math.ceil(Date.now() / 60_000) * 60_000;
    const rounds = REGIONS.flatMap((region) =>
      planRounds(config, region, from, from + 120_000).map((r) => ({ region, atMs: r.atMs })),
    );
    expect(rounds).toHaveLength(6);
    // hq's primary is down from everywhere; branch's only from eu-west-1 (a problem of that region's path).
    for (const { region, atMs } of rounds) {
      const downPaths = ['/hq/fiber', ...(region === 'eu-west-1' ? ['/branch/fiber'] : [])];
      const { result, records } = await runRound(region, atMs, downPaths);
      expect(result).toEqual({ batchItemFailures: [] });
      // The control queue is unreachable: the round's observations are lost, and counted in this region.
      expect(records).toContainEqual(
        expect.objectContaining({
          message: 'observations dropped',
          region,
          error: expect.objectContaining({ name: 'ObservationsNotDeliveredError' }),
        }),
      );
      const emf = records.find((r) => '_aws' in r);
      expect(emf).toMatchObject({ FailedPublishes: 1, service: 'failover-probe' });
      expect(emf).not.toHaveProperty('FailedHealthPublishes');
    }

    const model = new DataPlaneModel(synthesizedDataPlane(config));
    const last = Math.max(...rounds.map((r) => r.atMs));
    const at = Math.floor(last / 60_000) * 60_000 + 60_000;
    const points = new Map<string, DataPoint[]>();
    for (const region of REGIONS)
      for (const name of ['hq', 'branch'].flatMap((s) => [`failover-link-${s}-fiber`, `failover-link-${s}-lte`]))
        points.set(`${region}/${name}`, await pointsOf(model, region, name, from - 60_000, at + 60_000));

    // What each region's CloudWatch holds: one point per round, 0 where that region saw the link down.
    for (const region of REGIONS) {
      expect(points.get(`${region}/failover-link-hq-fiber`)!.map((p) => p.value)).toEqual([0, 0]);
      expect(points.get(`${region}/failover-link-hq-lte`)!.map((p) => p.value)).toEqual([1, 1]);
      expect(points.get(`${region}/failover-link-branch-fiber`)!.map((p) => p.value)).toEqual(
        region === 'eu-west-1' ? [0, 0] : [1, 1],
      );
    }

    const hq = model.answer('hq.example.com.', 'A', points, at);
    expect(hq).toMatchObject({ failover: 'SECONDARY', values: ['198.51.100.10'] });
    const branch = model.answer('branch.example.com.', 'A', points, at);
    expect(branch).toMatchObject({ failover: 'PRIMARY', values: ['203.0.113.20'] });

    // One round is not the failure threshold: a minute earlier, hq still answered its primary.
    expect(model.answer('hq.example.com.', 'A', points, at - 60_000).failover).toBe('PRIMARY');
  }, 180_000);
});

/** The data plane's stacks of `config`, synthesized (no function bundles: only alarms, health checks, records). */
function synthesizedDataPlane(config: FailoverConfig) {
  const app = new App();
  addDataPlaneStacks(app, config);
  return app.synth().stacks.map((s) => ({ region: s.environment.region, template: s.template }));
}
