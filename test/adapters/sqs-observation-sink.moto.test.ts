import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsObservationSink } from '../../shared/adapters/aws/sqs-observation-sink.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';

/**
 * The sink's bounded concurrency against moto_server's SQS, through a loopback proxy that holds each request for a
 * moment and counts how many are in flight: the real SDK, the real FIFO queue, no mock of our own code.
 */

const REGION = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const HOLD_MS = 60;

let moto: MotoServer;
let proxy: Server;
let proxyEndpoint: string;
let inFlight = 0;
let maxInFlight = 0;
let requests = 0;

function batch(site: string, roundId: string): ObservationBatch {
  return {
    v: 1,
    site,
    vantage: 'region:eu-west-1',
    roundId,
    startedAt: roundId,
    control: { ok: true, passed: 1, total: 1, detail: '1/1 control checks passed' },
    observations: [],
  };
}

beforeAll(async () => {
  moto = await startMoto();
  const upstream = new URL(moto.endpoint);
  proxy = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      requests++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      setTimeout(() => {
        const forward = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on('end', () => inFlight--);
          },
        );
        forward.on('error', () => {
          inFlight--;
          res.destroy();
        });
        forward.end(Buffer.concat(body));
      }, HOLD_MS);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await moto?.close();
});

/** A fresh FIFO queue on moto, its URL pointing at the proxy, and a client that goes through it. */
async function queueThroughProxy(name: string) {
  const direct = new SQSClient({ region: REGION, endpoint: moto.endpoint, credentials });
  const created = await direct.send(
    new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const url = created.QueueUrl!.replace(moto.endpoint, proxyEndpoint);
  const client = new SQSClient({ region: REGION, endpoint: proxyEndpoint, credentials, maxAttempts: 1 });
  /** Every message on the queue, by group (site). */
  const drain = async () => {
    const sites: string[] = [];
    for (;;) {
      const { Messages = [] } = await direct.send(
        new ReceiveMessageCommand({
          QueueUrl: created.QueueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      if (Messages.length === 0) return sites;
      sites.push(...Messages.map((m) => m.Attributes!.MessageGroupId!));
      await direct.send(
        new DeleteMessageBatchCommand({
          QueueUrl: created.QueueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  };
  return { url, client, drain };
}

describe('SqsObservationSink on moto_server', () => {
  it.each([
    [1, 1],
    [4, 4],
    [10, 6],
  ])(
    'with concurrency %i has %i requests in flight at most, and delivers every batch once',
    async (concurrency, expected) => {
      const { url, client, drain } = await queueThroughProxy(`obs-${concurrency}`);
      const sites = Array.from({ length: 57 }, (_, i) => `site-${i}`);
      inFlight = 0;
      maxInFlight = 0;
      requests = 0;
      const sink = new SqsObservationSink({ queueUrl: url, client, concurrency });
      await sink.publish(sites.map((s) => batch(s, '2026-11-25T18:00:00.000Z')));
      // 57 batches: 6 requests of at most ten entries.
      expect(requests).toBe(6);
      expect(maxInFlight).toBe(expected);
      expect((await drain()).sort()).toEqual([...sites].sort());
    },
  );
});
