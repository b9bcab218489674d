import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import type { ErrorClass, ProbeFields, ProbeResult, Timings } from '../contracts/observation.ts';
import type { DnsSpec } from '../config/checks.ts';
import { abortError } from './attempt.ts';
import { resolveHost, startDeadline } from './deadline.ts';
import { classifyError, degraded, describeError, down, since, up } from './result.ts';
import type { Probe } from './types.ts';

type DnsType = DnsSpec['type'];
type Transport = 'udp' | 'tcp';
type Response = DecodedPacket & { rcode?: string };

interface Exchange {
  readonly response: Response;
  readonly rttMs: number;
}

/** A failure that already knows its error class (framing problems, early close). */
class DnsProbeError extends Error {
  override readonly name = 'DnsProbeError';
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
  ) {
    super(message);
  }
}

/** Largest UDP answer we advertise with EDNS(0): the DNS flag day 2020 value that avoids fragmentation. */
export const EDNS_UDP_SIZE = 1232;
const MAX_LISTED = 5;
/** The EDNS(0) OPT record advertising {@link EDNS_UDP_SIZE}, for queries and answers alike. */
export const ednsOpt: Answer = {
  type: 'OPT',
  name: '.',
  udpPayloadSize: EDNS_UDP_SIZE,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
};

/**
 * Asks `server:port` for `name`/`type` and judges the answer: the rcode must equal `expectRcode`; a NOERROR answer
 * with no other expectations needs at least one record of the asked type; `expect` values must be among the answers
 * and `exact` must be the answer set. Over UDP (random id, the answer's id and question must match, strays are
 * ignored) a truncated answer is asked again over TCP within the same deadline. The latency is the round trip of the
 * final exchange, from the query's send to its answer (a TCP connect is in `timings.connectMs`). Fields: `rcode`,
 * `answers` (the asked type's values as text), `truncated` (TCP fallback used), `transport`. Never throws; answers by
 * `ctx.timeoutMs`.
 */
export const dnsProbe: Probe<DnsSpec> = async (spec, ctx) => {
  const deadline = startDeadline(ctx);
  const started = performance.now();
  const timings: Timings = {};
  let transport: Transport = spec.protocol;
  let truncated = false;
  const failFields = (): ProbeFields => ({ rcode: null, answers: [], truncated, transport });
  try {
    const dnsStart = performance.now();
    const server = await resolveHost(spec.server, ctx.localAddress, deadline.signal);
    if (isIP(spec.server) === 0) timings.dnsMs = since(dnsStart);
    const question: Question = { type: spec.type, name: spec.name.replace(/\.$/, '') || '.', class: 'IN' };
    const ask = (over: Transport): Promise<Exchange> => {
      const id = randomInt(0, 0x10000);
      const query = { type: 'query' as const, id, flags: dnsPacket.RECURSION_DESIRED, questions: [question] };
      return over === 'udp'
        ? queryUdp(server, spec.port, id, question, ctx.localAddress, deadline.signal, {
            ...query,
            additionals: [ednsOpt],
          })
        : queryTcp(server.address, spec.port, id, question, ctx.localAddress, deadline.signal, query, timings);
    };
    let exchange = await ask(transport);
    if (transport === 'udp' && exchange.response.flag_tc) {
      truncated = true;
      transport = 'tcp';
      exchange = await ask('tcp');
    }
    return judge(spec, exchange, truncated, transport, { ...timings, totalMs: since(started) });
  } catch (error) {
    const totals = { ...timings, totalMs: since(started) };
    if (deadline.signal.aborted) {
      const what = deadline.aborted() ? 'aborted' : `no answer within ${ctx.timeoutMs} ms`;
      const how = truncated ? 'over TCP after a truncated UDP answer' : `over ${transport.toUpperCase()}`;
      return down('timeout', `${what} from ${spec.server}:${spec.port} ${how}`, null, failFields(), totals);
    }
    const errorClass = error instanceof DnsProbeError ? error.errorClass : classifyError(error);
    const refused = transport === 'udp' && (error as { code?: unknown }).code === 'ECONNREFUSED';
    const detail = refused
      ? `${spec.server}:${spec.port} refused the query (ICMP port unreachable)`
      : describeError(error);
    return down(errorClass, detail, null, failFields(), totals);
  } finally {
    deadline.dispose();
  }
};

function judge(
  spec: DnsSpec,
  exchange: Exchange,
  truncated: boolean,
  transport: Transport,
  timings: Timings,
): ProbeResult {
  const { response, rttMs } = exchange;
  const rcode = response.rcode ?? 'NOERROR';
  const answers = (response.answers ?? []).filter((a) => a.type === spec.type).map(render);
  const fields: ProbeFields = { rcode, answers, truncated, transport };
  if (rcode !== spec.expectRcode) {
    return down('status', `${rcode}, expected ${spec.expectRcode}`, rttMs, fields, timings);
  }
  const have = new Set(answers.map((v) => normalize(spec.type, v)));
  const problems: string[] = [];
  if (spec.expect) {
    const missing = spec.expect.filter((v) => !have.has(normalize(spec.type, v)));
    if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`);
  }
  if (spec.exact) {
    const wanted = new Set(spec.exact.map((v) => normalize(spec.type, v)));
    const missing = spec.exact.filter((v) => !have.has(normalize(spec.type, v)));
    const unexpected = answers.filter((v) => !wanted.has(normalize(spec.type, v)));
    if (missing.length > 0 && !problems.some((p) => p.startsWith('missing'))) {
      problems.push(`missing ${missing.join(', ')}`);
    }
    if (unexpected.length > 0) problems.push(`unexpected ${unexpected.join(', ')}`);
  }
  if (!spec.expect && !spec.exact && rcode === 'NOERROR' && answers.length === 0) {
    problems.push(`no ${spec.type} records`);
  }
  if (problems.length > 0) {
    const got = answers.length > 0 && !spec.exact ? ` (got ${list(answers)})` : '';
    return down('assertion', `${problems.join('; ')}${got}`, rttMs, fields, timings);
  }
  const summary = answers.length > 0 ? `${rcode}, ${spec.type} ${list(answers)}` : `${rcode} as expected`;
  const budget = spec.latencyBudgetMs;
  if (budget !== undefined && rttMs > budget) {
    return degraded(rttMs, `${summary} in ${rttMs} ms, over the ${budget} ms budget`, fields, timings);
  }
  return up(rttMs, `${summary} in ${rttMs} ms`, fields, timings);
}

function list(values: string[]): string {
  const shown = values.slice(0, MAX_LISTED).join(', ');
  return values.length > MAX_LISTED ? `${shown} and ${values.length - MAX_LISTED} more` : shown;
}

/** One answer's data as text, the way the `expect` and `exact` settings spell it. */
function render(answer: Answer): string {
  switch (answer.type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return stripDot(answer.data);
    case 'MX':
      return `${answer.data.preference ?? 0} ${stripDot(answer.data.exchange)}`;
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
    }
    case 'SRV':
      return `${answer.data.priority ?? 0} ${answer.data.weight ?? 0} ${answer.data.port} ${stripDot(answer.data.target)}`;
    case 'SOA':
      return `${stripDot(answer.data.mname)} ${stripDot(answer.data.rname)} ${answer.data.serial ?? 0}`;
    case 'CAA':
      return `${answer.data.flags ?? (answer.data.issuerCritical ? 128 : 0)} ${answer.data.tag} ${answer.data.value}`;
    default:
      return 'data' in answer && Buffer.isBuffer(answer.data) ? answer.data.toString('hex') : '';
  }
}

function stripDot(name: string): string {
  return name.length > 1 ? name.replace(/\.$/, '') : name;
}

// Names compare case-insensitively without a trailing dot; IPv6 addresses in canonical form; TXT as written.
function normalize(type: DnsType, value: string): string {
  const v = value.trim();
  if (type === 'TXT') return v;
  if (type === 'AAAA') {
    try {
      return new URL(`http://[${v}]/`).hostname.slice(1, -1);
    } catch {
      return v.toLowerCase();
    }
  }
  return v
    .split(/\s+/)
    .map((token) => stripDot(token))
    .join(' ')
    .toLowerCase();
}

function isAnswerTo(response: Response, id: number, question: Question): boolean {
  const q = response.questions?.[0];
  return (
    response.type === 'response' &&
    response.id === id &&
    response.questions?.length === 1 &&
    q !== undefined &&
    q.type === question.type &&
    (q.class ?? 'IN') === (question.class ?? 'IN') &&
    stripDot(q.name).toLowerCase() === stripDot(question.name).toLowerCase()
  );
}

function queryUdp(
  server: { address: string; family: 4 | 6 },
  port: number,
  id: number,
  question: Question,
  localAddress: string | undefined,
  signal: AbortSignal,
  packet: dnsPacket.Packet,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    const socket = dgram.createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    let sentAt = 0;
    const finish = (error: unknown, exchange?: Exchange): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (exchange) resolve(exchange);
      else reject(error);
    };
    const onAbort = (): void => finish(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    // On a connected socket an ICMP port unreachable arrives as ECONNREFUSED.
    socket.on('error', (error) => finish(error));
    socket.on('message', (datagram) => {
      let response: Response;
      try {
        response = dnsPacket.decode(datagram);
      } catch {
        return;
      }
      if (isAnswerTo(response, id, question)) finish(null, { response, rttMs: since(sentAt) });
    });
    socket.bind({ address: localAddress ?? (server.family === 6 ? '::' : '0.0.0.0'), port: 0 }, () => {
      if (done) return;
      socket.connect(port, server.address, () => {
        if (done) return;
        sentAt = performance.now();
        socket.send(dnsPacket.encode(packet));
      });
    });
  });
}

function queryTcp(
  address: string,
  port: number,
  id: number,
  question: Question,
  localAddress: string | undefined,
  signal: AbortSignal,
  packet: dnsPacket.Packet,
  timings: Timings,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    const connectStart = performance.now();
    const socket = net.connect({ host: address, port, localAddress });
    let done = false;
    let sentAt = 0;
    let buffer = Buffer.alloc(0);
    const finish = (error: unknown, exchange?: Exchange): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (exchange) resolve(exchange);
      else reject(error);
    };
    const onAbort = (): void => finish(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new DnsProbeError('protocol', 'connection closed before an answer')));
    socket.once('connect', () => {
      timings.connectMs = since(connectStart);
      sentAt = performance.now();
      socket.write(dnsPacket.streamEncode(packet));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2) {
        const length = buffer.readUInt16BE(0);
        if (buffer.length < 2 + length) return;
        const message = buffer.subarray(2, 2 + length);
        buffer = buffer.subarray(2 + length);
        let response: Response;
        try {
          response = dnsPacket.decode(message);
        } catch (error) {
          finish(new DnsProbeError('protocol', `undecodable answer: ${describeError(error)}`));
          return;
        }
        if (isAnswerTo(response, id, question)) {
          finish(null, { response, rttMs: since(sentAt) });
          return;
        }
      }
    });
  });
}
