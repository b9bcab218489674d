import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ObservationsNotDeliveredError } from '../../shared/adapters/aws/errors.ts';
import {
  MAX_MESSAGE_BYTES,
  queueRegionOf,
  regionOfQueueUrl,
  SqsObservationSink,
} from '../../shared/adapters/aws/sqs-observation-sink.ts';
import { ObservationBatch, type Observation } from '../../shared/contracts/observation.ts';
import { FailoverError } from '../../shared/errors.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/failover-observations.fifo';
const ROUND = '2026-01-01T00:00:00.000Z';
const sqs = mockClient(SQSClient);

afterEach(() => sqs.reset());

function observation(site: string, check: string, detail = 'HTTP 200'): Observation {
  return {
    v: 1,
    site,
    check,
    link: 'fiber',
    dependency: null,
    kind: 'http',
    vantage: 'region:eu-west-1',
    roundId: ROUND,
    outcome: 'up',
    latencyMs: 12,
    errorClass: null,
    detail,
    fields: { status: 200 },
    at: ROUND,
    attempts: [{ at: ROUND, outcome: 'up', latencyMs: 12, errorClass: null, detail }],
  };
}

function batch(site: string, observations = [observation(site, 'portal')]): ObservationBatch {
  return {
    v: 1,
    site,
    vantage: 'region:eu-west-1',
    roundId: ROUND,
    startedAt: ROUND,
    control: { ok: true, passed: 2, total: 2, detail: '2/2 control checks passed' },
    observations,
  };
}

/** A sink on the mocked client that retries without waiting long. */
function sink(maxAttempts = 3): SqsObservationSink {
  return new SqsObservationSink({ queueUrl: QUEUE_URL, client: new SQSClient({}), maxAttempts, baseDelayMs: 1 });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const entriesOf = (call: number): SendMessageBatchRequestEntry[] =>
  sqs.commandCalls(SendMessageBatchCommand)[call]!.args[0].input.Entries ?? [];

/** Accepts every entry. */
function acceptAll(): void {
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
}

describe('SqsObservationSink', () => {
  it('sends one FIFO message per batch: group = site, dedup = sha256(vantage|round|site), body = the batch', async () => {
    acceptAll();
    const batches = [batch('hq'), batch('store-12')];
    await sink().publish(batches);

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.QueueUrl).toBe(QUEUE_URL);
    const entries = entriesOf(0);
    expect(entries.map((e) => e.MessageGroupId)).toEqual(['hq', 'store-12']);
    expect(entries.map((e) => e.MessageDeduplicationId)).toEqual([
      sha256(`region:eu-west-1|${ROUND}|hq`),
      sha256(`region:eu-west-1|${ROUND}|store-12`),
    ]);
    expect(new Set(entries.map((e) => e.Id)).size).toBe(2);
    for (const [i, entry] of entries.entries()) {
      expect(ObservationBatch.parse(JSON.parse(entry.MessageBody!))).toEqual(batches[i]);
    }
  });

  it('sends nothing for no batches', async () => {
    acceptAll();
    await sink().publish([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('chunks 25 batches into requests of 10, 10 and 5', async () => {
    acceptAll();
    await sink().publish(Array.from({ length: 25 }, (_, i) => batch(`site-${i}`)));
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 5]);
    const groups = calls.flatMap((c) => c.args[0].input.Entries!.map((e) => e.MessageGroupId));
    expect(groups).toEqual(Array.from({ length: 25 }, (_, i) => `site-${i}`));
  });

  it('retries the entries SQS refused, and only those, until they are accepted', async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => {
      call++;
      const refuse = call === 1 ? input.Entries.slice(1) : [];
      return {
        Successful: input.Entries.filter((e) => !refuse.includes(e)).map((e) => ({
          Id: e.Id,
          MessageId: 'm',
          MD5OfMessageBody: 'x',
        })),
        Failed: refuse.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
      };
    });
    await sink().publish([batch('a'), batch('b'), batch('c')]);

    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    expect(entriesOf(1).map((e) => e.MessageGroupId)).toEqual(['b', 'c']);
    expect(entriesOf(1).map((e) => e.MessageDeduplicationId)).toEqual(
      entriesOf(0)
        .slice(1)
        .map((e) => e.MessageDeduplicationId),
    );
  });

  it('throws OBSERVATIONS_NOT_DELIVERED naming the lost batches when SQS keeps refusing', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
      Successful: input.Entries.filter((e) => e.MessageGroupId !== 'b').map((e) => ({
        Id: e.Id,
        MessageId: 'm',
        MD5OfMessageBody: 'x',
      })),
      Failed: input.Entries.filter((e) => e.MessageGroupId === 'b').map((e) => ({
        Id: e.Id,
        SenderFault: false,
        Code: 'ServiceUnavailable',
      })),
    }));
    const error = await sink(3)
      .publish([batch('a'), batch('b'), batch('c')])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ObservationsNotDeliveredError);
    expect(error).toBeInstanceOf(FailoverError);
    expect(error).toMatchObject({ code: 'OBSERVATIONS_NOT_DELIVERED', lost: 1, total: 3 });
    expect((error as Error).message).toMatch(/1 of 3 observation batch\(es\) not delivered: still refused after 3/);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('does not retry an entry refused for a sender fault', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'b0p0', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad' }],
    });
    const error = await sink()
      .publish([batch('a')])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OBSERVATIONS_NOT_DELIVERED', lost: 1, total: 1 });
    expect((error as Error).message).toContain('InvalidParameterValue: bad');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('wraps an SDK error in the domain error and keeps it as the cause', async () => {
    const sdkError = Object.assign(new Error('Could not connect to the endpoint URL'), { name: 'TimeoutError' });
    sqs.on(SendMessageBatchCommand).rejects(sdkError);
    const error = await sink()
      .publish(Array.from({ length: 12 }, (_, i) => batch(`s${i}`)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObservationsNotDeliveredError);
    expect(error).toMatchObject({ code: 'OBSERVATIONS_NOT_DELIVERED', lost: 12, total: 12, cause: sdkError });
    expect((error as Error).message).toContain('TimeoutError: Could not connect');
  });

  it('splits a batch over 256 KiB across messages of the same group with part-suffixed dedup ids', async () => {
    acceptAll();
    const big = 'x'.repeat(20_000);
    const observations = Array.from({ length: 30 }, (_, i) => observation('hq', `check-${i}`, big));
    const huge = batch('hq', observations);
    expect(Buffer.byteLength(JSON.stringify(huge))).toBeGreaterThan(MAX_MESSAGE_BYTES);
    await sink().publish([huge, batch('store-12')]);

    const entries = sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!);
    const parts = entries.filter((e) => e.MessageGroupId === 'hq');
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const dedup = sha256(`region:eu-west-1|${ROUND}|hq`);
    expect(parts.map((e) => e.MessageDeduplicationId)).toEqual(
      parts.map((_, i) => `${dedup}-${i + 1}of${parts.length}`),
    );
    const bodies = parts.map((e) => ObservationBatch.parse(JSON.parse(e.MessageBody!)));
    for (const e of parts) expect(Buffer.byteLength(e.MessageBody!)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(bodies.flatMap((b) => b.observations.map((o) => o.check))).toEqual(observations.map((o) => o.check));
    expect(bodies.every((b) => b.roundId === ROUND && b.vantage === 'region:eu-west-1')).toBe(true);
    for (const call of sqs.commandCalls(SendMessageBatchCommand)) {
      const total = call.args[0].input.Entries!.reduce((n, e) => n + Buffer.byteLength(e.MessageBody!), 0);
      expect(total).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
    expect(entries.find((e) => e.MessageGroupId === 'store-12')?.MessageDeduplicationId).toBe(
      sha256(`region:eu-west-1|${ROUND}|store-12`),
    );
  });

  it('reports a batch lost when one observation alone cannot fit in a message, and still sends the rest', async () => {
    acceptAll();
    const error = await sink()
      .publish([batch('hq', [observation('hq', 'huge', 'y'.repeat(MAX_MESSAGE_BYTES))]), batch('store-12')])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'OBSERVATIONS_NOT_DELIVERED', lost: 1, total: 2 });
    expect(entriesOf(0).map((e) => e.MessageGroupId)).toEqual(['store-12']);
  });

  it('reads the queue region from the queue URL, for the client that signs the requests', () => {
    expect(regionOfQueueUrl(QUEUE_URL)).toBe('us-east-1');
    expect(regionOfQueueUrl('https://sqs.cn-north-1.amazonaws.com.cn/1/q.fifo')).toBe('cn-north-1');
    expect(regionOfQueueUrl('https://eu-west-1.queue.amazonaws.com/1/q.fifo')).toBe('eu-west-1');
    expect(regionOfQueueUrl('not a url')).toBeUndefined();
    // An emulator's URL names no region (moto's is the same in every region).
    expect(regionOfQueueUrl('http://127.0.0.1:5000/123456789012/q.fifo')).toBeUndefined();
  });

  it('takes the queue region given over the URL, and refuses a URL that names another one', () => {
    expect(queueRegionOf('http://127.0.0.1:5000/123456789012/q.fifo', 'us-west-2')).toBe('us-west-2');
    expect(queueRegionOf(QUEUE_URL)).toBe('us-east-1');
    expect(queueRegionOf(QUEUE_URL, 'us-east-1')).toBe('us-east-1');
    expect(() => new SqsObservationSink({ queueUrl: QUEUE_URL, region: 'eu-west-1' })).toThrow(
      `queue URL ${QUEUE_URL} names region us-east-1, but the queue is expected in eu-west-1`,
    );
  });
});
