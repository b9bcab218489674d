import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../shared/adapters/local/dns-server.ts';
import { LocalDnsRouter } from '../../shared/adapters/local/local-dns-router.ts';
import { DnsSpec } from '../../shared/config/checks.ts';
import type { DnsAction } from '../../shared/domain/model.ts';
import { FailoverError } from '../../shared/errors.ts';
import { dnsProbe } from '../../shared/probes/dns.ts';
import { dig, digAvailable } from '../support/dig.ts';

const hasDig = await digAvailable();
const required = process.env.FAILOVER_REQUIRE_PEERS === '1';

const PRIMARY = '203.0.113.10';
const BACKUP = '198.51.100.20';

function portalAction(link: 'fiber' | 'lte', seq: number): DnsAction {
  return {
    kind: 'dns',
    id: `demo:${seq}:0`,
    site: 'demo',
    seq,
    at: 1_700_000_000_000 + seq,
    zone: 'example.com',
    hostedZoneId: 'Z0000000000DEMO',
    name: 'portal.example.com',
    type: 'A',
    ttl: 5,
    strategy: 'record-swap',
    link,
    values: [link === 'fiber' ? PRIMARY : BACKUP],
  };
}

const soaSerial = (data: string): number => Number(data.split(' ')[2]);

/** Sends one datagram to the server and resolves with the first reply, or null after `waitMs`. */
async function udpExchange(port: number, message: Buffer, waitMs = 300): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      socket.on('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.send(message, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

function query(name: string, type: dnsPacket.RecordType = 'A', id = 4242): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
}

/** A deterministic PRNG (mulberry32), so that a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('embedded DNS server', () => {
  let server: DnsServer;
  let router: LocalDnsRouter;

  beforeAll(async () => {
    server = await startDnsServer({ port: 0, zones: ['example.com', 'example.ie.'], idleTimeoutMs: 300 });
    router = new LocalDnsRouter(server);
    await router.apply(portalAction('fiber', 1));
    server.setRecord('v6.example.com', 'AAAA', 30, ['2001:db8::10', '2001:db8::11']);
    server.setRecord('www.example.com.', 'CNAME', 30, ['portal.example.com']);
    server.setRecord('outside.example.com', 'CNAME', 30, ['target.example.net.']);
    server.setRecord('dangling.example.com', 'CNAME', 30, ['gone.example.com']);
    server.setRecord('a.b.deep.example.com', 'A', 30, ['192.0.2.1']);
  });

  afterAll(() => server.close());

  it.runIf(required)('has dig installed (required in CI)', () => {
    expect(hasDig, 'dig not found: apt-get install -y dnsutils').toBe(true);
  });

  describe.skipIf(!hasDig)('answers dig', () => {
    it('shows the failover: the primary value, then the backup value after apply()', async () => {
      const before = await dig(server, 'portal.example.com');
      expect(before.status).toBe('NOERROR');
      expect(before.flags).toContain('aa');
      expect(before.answers).toEqual([{ name: 'portal.example.com.', ttl: 5, type: 'A', data: PRIMARY }]);

      const result = await router.apply(portalAction('lte', 2));
      expect(result.detail).toContain(`portal.example.com A -> ${BACKUP} (link lte, TTL 5 s)`);
      const after = await dig(server, 'portal.example.com');
      expect(after.answers.map((a) => a.data)).toEqual([BACKUP]);
      await expect(router.read({ ...portalAction('lte', 2) })).resolves.toEqual({ values: [BACKUP], ttl: 5 });

      await router.apply(portalAction('fiber', 3));
      expect((await dig(server, 'portal.example.com')).answers.map((a) => a.data)).toEqual([PRIMARY]);
    });

    it('answers AAAA records', async () => {
      const result = await dig(server, 'v6.example.com', 'AAAA');
      expect(result.status).toBe('NOERROR');
      expect(result.answers.map((a) => a.data).sort()).toEqual(['2001:db8::10', '2001:db8::11']);
    });

    it('answers a CNAME and, like an authoritative server, its target in our data', async () => {
      const result = await dig(server, 'www.example.com', 'A');
      expect(result.status).toBe('NOERROR');
      expect(result.answers.map((a) => [a.name, a.type, a.data])).toEqual([
        ['www.example.com.', 'CNAME', 'portal.example.com.'],
        ['portal.example.com.', 'A', PRIMARY],
      ]);
      const asked = await dig(server, 'www.example.com', 'CNAME');
      expect(asked.answers.map((a) => a.data)).toEqual(['portal.example.com.']);
      const outside = await dig(server, 'outside.example.com', 'A');
      expect(outside.status).toBe('NOERROR');
      expect(outside.answers.map((a) => a.data)).toEqual(['target.example.net.']);
    });

    it('answers NXDOMAIN for a CNAME whose target in our zone does not exist (RFC 6604)', async () => {
      const result = await dig(server, 'dangling.example.com');
      expect(result.status).toBe('NXDOMAIN');
      expect(result.answers.map((a) => a.type)).toEqual(['CNAME']);
      expect(result.authority.map((a) => a.type)).toEqual(['SOA']);
    });

    it('answers NXDOMAIN with the SOA in authority for an unknown name in the zone', async () => {
      const result = await dig(server, 'nope.example.com');
      expect(result.status).toBe('NXDOMAIN');
      expect(result.flags).toContain('aa');
      expect(result.answers).toEqual([]);
      expect(result.authority).toHaveLength(1);
      expect(result.authority[0]).toMatchObject({ name: 'example.com.', type: 'SOA', ttl: 5 });
      expect(result.authority[0]!.data).toMatch(/^ns\.example\.com\. hostmaster\.example\.com\. \d+ 60 30 600 5$/);
    });

    it('answers NODATA (NOERROR, no answer, SOA) for a name without records of the type asked', async () => {
      const result = await dig(server, 'portal.example.com', 'AAAA');
      expect(result.status).toBe('NOERROR');
      expect(result.answers).toEqual([]);
      expect(result.authority.map((a) => a.type)).toEqual(['SOA']);
      const between = await dig(server, 'b.deep.example.com', 'A');
      expect(between.status).toBe('NOERROR');
      expect(between.authority.map((a) => a.type)).toEqual(['SOA']);
    });

    it('answers REFUSED, not authoritatively, outside its zones', async () => {
      for (const name of ['example.org', 'com', 'notexample.com']) {
        const result = await dig(server, name);
        expect(result.status, name).toBe('REFUSED');
        expect(result.flags, name).not.toContain('aa');
      }
    });

    it('serves SOA and NS at each apex, and ANY returns what there is', async () => {
      const soa = await dig(server, 'example.ie', 'SOA');
      expect(soa.answers.map((a) => a.data.split(' ').slice(0, 2))).toEqual([
        ['ns.example.ie.', 'hostmaster.example.ie.'],
      ]);
      const ns = await dig(server, 'example.com', 'NS');
      expect(ns.answers.map((a) => a.data)).toEqual(['ns.example.com.']);
      const any = await dig(server, 'example.com', 'ANY');
      expect(any.answers.map((a) => a.type).sort()).toEqual(['NS', 'SOA']);
      const anyName = await dig(server, 'v6.example.com', 'ANY');
      expect(anyName.answers).toHaveLength(2);
    });

    it('answers over TCP', async () => {
      const result = await dig(server, 'portal.example.com', 'A', ['+tcp']);
      expect(result.status).toBe('NOERROR');
      expect(result.answers.map((a) => a.data)).toEqual([PRIMARY]);
      expect(result.flags).toContain('aa');
    });

    it('matches names case-insensitively, with or without the trailing dot', async () => {
      const result = await dig(server, 'PORTAL.Example.COM.');
      expect(result.status).toBe('NOERROR');
      expect(result.answers.map((a) => a.data)).toEqual([PRIMARY]);
    });

    it('raises the SOA serial on a change, and only on a change', async () => {
      const serialNow = async () => soaSerial((await dig(server, 'example.com', 'SOA')).answers[0]!.data);
      const before = await serialNow();
      server.setRecord('serial.example.com', 'A', 30, ['192.0.2.9']);
      const after = await serialNow();
      expect(after).toBeGreaterThan(before);
      server.setRecord('serial.example.com', 'A', 30, ['192.0.2.9']);
      expect(await serialNow()).toBe(after);
      expect(soaSerial((await dig(server, 'example.ie', 'SOA')).answers[0]!.data)).toBeLessThanOrEqual(after);
    });

    it('answers NOTIMP to another opcode', async () => {
      const result = await dig(server, 'portal.example.com', 'A', ['+opcode=status']);
      expect(result.status).toBe('NOTIMP');
    });

    it('truncates a UDP answer larger than the client accepts, and dig gets it all over TCP', async () => {
      const many = Array.from({ length: 100 }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
      server.setRecord('big.example.com', 'A', 30, many);
      const udpOnly = await dig(server, 'big.example.com', 'A', ['+ignore']);
      expect(udpOnly.flags).toContain('tc');
      const full = await dig(server, 'big.example.com');
      expect(full.answers).toHaveLength(100);
    });
  });

  it('answers several queries on one TCP connection and closes it when idle', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    const replies: Array<dnsPacket.DecodedPacket & { rcode?: string }> = [];
    let buffer = Buffer.alloc(0);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(buffer.subarray(2, 2 + buffer.readUInt16BE(0))));
        buffer = buffer.subarray(2 + buffer.readUInt16BE(0));
      }
    });
    const names = ['portal.example.com', 'v6.example.com', 'nope.example.com'];
    socket.write(
      Buffer.concat(
        names.map((name, i) => dnsPacket.streamEncode({ type: 'query', id: i + 1, questions: [{ name, type: 'A' }] })),
      ),
    );
    await closed; // idleTimeoutMs is 300 ms in this suite
    expect(replies.map((r) => [r.id, r.rcode])).toEqual([
      [1, 'NOERROR'],
      [2, 'NOERROR'],
      [3, 'NXDOMAIN'],
    ]);
  });

  it('answers FORMERR to a malformed query and drops what it cannot answer', async () => {
    const twoQuestions = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [
        { name: 'portal.example.com', type: 'A' },
        { name: 'v6.example.com', type: 'AAAA' },
      ],
    });
    const formerr = await udpExchange(server.port, twoQuestions);
    expect(formerr && dnsPacket.decode(formerr)).toMatchObject({ id: 7, rcode: 'FORMERR', type: 'response' });

    const cut = query('portal.example.com', 'A', 8).subarray(0, 20);
    const cutReply = await udpExchange(server.port, cut);
    expect(cutReply && dnsPacket.decode(cutReply)).toMatchObject({ id: 8, rcode: 'FORMERR' });

    expect(await udpExchange(server.port, Buffer.from([1, 2, 3]))).toBeNull();
    const response = dnsPacket.encode({
      type: 'response',
      id: 9,
      questions: [{ name: 'portal.example.com', type: 'A' }],
    });
    expect(await udpExchange(server.port, response)).toBeNull();
  });

  it('never crashes on garbage (random and mutated packets over UDP and TCP)', async () => {
    const random = prng(20260101);
    const valid = query('portal.example.com');
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    for (let i = 0; i < 600; i++) {
      const packet =
        i % 2 === 0
          ? Buffer.from(Array.from({ length: Math.floor(random() * 600) }, () => Math.floor(random() * 256)))
          : Buffer.from(valid.map((byte) => (random() < 0.1 ? Math.floor(random() * 256) : byte)));
      socket.send(packet, server.port, '127.0.0.1');
    }
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    for (let i = 0; i < 10; i++) {
      const tcp = net.connect(server.port, '127.0.0.1');
      tcp.on('error', () => undefined);
      const garbage = Buffer.from(
        Array.from({ length: 50 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256)),
      );
      tcp.end(garbage);
    }
    const reply = await udpExchange(server.port, query('portal.example.com', 'A', 77), 2000);
    expect(reply && dnsPacket.decode(reply)).toMatchObject({ id: 77, rcode: 'NOERROR' });
  });

  it('is found by the dns probe', async () => {
    const spec = DnsSpec.parse({
      server: '127.0.0.1',
      port: server.port,
      name: 'portal.example.com',
      exact: [PRIMARY],
    });
    const result = await dnsProbe(spec, { timeoutMs: 3000 });
    expect(result.outcome).toBe('up');
    const tcp = await dnsProbe({ ...spec, protocol: 'tcp' }, { timeoutMs: 3000 });
    expect(tcp.outcome).toBe('up');
    const missing = DnsSpec.parse({
      server: '127.0.0.1',
      port: server.port,
      name: 'nope.example.com',
      expectRcode: 'NXDOMAIN',
    });
    expect((await dnsProbe(missing, { timeoutMs: 3000 })).outcome).toBe('up');
  });

  it('refuses records it cannot serve, with a permanent error', async () => {
    const rejected = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(FailoverError);
        expect((error as FailoverError).code).toBe('DNS_REJECTED');
        return (error as Error).message;
      }
      throw new Error('expected a DnsRecordError');
    };
    expect(rejected(() => server.setRecord('portal.example.org', 'A', 5, ['192.0.2.1']))).toContain(
      'outside the zones',
    );
    expect(rejected(() => server.setRecord('x.example.com', 'A', 5, ['2001:db8::1']))).toContain('not a valid A value');
    expect(rejected(() => server.setRecord('x.example.com', 'AAAA', 5, ['192.0.2.1']))).toContain('not a valid AAAA');
    expect(rejected(() => server.setRecord('example.com', 'CNAME', 5, ['portal.example.com']))).toContain('apex');
    expect(rejected(() => server.setRecord('portal.example.com', 'CNAME', 5, ['x.example.com']))).toContain('CNAME');
    expect(rejected(() => server.setRecord('x.example.com', 'CNAME', 5, ['a.example.com', 'b.example.com']))).toContain(
      'exactly one',
    );
    await expect(router.apply({ ...portalAction('lte', 9), name: 'portal.example.org' })).rejects.toMatchObject({
      code: 'DNS_REJECTED',
    });
  });

  it('removes a record set given no values, and reads null for a missing record', async () => {
    server.setRecord('gone-soon.example.com', 'A', 5, ['192.0.2.5']);
    expect(server.getRecord('GONE-SOON.example.com.', 'A')).toEqual({ ttl: 5, values: ['192.0.2.5'] });
    server.setRecord('gone-soon.example.com', 'A', 5, []);
    expect(server.getRecord('gone-soon.example.com', 'A')).toBeNull();
    expect(server.records().some((r) => r.name === 'gone-soon.example.com')).toBe(false);
    await expect(router.read({ ...portalAction('lte', 1), name: 'nope.example.com' })).resolves.toBeNull();
  });
});

describe('starting the embedded DNS server', () => {
  it('says which port is in use, and how to pick another', async () => {
    const first = await startDnsServer({ port: 0, zones: ['example.com'] });
    try {
      await expect(startDnsServer({ port: first.port, zones: ['example.com'] })).rejects.toThrow(
        `DNS port ${first.port} is in use; pass --dns-port`,
      );
    } finally {
      await first.close();
    }
  });

  it('serves records given at start, and lists them', async () => {
    const server = await startDnsServer({
      port: 0,
      zones: ['Example.COM.'],
      records: [{ name: 'Portal.example.com.', type: 'A', ttl: 60, values: [PRIMARY] }],
    });
    try {
      expect(server.records()).toEqual([{ name: 'portal.example.com', type: 'A', ttl: 60, values: [PRIMARY] }]);
      const reply = await udpExchange(server.port, query('portal.example.com'), 2000);
      const decoded = reply && dnsPacket.decode(reply);
      expect(decoded?.flag_aa).toBe(true);
      expect(decoded?.answers?.map((a) => ('data' in a ? a.data : null))).toEqual([PRIMARY]);
    } finally {
      await server.close();
    }
  });
});
