import type net from 'node:net';
import { isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Question, SoaAnswer } from 'dns-packet';
import { FailoverError } from '../../errors.ts';
import { EDNS_UDP_SIZE, ednsOpt } from '../../probes/dns.ts';
import { listenBoth } from '../../responders/listen-both.ts';

/** The record types the server stores (the ones failover manages). */
export type LocalRecordType = 'A' | 'AAAA' | 'CNAME';

/** One stored record set. */
export interface LocalRecord {
  readonly name: string;
  readonly type: LocalRecordType;
  readonly ttl: number;
  readonly values: readonly string[];
}

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** UDP and TCP; 0 picks a free port. @default 5353 */
  readonly port?: number;
  /** The zones it is authoritative for, e.g. ['example.com']. */
  readonly zones: readonly string[];
  /** Records to serve from the start. */
  readonly records?: readonly LocalRecord[];
  /** A TCP connection idle this long is closed. @default 10000 */
  readonly idleTimeoutMs?: number;
  /** TCP connections beyond this are closed at once. @default 64 */
  readonly maxTcpConnections?: number;
}

/** A running embedded DNS server. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
  /** Replaces the record set `name`/`type` (empty `values` removes it); the zone's SOA serial grows on a change. */
  setRecord(name: string, type: LocalRecordType, ttl: number, values: readonly string[]): void;
  /** The record set, or null when there is none. */
  getRecord(name: string, type: LocalRecordType): { ttl: number; values: string[] } | null;
  /** Every stored record set, sorted by name and type. */
  records(): LocalRecord[];
  close(): Promise<void>;
}

/** A record the server cannot store (outside its zones, a malformed value, a CNAME beside other data). */
export class DnsRecordError extends FailoverError {
  constructor(message: string) {
    super('DNS_REJECTED', message);
    this.name = 'DnsRecordError';
  }
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const TYPES: readonly LocalRecordType[] = ['A', 'AAAA', 'CNAME'];
const SOA_TTL = 60;
/** The SOA minimum, the TTL of negative answers (RFC 2308): short, so a new record shows quickly. */
const NEGATIVE_TTL = 5;
const MAX_CHAIN = 8;
const MAX_RECORDS = 10_000;
const MAX_VALUES = 100;
/** A TCP client that does not read its answers is dropped past this much unsent data. */
const MAX_TCP_BACKLOG = 256 * 1024;

/**
 * Starts an authoritative DNS server for `zones` on UDP and TCP (same port): NOERROR with answers (CNAMEs followed
 * within our data), NODATA and NXDOMAIN with the zone's SOA, synthesized SOA and NS at each apex, REFUSED outside
 * the zones, NOTIMP for other opcodes, FORMERR for malformed queries. Never throws on what it receives.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const zones = [...new Set(options.zones.map(normalizeName))].sort((a, b) => b.length - a.length);
  if (zones.length === 0 || zones.some((z) => z === '' || !validName(z))) {
    throw new DnsRecordError(`expected DNS zones such as example.com, got ${JSON.stringify(options.zones)}`);
  }
  const store = new RecordStore(zones);
  for (const r of options.records ?? []) store.set(r.name, r.type, r.ttl, r.values);

  const { udp, tcp, port } = await listenBoth(host, options.port ?? 5353, portError);
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const maxTcp = options.maxTcpConnections ?? 64;
  const sockets = new Set<net.Socket>();
  let closing: Promise<void> | undefined;

  udp.on('error', () => undefined);
  udp.on('message', (msg, rinfo) => {
    const response = safeRespond(store, msg, 'udp');
    if (response) udp.send(response, rinfo.port, rinfo.address, () => undefined);
  });

  tcp.on('error', () => undefined);
  tcp.on('connection', (socket) => {
    socket.on('error', () => undefined);
    if (sockets.size >= maxTcp) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      // Frames are at most 2 + 65535 bytes and answered as soon as complete, so the buffer stays that small.
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const length = buffer.readUInt16BE(0);
        const response = safeRespond(store, buffer.subarray(2, 2 + length), 'tcp');
        buffer = buffer.subarray(2 + length);
        if (!response) return void socket.destroy();
        const frame = Buffer.alloc(2 + response.length);
        frame.writeUInt16BE(response.length, 0);
        response.copy(frame, 2);
        socket.write(frame);
        if (socket.writableLength > MAX_TCP_BACKLOG) return void socket.destroy();
      }
    });
  });

  return {
    host,
    port,
    setRecord: (name, type, ttl, values) => store.set(name, type, ttl, values),
    getRecord: (name, type) => store.get(name, type),
    records: () => store.list(),
    close() {
      closing ??= Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]).then(() => undefined);
      for (const socket of sockets) socket.destroy();
      return closing;
    },
  };
}

/** A DNS name as stored and compared: trimmed, lower case, without the trailing dot. */
export function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function validName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => label.length > 0 && label.length <= 63);
}

interface RecordSet {
  ttl: number;
  values: string[];
}

class RecordStore {
  readonly #zones: readonly string[];
  readonly #names = new Map<string, Map<LocalRecordType, RecordSet>>();
  readonly #serials = new Map<string, number>();
  #count = 0;

  constructor(zones: readonly string[]) {
    this.#zones = zones;
    // Like BIND's "unixtime" serials: a restarted server still answers a higher serial than before.
    const start = Math.floor(Date.now() / 1000);
    for (const zone of zones) this.#serials.set(zone, start);
  }

  zoneOf(name: string): string | undefined {
    return this.#zones.find((zone) => name === zone || name.endsWith(`.${zone}`));
  }

  set(rawName: string, type: LocalRecordType, ttl: number, values: readonly string[]): void {
    const name = normalizeName(rawName);
    const zone = this.zoneOf(name);
    const where = `${name} ${type}`;
    if (!validName(name)) throw new DnsRecordError(`${JSON.stringify(rawName)} is not a valid DNS name`);
    if (!zone) throw new DnsRecordError(`${where} is outside the zones served here (${this.#zones.join(', ')})`);
    if (!TYPES.includes(type)) throw new DnsRecordError(`${where}: only A, AAAA and CNAME records can be set`);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647) {
      throw new DnsRecordError(`${where}: TTL ${ttl} is not a whole number of seconds`);
    }
    const clean = [...new Set(values.map((v) => (type === 'CNAME' ? normalizeName(v) : v.trim())))];
    checkValues(where, type, clean);
    const node = this.#names.get(name);
    if (clean.length > 0) {
      if (type === 'CNAME' && name === zone) throw new DnsRecordError(`${where}: a zone apex cannot be a CNAME`);
      const others = [...(node?.keys() ?? [])].filter((t) => t !== type);
      if (others.length > 0 && (type === 'CNAME' || others.includes('CNAME'))) {
        throw new DnsRecordError(`${where}: a CNAME cannot share its name with other records (${others.join(', ')})`);
      }
    }
    const old = node?.get(type);
    if (clean.length === 0) {
      if (!old || !node) return;
      node.delete(type);
      this.#count--;
      if (node.size === 0) this.#names.delete(name);
    } else {
      if (old && old.ttl === ttl && sameSet(old.values, clean)) return;
      if (!old && this.#count >= MAX_RECORDS) throw new DnsRecordError(`${where}: over ${MAX_RECORDS} record sets`);
      if (!old) this.#count++;
      const target = node ?? new Map<LocalRecordType, RecordSet>();
      target.set(type, { ttl, values: clean });
      this.#names.set(name, target);
    }
    const serial = this.#serials.get(zone) ?? 0;
    this.#serials.set(zone, Math.max(serial + 1, Math.floor(Date.now() / 1000)) >>> 0);
  }

  get(name: string, type: LocalRecordType): { ttl: number; values: string[] } | null {
    const set = this.#names.get(normalizeName(name))?.get(type);
    return set ? { ttl: set.ttl, values: [...set.values] } : null;
  }

  list(): LocalRecord[] {
    const out: LocalRecord[] = [];
    for (const [name, node] of this.#names) {
      for (const [type, set] of node) out.push({ name, type, ttl: set.ttl, values: [...set.values] });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  }

  /** Records of `name`, the apex's synthesized SOA and NS included. */
  recordsAt(name: string, zone: string): Answer[] {
    const out: Answer[] = [];
    if (name === zone) out.push(this.soa(zone, SOA_TTL), { name, type: 'NS', ttl: SOA_TTL, data: `ns.${zone}` });
    for (const [type, set] of this.#names.get(name) ?? []) {
      for (const data of set.values) out.push({ name, type, ttl: set.ttl, data });
    }
    return out;
  }

  /** Whether a name exists: it holds records, is an apex, or has names below it (an empty non-terminal). */
  exists(name: string, zone: string): boolean {
    if (name === zone || this.#names.has(name)) return true;
    const suffix = `.${name}`;
    for (const other of this.#names.keys()) if (other.endsWith(suffix)) return true;
    return false;
  }

  soa(zone: string, ttl: number): SoaAnswer {
    return {
      name: zone,
      type: 'SOA',
      ttl,
      data: {
        mname: `ns.${zone}`,
        rname: `hostmaster.${zone}`,
        serial: this.#serials.get(zone) ?? 1,
        refresh: 60,
        retry: 30,
        expire: 600,
        minimum: NEGATIVE_TTL,
      },
    };
  }
}

function checkValues(where: string, type: LocalRecordType, values: readonly string[]): void {
  if (values.length > MAX_VALUES) throw new DnsRecordError(`${where}: over ${MAX_VALUES} values`);
  if (type === 'CNAME' && values.length > 1) throw new DnsRecordError(`${where}: a CNAME has exactly one value`);
  for (const v of values) {
    const ok = type === 'A' ? isIP(v) === 4 : type === 'AAAA' ? isIP(v) === 6 : v !== '' && validName(v);
    if (!ok) throw new DnsRecordError(`${where}: ${JSON.stringify(v)} is not a valid ${type} value`);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v) => b.includes(v));
}

type Transport = 'udp' | 'tcp';

function safeRespond(store: RecordStore, msg: Buffer, transport: Transport): Buffer | undefined {
  try {
    return respond(store, msg, transport);
  } catch {
    return msg.length >= 12 && (msg.readUInt16BE(2) & 0x8000) === 0 ? bareHeader(msg, RCODE.SERVFAIL) : undefined;
  }
}

/** The answer to one message, or undefined when it must be dropped (too short to answer, or itself a response). */
function respond(store: RecordStore, msg: Buffer, transport: Transport): Buffer | undefined {
  if (msg.length < 12 || (msg.readUInt16BE(2) & 0x8000) !== 0) return undefined;
  const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
  if (opcode !== 0) return bareHeader(msg, RCODE.NOTIMP);
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return bareHeader(msg, RCODE.FORMERR);
  }
  const question = query.questions?.[0];
  if (!question || query.questions?.length !== 1) return bareHeader(msg, RCODE.FORMERR);
  const opt = query.additionals?.find((a) => a.type === 'OPT');
  const maxUdp =
    opt && 'udpPayloadSize' in opt ? Math.min(Math.max(opt.udpPayloadSize ?? 512, 512), EDNS_UDP_SIZE) : 512;

  const result = resolve(store, question);
  const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  const packet = {
    type: 'response' as const,
    id: query.id ?? 0,
    flags: (result.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rd | result.rcode,
    questions: [question],
    answers: result.answers,
    authorities: result.authorities,
    additionals: opt ? [ednsOpt] : [],
  };
  let encoded = dnsPacket.encode(packet);
  if (transport === 'udp' && encoded.length > maxUdp) {
    encoded = dnsPacket.encode({
      ...packet,
      flags: packet.flags | dnsPacket.TRUNCATED_RESPONSE,
      answers: [],
      authorities: [],
    });
  }
  return encoded;
}

interface Resolution {
  rcode: number;
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
}

function resolve(store: RecordStore, question: Question): Resolution {
  const qname = normalizeName(question.name);
  const zone = store.zoneOf(qname);
  const qclass = question.class ?? 'IN';
  const refused = { rcode: RCODE.REFUSED, authoritative: false, answers: [], authorities: [] };
  if (!zone || (qclass !== 'IN' && qclass !== 'ANY')) return refused;
  const qtype: string = question.type;
  if (qtype === 'AXFR' || qtype === 'IXFR') return refused;

  const answers: Answer[] = [];
  const seen = new Set<string>();
  let name = qname;
  let current = zone;
  for (let hop = 0; hop < MAX_CHAIN && !seen.has(name); hop++) {
    seen.add(name);
    const here = store.recordsAt(name, current);
    const wanted = qtype === 'ANY' ? here : here.filter((a) => a.type === qtype);
    if (wanted.length > 0) {
      return { rcode: RCODE.NOERROR, authoritative: true, answers: [...answers, ...wanted], authorities: [] };
    }
    const cname = here.find((a) => a.type === 'CNAME');
    if (cname && cname.type === 'CNAME') {
      answers.push(cname);
      const target = normalizeName(cname.data);
      const targetZone = store.zoneOf(target);
      // A target outside our data is for the client's resolver to chase.
      if (!targetZone) break;
      name = target;
      current = targetZone;
      continue;
    }
    // RFC 6604: the rcode is that of the last name of the chain; the SOA says how long to cache the negative answer.
    const rcode = store.exists(name, current) ? RCODE.NOERROR : RCODE.NXDOMAIN;
    return { rcode, authoritative: true, answers, authorities: [store.soa(current, NEGATIVE_TTL)] };
  }
  return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [] };
}

/** A response of only the header: the query's id, opcode and RD, no sections. */
function bareHeader(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | rcode, 2);
  return out;
}

function portError(error: unknown, port: number): unknown {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    return new FailoverError('DNS_PORT_IN_USE', `DNS port ${port} is in use; pass --dns-port`, { cause: error });
  }
  if (code === 'EACCES') {
    return new FailoverError('DNS_PORT_DENIED', `DNS port ${port} needs privileges; pass --dns-port above 1023`, {
      cause: error,
    });
  }
  return error;
}
