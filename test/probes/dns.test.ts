import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsSpec } from '../../shared/config/checks.ts';
import { dnsProbe } from '../../shared/probes/dns.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';

const zone: Answer[] = [
  { type: 'A', name: 'www.example.test', ttl: 60, data: '192.0.2.1' },
  { type: 'A', name: 'www.example.test', ttl: 60, data: '192.0.2.2' },
  { type: 'AAAA', name: 'v6.example.test', ttl: 60, data: '2001:db8::1' },
  { type: 'CNAME', name: 'alias.example.test', ttl: 60, data: 'Www.Example.Test' },
  { type: 'MX', name: 'example.test', ttl: 60, data: { preference: 10, exchange: 'mail.example.test' } },
  { type: 'MX', name: 'example.test', ttl: 60, data: { preference: 20, exchange: 'backup.example.test' } },
  { type: 'TXT', name: 'example.test', ttl: 60, data: ['v=spf1 ', 'include:_spf.example.test -all'] },
  { type: 'NS', name: 'example.test', ttl: 60, data: 'ns1.example.test' },
  {
    type: 'SOA',
    name: 'example.test',
    ttl: 60,
    data: { mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 2024010101 },
  },
  {
    type: 'SRV',
    name: '_sip._udp.example.test',
    ttl: 60,
    data: { priority: 10, weight: 5, port: 5060, target: 'sip.example.test' },
  },
  { type: 'CAA', name: 'example.test', ttl: 60, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } },
];

let server: TestDnsServer;

beforeAll(async () => {
  server = await startDnsServer({ zone });
});
afterAll(async () => {
  await server.close();
});

function spec(input: Partial<DnsSpec> & { name: string }, port = server.port): DnsSpec {
  return DnsSpec.parse({ server: '127.0.0.1', port, ...input });
}

describe('dnsProbe', () => {
  it('is up on an A answer and lists the addresses', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test' }), { timeoutMs: 2000 });
    expect(result.outcome).toBe('up');
    expect(result.errorClass).toBeNull();
    expect(result.fields).toMatchObject({ rcode: 'NOERROR', truncated: false, transport: 'udp' });
    expect([...(result.fields.answers as string[])].sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.detail).toContain('192.0.2.1');
  });

  it('accepts a trailing dot and any case in the name', async () => {
    const result = await dnsProbe(spec({ name: 'WWW.example.TEST.' }), { timeoutMs: 2000 });
    expect(result.outcome).toBe('up');
  });

  it('passes when the expected values are among the answers', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test', expect: ['192.0.2.2'] }), { timeoutMs: 2000 });
    expect(result.outcome).toBe('up');
  });

  it('fails with assertion when an expected value is missing', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test', expect: ['192.0.2.2', '192.0.2.9'] }), {
      timeoutMs: 2000,
    });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'assertion' });
    expect(result.detail).toContain('missing 192.0.2.9');
    expect(result.detail).not.toContain('missing 192.0.2.2');
  });

  it('matches an exact set regardless of order', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test', exact: ['192.0.2.2', '192.0.2.1'] }), {
      timeoutMs: 2000,
    });
    expect(result.outcome).toBe('up');
  });

  it('compares names case-insensitively and without trailing dots in exact sets', async () => {
    const cname = await dnsProbe(spec({ name: 'alias.example.test', type: 'CNAME', exact: ['WWW.example.test.'] }), {
      timeoutMs: 2000,
    });
    expect(cname.outcome).toBe('up');
    const mx = await dnsProbe(
      spec({ name: 'example.test', type: 'MX', exact: ['20 BACKUP.example.test.', '10 mail.example.test'] }),
      { timeoutMs: 2000 },
    );
    expect(mx.outcome).toBe('up');
    const v6 = await dnsProbe(spec({ name: 'v6.example.test', type: 'AAAA', exact: ['2001:DB8:0:0::1'] }), {
      timeoutMs: 2000,
    });
    expect(v6.outcome).toBe('up');
  });

  it('lists missing and unexpected values when the exact set differs', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test', exact: ['192.0.2.1', '192.0.2.3'] }), {
      timeoutMs: 2000,
    });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'assertion' });
    expect(result.detail).toContain('missing 192.0.2.3');
    expect(result.detail).toContain('unexpected 192.0.2.2');
  });

  it('is down with status on NXDOMAIN, and up when NXDOMAIN is expected', async () => {
    const nx = await dnsProbe(spec({ name: 'nope.example.test' }), { timeoutMs: 2000 });
    expect(nx).toMatchObject({ outcome: 'down', errorClass: 'status', detail: 'NXDOMAIN, expected NOERROR' });
    expect(nx.fields.rcode).toBe('NXDOMAIN');
    expect(nx.latencyMs).not.toBeNull();
    const expected = await dnsProbe(spec({ name: 'nope.example.test', expectRcode: 'NXDOMAIN' }), { timeoutMs: 2000 });
    expect(expected.outcome).toBe('up');
    const wrong = await dnsProbe(spec({ name: 'www.example.test', expectRcode: 'NXDOMAIN' }), { timeoutMs: 2000 });
    expect(wrong).toMatchObject({ outcome: 'down', errorClass: 'status', detail: 'NOERROR, expected NXDOMAIN' });
  });

  it('is down with assertion on NOERROR without records of the asked type', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test', type: 'AAAA' }), { timeoutMs: 2000 });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'assertion', detail: 'no AAAA records' });
    expect(result.fields.answers).toEqual([]);
  });

  it('counts only records of the asked type when a CNAME leads to them', async () => {
    const result = await dnsProbe(spec({ name: 'alias.example.test', exact: ['192.0.2.1', '192.0.2.2'] }), {
      timeoutMs: 2000,
    });
    expect(result.outcome).toBe('up');
  });

  it('renders MX, TXT, NS, SOA, SRV and CAA answers as text', async () => {
    const cases: Array<[DnsSpec['type'], string, string[]]> = [
      ['MX', 'example.test', ['10 mail.example.test', '20 backup.example.test']],
      ['TXT', 'example.test', ['v=spf1 include:_spf.example.test -all']],
      ['NS', 'example.test', ['ns1.example.test']],
      ['SOA', 'example.test', ['ns1.example.test hostmaster.example.test 2024010101']],
      ['SRV', '_sip._udp.example.test', ['10 5 5060 sip.example.test']],
      ['CAA', 'example.test', ['0 issue letsencrypt.org']],
    ];
    for (const [type, name, values] of cases) {
      const result = await dnsProbe(spec({ name, type }), { timeoutMs: 2000 });
      expect(result.outcome, type).toBe('up');
      expect([...(result.fields.answers as string[])].sort(), type).toEqual([...values].sort());
    }
    const txt = await dnsProbe(
      spec({ name: 'example.test', type: 'TXT', expect: ['v=spf1 include:_spf.example.test -all'] }),
      {
        timeoutMs: 2000,
      },
    );
    expect(txt.outcome).toBe('up');
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const truncating = await startDnsServer({ zone, truncateUdp: true });
    try {
      const result = await dnsProbe(spec({ name: 'www.example.test' }, truncating.port), { timeoutMs: 2000 });
      expect(result.outcome).toBe('up');
      expect(result.fields).toMatchObject({ truncated: true, transport: 'tcp', rcode: 'NOERROR' });
      expect((result.fields.answers as string[]).length).toBe(2);
      expect(truncating.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    } finally {
      await truncating.close();
    }
  });

  it('asks over TCP directly when told to', async () => {
    const before = server.queries.length;
    const result = await dnsProbe(spec({ name: 'www.example.test', protocol: 'tcp' }), { timeoutMs: 2000 });
    expect(result.outcome).toBe('up');
    expect(result.fields).toMatchObject({ truncated: false, transport: 'tcp' });
    expect(result.timings?.connectMs).toBeGreaterThanOrEqual(0);
    expect(server.queries.slice(before).map((q) => q.transport)).toEqual(['tcp']);
  });

  it('times out by the deadline when the server stays silent, over UDP and TCP', async () => {
    const silent = await startDnsServer({ zone, silent: true });
    try {
      for (const protocol of ['udp', 'tcp'] as const) {
        const started = performance.now();
        const result = await dnsProbe(spec({ name: 'www.example.test', protocol }, silent.port), { timeoutMs: 700 });
        const elapsed = performance.now() - started;
        expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout', latencyMs: null });
        expect(result.detail).toContain('no answer within 700 ms');
        expect(elapsed).toBeGreaterThanOrEqual(650);
        expect(elapsed).toBeLessThan(2000);
      }
    } finally {
      await silent.close();
    }
  });

  it('times out inside the deadline when the truncated answer is never followed by a TCP one', async () => {
    const halfSilent = await startDnsServer({ zone, truncateUdp: true, silentTcp: true });
    try {
      const started = performance.now();
      const result = await dnsProbe(spec({ name: 'www.example.test' }, halfSilent.port), { timeoutMs: 700 });
      expect(performance.now() - started).toBeLessThan(2000);
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(result.fields).toMatchObject({ truncated: true, transport: 'tcp' });
      expect(result.detail).toContain('over TCP after a truncated UDP answer');
    } finally {
      await halfSilent.close();
    }
  });

  it('is degraded over the latency budget', async () => {
    const slow = await startDnsServer({ zone, delayMs: 150 });
    try {
      const result = await dnsProbe(spec({ name: 'www.example.test', latencyBudgetMs: 50 }, slow.port), {
        timeoutMs: 2000,
      });
      expect(result.outcome).toBe('degraded');
      expect(result.latencyMs).toBeGreaterThanOrEqual(100);
      expect(result.detail).toContain('over the 50 ms budget');
    } finally {
      await slow.close();
    }
  });

  it('ignores stray packets: wrong id and wrong question', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind({ address: '127.0.0.1', port: 0 }, resolve));
    peer.on('message', (msg, rinfo) => {
      const query = dnsPacket.decode(msg);
      const reply = (id: number, name: string, data: string): Buffer =>
        dnsPacket.encode({
          type: 'response',
          id,
          questions: [{ type: 'A', name, class: 'IN' }],
          answers: [{ type: 'A', name, ttl: 1, data }],
        });
      const id = query.id ?? 0;
      peer.send(reply((id + 1) % 0x10000, 'www.example.test', '198.51.100.1'), rinfo.port, rinfo.address);
      peer.send(reply(id, 'other.example.test', '198.51.100.2'), rinfo.port, rinfo.address);
      peer.send(Buffer.from('garbage'), rinfo.port, rinfo.address);
      setTimeout(() => peer.send(reply(id, 'www.example.test', '192.0.2.7'), rinfo.port, rinfo.address), 30);
    });
    try {
      const result = await dnsProbe(spec({ name: 'www.example.test' }, peer.address().port), { timeoutMs: 2000 });
      expect(result.outcome).toBe('up');
      expect(result.fields.answers).toEqual(['192.0.2.7']);
    } finally {
      peer.close();
    }
  });

  it('is down with connect when the UDP port is closed (ICMP port unreachable)', async () => {
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind({ address: '127.0.0.1', port: 0 }, resolve));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const result = await dnsProbe(spec({ name: 'www.example.test' }, port), { timeoutMs: 2000 });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'connect' });
  });

  it('binds to the local address it is given', async () => {
    const result = await dnsProbe(spec({ name: 'www.example.test' }), { timeoutMs: 2000, localAddress: '127.0.0.1' });
    expect(result.outcome).toBe('up');
    const tcp = await dnsProbe(spec({ name: 'www.example.test', protocol: 'tcp' }), {
      timeoutMs: 2000,
      localAddress: '127.0.0.1',
    });
    expect(tcp.outcome).toBe('up');
  });

  it('ends early with timeout when the caller aborts', async () => {
    const silent = await startDnsServer({ zone, silent: true });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const started = performance.now();
      const result = await dnsProbe(spec({ name: 'www.example.test' }, silent.port), {
        timeoutMs: 5000,
        signal: controller.signal,
      });
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(result.detail).toContain('aborted');
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await silent.close();
    }
  });
});
