// A loopback stand-in for the observations queue, for bench:fleet: SQS's JSON protocol for SendMessageBatch, as the
// SDK speaks it, with SQS's batch limits enforced (10 entries, 256 KiB per message and per request, FIFO group and
// deduplication ids), deduplication by id, and each answer held back by a round trip time (the probe region is
// rarely the control region). moto_server is the emulator of the tests; it takes 0.3 to 2 s per FIFO
// SendMessageBatch on this machine, growing with the queue, so a round of 500 requests would measure moto.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;

export interface LoopbackSqs {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly queueUrl: string;
  /** Messages accepted (deduplicated ones not counted). */
  readonly accepted: number;
  /** Entries whose deduplication id had been accepted before. */
  readonly duplicates: number;
  /** Requests refused for breaking a limit of SendMessageBatch, with the reason. */
  readonly violations: readonly string[];
  /** The most requests that were in flight at once. */
  readonly maxInFlight: number;
  reset(): void;
  close(): Promise<void>;
}

interface Entry {
  Id?: string;
  MessageBody?: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

/** Starts the stand-in on a free loopback port; every answer waits `rttMs`. */
export async function startLoopbackSqs(rttMs: number): Promise<LoopbackSqs> {
  const state = { accepted: 0, duplicates: 0, violations: [] as string[], inFlight: 0, maxInFlight: 0 };
  const seen = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      const body = Buffer.concat(chunks);
      const answer = (status: number, payload: unknown) =>
        setTimeout(() => {
          state.inFlight--;
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'loopback' });
          res.end(JSON.stringify(payload));
        }, rttMs);
      const refuse = (type: string, message: string) => {
        state.violations.push(`${type}: ${message}`);
        answer(400, { __type: `com.amazonaws.sqs#${type}`, message });
      };
      if (req.headers['x-amz-target'] !== 'AmazonSQS.SendMessageBatch')
        return refuse('UnsupportedOperation', String(req.headers['x-amz-target']));
      const entries = (JSON.parse(body.toString('utf8')) as { Entries?: Entry[] }).Entries ?? [];
      if (entries.length === 0 || entries.length > MAX_ENTRIES)
        return refuse('TooManyEntriesInBatchRequest', `${entries.length} entries`);
      const total = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? '', 'utf8'), 0);
      if (total > MAX_BYTES) return refuse('BatchRequestTooLong', `${total} bytes`);
      const bad = entries.find((e) => !e.Id || !e.MessageBody || !e.MessageGroupId || !e.MessageDeduplicationId);
      if (bad) return refuse('MissingParameter', `entry ${bad.Id ?? '?'} lacks a FIFO field`);
      const successful = entries.map((e) => {
        if (seen.has(e.MessageDeduplicationId!)) state.duplicates++;
        else {
          seen.add(e.MessageDeduplicationId!);
          state.accepted++;
        }
        const md5 = createHash('md5').update(e.MessageBody!, 'utf8').digest('hex');
        return { Id: e.Id, MessageId: `m-${state.accepted}`, MD5OfMessageBody: md5, SequenceNumber: '1' };
      });
      answer(200, { Successful: successful, Failed: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    queueUrl: `${endpoint}/123456789012/failover-observations.fifo`,
    get accepted() {
      return state.accepted;
    },
    get duplicates() {
      return state.duplicates;
    },
    get violations() {
      return state.violations;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    reset() {
      Object.assign(state, { accepted: 0, duplicates: 0, violations: [], maxInFlight: 0 });
      seen.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
