import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question } from 'dns-packet';

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  /** The records it serves; names without a trailing dot. */
  readonly zone: readonly Answer[];
  /** Answer UDP queries with an empty, truncated (TC) response, so clients must ask again over TCP. */
  readonly truncateUdp?: boolean;
  /** Receive queries and never answer (UDP and TCP). */
  readonly silent?: boolean;
  /** Answer over UDP but never over TCP. */
  readonly silentTcp?: boolean;
  /** Wait this long before each answer. */
  readonly delayMs?: number;
}

/** A running test DNS server. */
export interface TestDnsServer {
  /** The port it serves on, UDP and TCP alike, on 127.0.0.1. */
  readonly port: number;
  /** Queries received so far, with the transport they came over. */
  readonly queries: Array<{ transport: 'udp' | 'tcp'; question: Question | undefined }>;
  setTruncateUdp(value: boolean): void;
  setSilent(value: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts an authoritative-style DNS server on 127.0.0.1 (UDP and TCP on one ephemeral port) serving a small zone:
 * NXDOMAIN for unknown names, NOERROR without answers for known names of another type, CNAMEs followed within the
 * zone.
 */
export async function startDnsServer(opts: DnsServerOptions): Promise<TestDnsServer> {
  let truncateUdp = opts.truncateUdp ?? false;
  let silent = opts.silent ?? false;
  const queries: TestDnsServer['queries'] = [];
  const { udp, tcp, port } = await listenBoth();
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (send: () => void): void => {
    if (!opts.delayMs) return send();
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, opts.delayMs);
    timers.add(timer);
  };

  udp.on('message', (msg, rinfo) => {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    queries.push({ transport: 'udp', question: query.questions?.[0] });
    if (silent) return;
    const response = answer(opts.zone, query);
    if (truncateUdp) {
      response.flags = (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
      response.answers = [];
    }
    later(() => udp.send(dnsPacket.encode(response), rinfo.port, rinfo.address));
  });

  tcp.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const length = buffer.readUInt16BE(0);
        const msg = buffer.subarray(2, 2 + length);
        buffer = buffer.subarray(2 + length);
        let query: Packet;
        try {
          query = dnsPacket.decode(msg);
        } catch {
          socket.destroy();
          return;
        }
        queries.push({ transport: 'tcp', question: query.questions?.[0] });
        const response = dnsPacket.streamEncode(answer(opts.zone, query));
        if (!silent && !opts.silentTcp) later(() => socket.writable && socket.write(response));
      }
    });
  });

  return {
    port,
    queries,
    setTruncateUdp: (value) => void (truncateUdp = value),
    setSilent: (value) => void (silent = value),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function answer(zone: readonly Answer[], query: Packet): Packet {
  const question = query.questions?.[0];
  const base = {
    type: 'response' as const,
    id: query.id ?? 0,
    questions: query.questions ?? [],
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
  };
  if (!question) return { ...base, flags: base.flags | 1 }; // FORMERR
  const answers: Answer[] = [];
  let name = question.name.toLowerCase();
  for (let hops = 0; hops < 8; hops++) {
    const records = zone.filter((r) => r.name.toLowerCase() === name);
    if (records.length === 0) {
      // NXDOMAIN only when the name asked for itself is unknown.
      return hops === 0 ? { ...base, flags: base.flags | 3 } : { ...base, answers };
    }
    const exact = records.filter((r) => r.type === question.type);
    if (exact.length > 0) return { ...base, answers: [...answers, ...exact] };
    const cname = records.find((r) => r.type === 'CNAME');
    if (!cname || cname.type !== 'CNAME') return { ...base, answers };
    answers.push(cname);
    name = cname.data.toLowerCase();
  }
  return { ...base, flags: base.flags | 2, answers }; // SERVFAIL on a CNAME loop
}

async function listenBoth(): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind({ address: '127.0.0.1', port: 0 }, resolve));
    const port = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: '127.0.0.1', port }, () => resolve());
      });
      return { udp, tcp, port };
    } catch (error) {
      udp.close();
      if (attempt >= 20) throw error;
    }
  }
}
