import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import {
  SipStreamParser,
  header,
  headerValues,
  parseSipMessage,
  reasonPhrase,
  serializeSipMessage,
  type SipHeader,
  type SipMessage,
  type SipRequest,
} from '../../shared/probes/sip-message.ts';

/** What a scripted peer may change in a response to break its match. */
export interface ReplyOverrides {
  readonly via?: string;
  readonly callId?: string;
  readonly cseq?: string;
  readonly reason?: string;
  readonly extra?: readonly SipHeader[];
  readonly body?: string;
}

/** A response to `request` that mirrors Via, From, To, Call-ID and CSeq unless overridden. */
export function reply(request: SipRequest, status: number, overrides: ReplyOverrides = {}): Buffer {
  const vias = headerValues(request, 'via');
  const headers: SipHeader[] = [
    ...(overrides.via !== undefined ? [overrides.via] : vias).map((v): SipHeader => ['Via', v]),
    ['From', header(request, 'from') ?? ''],
    ['To', `${header(request, 'to') ?? ''};tag=peer`],
    ['Call-ID', overrides.callId ?? header(request, 'call-id') ?? ''],
    ['CSeq', overrides.cseq ?? header(request, 'cseq') ?? ''],
    ...(overrides.extra ?? []),
  ];
  return serializeSipMessage({
    kind: 'response',
    status,
    reason: overrides.reason ?? reasonPhrase(status),
    headers,
    body: Buffer.from(overrides.body ?? ''),
  });
}

/** A datagram received by a {@link UdpPeer}, with its arrival time (performance.now()). */
export interface Arrival {
  readonly at: number;
  readonly data: Buffer;
  readonly request: SipRequest | undefined;
}

/** A bare UDP socket on 127.0.0.1 that records what arrives and lets the test script its answers. */
export interface UdpPeer {
  readonly port: number;
  readonly arrivals: Arrival[];
  close(): Promise<void>;
}

/** Starts a {@link UdpPeer}; `onRequest` may answer with `send`. */
export async function startUdpPeer(
  onRequest: (request: SipRequest, send: (data: Buffer, delayMs?: number) => void, index: number) => void = () =>
    undefined,
): Promise<UdpPeer> {
  const socket = dgram.createSocket('udp4');
  const arrivals: Arrival[] = [];
  const timers = new Set<NodeJS.Timeout>();
  socket.on('message', (data, rinfo) => {
    const at = performance.now();
    const request = parseRequest(data);
    arrivals.push({ at, data, request });
    if (!request) return;
    const send = (out: Buffer, delayMs = 0): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        socket.send(out, rinfo.port, rinfo.address);
      }, delayMs);
      timers.add(timer);
    };
    onRequest(request, send, arrivals.length - 1);
  });
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
  return {
    port: socket.address().port,
    arrivals,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** A TCP (or, with `tlsOptions`, TLS) peer on 127.0.0.1 that hands each framed request to `onRequest`. */
export async function startStreamPeer(
  onRequest: (request: SipRequest, socket: net.Socket) => void,
  tlsOptions?: tls.TlsOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = new SipStreamParser();
    socket.on('data', (chunk: Buffer) => {
      let messages: SipMessage[];
      try {
        messages = parser.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const m of messages) if (m.kind === 'request') onRequest(m, socket);
    });
  };
  const server = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer(onConnection);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseRequest(data: Buffer): SipRequest | undefined {
  try {
    const message = parseSipMessage(data);
    return message.kind === 'request' ? message : undefined;
  } catch {
    return undefined;
  }
}
