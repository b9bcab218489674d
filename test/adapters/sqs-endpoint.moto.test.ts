import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqsObservationSink } from '../../shared/adapters/aws/sqs-observation-sink.ts';
import { SqsRoundQueue } from '../../shared/adapters/aws/sqs-round-queue.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { testBatch } from '../support/observations.ts';

// The URLs a deployment gives the functions (the probe stack spells them out), with the emulator named only by the
// SDK's own variable: the adapters must reach moto exactly as they would reach AWS, in the queue's region.
const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const deployedUrl = (region: string, name: string) => `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${name}`;

let moto: MotoServer;
const clients = new Map<string, SQSClient>();
const motoClient = (region: string) => {
  if (!clients.has(region))
    clients.set(region, new SQSClient({ region, endpoint: moto.endpoint, credentials, maxAttempts: 1 }));
  return clients.get(region)!;
};

beforeAll(async () => {
  moto = await startMoto();
  await motoClient('us-west-2').send(
    new CreateQueueCommand({
      QueueName: 'failover-observations.fifo',
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  await motoClient('eu-west-1').send(new CreateQueueCommand({ QueueName: 'failover-rounds' }));
}, 120_000);

afterAll(async () => {
  for (const client of clients.values()) client.destroy();
  await moto?.close();
});

afterEach(() => vi.unstubAllEnvs());

function asTheFunction(region: string): void {
  vi.stubEnv('AWS_REGION', region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
  vi.stubEnv('AWS_ENDPOINT_URL_SQS', moto.endpoint);
  vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
}

async function received(region: string, name: string): Promise<string[]> {
  const url = `${moto.endpoint}/${ACCOUNT}/${name}`;
  const out = await motoClient(region).send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return (out.Messages ?? []).map((m) => m.Body!);
}

describe('SQS adapters with AWS_ENDPOINT_URL_SQS and deployed queue URLs', () => {
  it("publishes a probe region's observations to the control region's queue on the emulator, signed for that region", async () => {
    asTheFunction('eu-west-1');
    const sink = new SqsObservationSink({ queueUrl: deployedUrl('us-west-2', 'failover-observations.fifo') });
    const batch = testBatch({
      site: 'hq',
      vantage: 'region:eu-west-1',
      at: Date.UTC(2026, 11, 3, 12),
      results: [{ check: 'web-fiber', link: 'fiber', outcome: 'down' }],
    });
    await sink.publish([batch]);
    const bodies = await received('us-west-2', 'failover-observations.fifo');
    expect(bodies.map((b) => (JSON.parse(b) as { site: string; roundId: string }).site)).toEqual(['hq']);
  });

  it("publishes to the control region's queue given the emulator's own queue URL and the queue's region", async () => {
    // moto's queue URL names no region (the same URL in every region): the region must come from elsewhere.
    asTheFunction('eu-west-1');
    const motoUrl = `${moto.endpoint}/${ACCOUNT}/failover-observations.fifo`;
    const batch = testBatch({
      site: 'shop',
      vantage: 'region:eu-west-1',
      at: Date.UTC(2026, 11, 3, 12),
      results: [{ check: 'web-fiber', link: 'fiber', outcome: 'up' }],
    });
    // Signed for the function's region, as a sink without the queue's region would: no such queue there.
    const unsigned = new SqsObservationSink({ queueUrl: motoUrl, maxAttempts: 1 });
    await expect(unsigned.publish([batch])).rejects.toThrow(/NonExistentQueue|does not exist/);
    await new SqsObservationSink({ queueUrl: motoUrl, region: 'us-west-2' }).publish([batch]);
    const bodies = await received('us-west-2', 'failover-observations.fifo');
    expect(bodies.map((b) => (JSON.parse(b) as { site: string }).site)).toEqual(['shop']);
  });

  it("queues the region's round tickets on the emulator", async () => {
    asTheFunction('eu-west-1');
    const queue = new SqsRoundQueue({ queueUrl: deployedUrl('eu-west-1', 'failover-rounds') });
    await queue.enqueue([{ ticket: { region: 'eu-west-1', atMs: Date.UTC(2026, 11, 3, 12, 1) }, delayMs: 0 }]);
    const bodies = await received('eu-west-1', 'failover-rounds');
    expect(bodies).toHaveLength(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ region: 'eu-west-1', atMs: Date.UTC(2026, 11, 3, 12, 1) });
  });
});
