import { createHash } from 'node:crypto';
import type net from 'node:net';
import {
  SipParseError,
  SipStreamParser,
  formatVia,
  header,
  headerParam,
  parseCSeq,
  parseSipMessage,
  parseVia,
  reasonPhrase,
  serializeSipMessage,
  viaParam,
  viaValues,
  type SipHeader,
  type SipMessage,
  type SipRequest,
} from '../probes/sip-message.ts';
import { listenBoth } from './listen-both.ts';

/** Settings of {@link startSipResponder}. */
export interface SipResponderOptions {
  /** Address to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Port for both UDP and TCP; 0 picks a free one that is free on both. @default 0 */
  readonly port?: number;
  /** Final status sent to OPTIONS. @default 200 */
  readonly status?: number;
  /** Receive but never answer, to simulate an outage. @default false */
  readonly silent?: boolean;
}

/** A running responder. */
export interface SipResponder {
  /** The port it listens on, for UDP and TCP alike. */
  readonly port: number;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** Stops listening and drops open TCP connections. */
  close(): Promise<void>;
  /** Changes the status sent to later OPTIONS requests. */
  setStatus(code: number): void;
  /** Starts or stops ignoring requests. */
  setSilent(silent: boolean): void;
}

const SERVER = 'failover-sip-responder';

/**
 * Starts a small SIP responder on UDP and TCP (same port) that answers OPTIONS with a configured status, for the
 * local demo runtime and for tests. It mirrors Via (adding `received` and filling `rport` as RFC 3581 says), From,
 * To (with a tag), Call-ID and CSeq; other methods get 405 (ACK nothing), unparseable input gets 400; UDP responses go
 * back to the source address and port. It never throws on bad input.
 */
export async function startSipResponder(opts: SipResponderOptions = {}): Promise<SipResponder> {
  const host = opts.host ?? '127.0.0.1';
  let status = opts.status ?? 200;
  let silent = opts.silent ?? false;
  const { udp, tcp, port } = await listenBoth(host, opts.port ?? 0);
  const connections = new Set<net.Socket>();

  udp.on('message', (msg, rinfo) => {
    if (silent) return;
    const reply = answer(msg, rinfo.address, rinfo.port, status);
    if (reply) udp.send(reply, rinfo.port, rinfo.address, () => undefined);
  });
  udp.on('error', () => undefined);

  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    const parser = new SipStreamParser();
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    socket.on('data', (chunk: Buffer) => {
      let messages: SipMessage[];
      try {
        messages = parser.push(chunk);
      } catch {
        if (!silent) socket.end(badRequest());
        else socket.destroy();
        return;
      }
      for (const message of messages) {
        if (silent) continue;
        const reply = respondTo(message, remoteAddress, remotePort, status);
        if (reply && socket.writable) socket.write(reply);
      }
    });
  });

  return {
    port,
    udpPort: port,
    tcpPort: port,
    setStatus(code: number) {
      status = code;
    },
    setSilent(value: boolean) {
      silent = value;
    },
    async close() {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function answer(datagram: Buffer, address: string, port: number, status: number): Buffer | null {
  // Lone CRLFs are keep-alive pings (RFC 5626); over UDP they get no answer.
  if (datagram.toString('latin1').trim() === '') return null;
  let message: SipMessage;
  try {
    message = parseSipMessage(datagram);
  } catch {
    return badRequest();
  }
  return respondTo(message, address, port, status);
}

function respondTo(message: SipMessage, address: string, port: number, status: number): Buffer | null {
  if (message.kind === 'response' || message.method === 'ACK') return null;
  try {
    return buildResponse(message, address, port, status);
  } catch (error) {
    return error instanceof SipParseError ? badRequest() : null;
  }
}

function buildResponse(request: SipRequest, address: string, port: number, status: number): Buffer {
  const vias = viaValues(request);
  const from = header(request, 'from');
  const to = header(request, 'to');
  const callId = header(request, 'call-id');
  const cseq = header(request, 'cseq');
  if (vias.length === 0 || from === undefined || to === undefined || callId === undefined || !parseCSeq(cseq)) {
    throw new SipParseError('missing mandatory header');
  }
  const top = parseVia(vias[0]!);
  // RFC 3261 18.2.1: received when sent-by differs from the source; RFC 3581 4: with rport, always, and fill rport.
  const hasRport = viaParam(top, 'rport') !== undefined;
  const params = top.params
    .filter(([n]) => n !== 'received')
    .map(([n, v]): readonly [string, string | null] => (n === 'rport' ? [n, String(port)] : [n, v]));
  if (hasRport || top.host.toLowerCase() !== address.toLowerCase()) params.push(['received', address]);
  const code = request.method === 'OPTIONS' ? status : 405;
  const toTag = headerParam(to, 'tag') ?? tagFor(callId, from);
  const headers: SipHeader[] = [
    ['Via', formatVia({ ...top, params })],
    ...vias.slice(1).map((v): SipHeader => ['Via', v]),
    ['From', from],
    ['To', headerParam(to, 'tag') === undefined ? `${to};tag=${toTag}` : to],
    ['Call-ID', callId],
    ['CSeq', cseq!],
    ['Server', SERVER],
    ['Allow', 'OPTIONS'],
  ];
  if (code === 200) headers.push(['Accept', 'application/sdp']);
  return serializeSipMessage({
    kind: 'response',
    status: code,
    reason: reasonPhrase(code),
    headers,
    body: Buffer.alloc(0),
  });
}

function badRequest(): Buffer {
  return serializeSipMessage({
    kind: 'response',
    status: 400,
    reason: 'Bad Request',
    headers: [['Server', SERVER]],
    body: Buffer.alloc(0),
  });
}

// The same request (a retransmission) gets the same To tag.
function tagFor(callId: string, from: string): string {
  return createHash('sha256').update(`${callId}\n${from}`).digest('hex').slice(0, 12);
}
