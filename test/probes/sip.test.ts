import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipSpec } from '../../shared/config/checks.ts';
import { header, parseVia, viaParam } from '../../shared/probes/sip-message.ts';
import { sipProbe } from '../../shared/probes/sip.ts';
import { startSipResponder, type SipResponder } from '../../shared/responders/sip-responder.ts';
import { testPki } from '../support/pki.ts';
import { reply, startStreamPeer, startUdpPeer } from '../support/sip-peers.ts';

function spec(input: Partial<SipSpec> & { port: number }): SipSpec {
  return SipSpec.parse({ host: '127.0.0.1', ...input });
}

describe('sipProbe against the SIP responder', () => {
  let responder: SipResponder;
  beforeAll(async () => {
    responder = await startSipResponder({});
  });
  afterAll(async () => {
    await responder.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`is up on 200 over ${transport}`, async () => {
      responder.setStatus(200);
      const result = await sipProbe(spec({ port: responder.port, transport }), { timeoutMs: 2000 });
      expect(result).toMatchObject({ outcome: 'up', errorClass: null });
      expect(result.fields).toEqual({
        status: 200,
        reason: 'OK',
        transmissions: 1,
        server: 'failover-sip-responder',
        transport,
      });
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      expect(result.detail).toMatch(/^200 OK in [\d.]+ ms$/);
    });

    it(`judges 404 against expectStatus over ${transport}`, async () => {
      responder.setStatus(404);
      try {
        const ok = await sipProbe(spec({ port: responder.port, transport, expectStatus: [200, 404] }), {
          timeoutMs: 2000,
        });
        expect(ok.outcome).toBe('up');
        expect(ok.fields.status).toBe(404);
        const bad = await sipProbe(spec({ port: responder.port, transport }), { timeoutMs: 2000 });
        expect(bad).toMatchObject({ outcome: 'down', errorClass: 'status', detail: '404 Not Found, expected 200' });
        expect(bad.latencyMs).not.toBeNull();
      } finally {
        responder.setStatus(200);
      }
    });
  }

  it('times out when the responder is silent, and recovers when it speaks again', async () => {
    responder.setSilent(true);
    try {
      const udp = await sipProbe(spec({ port: responder.port }), { timeoutMs: 700 });
      expect(udp).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(udp.fields.transmissions).toBe(2);
      const tcp = await sipProbe(spec({ port: responder.port, transport: 'tcp' }), { timeoutMs: 500 });
      expect(tcp).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(tcp.detail).toBe('no final response within 500 ms (1 transmission)');
    } finally {
      responder.setSilent(false);
    }
    const back = await sipProbe(spec({ port: responder.port }), { timeoutMs: 2000 });
    expect(back.outcome).toBe('up');
  });

  it('binds to the local address it is given', async () => {
    for (const transport of ['udp', 'tcp'] as const) {
      const result = await sipProbe(spec({ port: responder.port, transport }), {
        timeoutMs: 2000,
        localAddress: '127.0.0.1',
      });
      expect(result.outcome, transport).toBe('up');
    }
  });
});

// Each test has its own peer; running them side by side keeps the timer-bound tests from adding up.
describe.concurrent('sipProbe over UDP against scripted peers', () => {
  it('sends a well-formed OPTIONS request', async () => {
    const peer = await startUdpPeer((request, send) => send(reply(request, 200)));
    try {
      const result = await sipProbe(spec({ port: peer.port, fromUser: 'watcher' }), { timeoutMs: 2000 });
      expect(result.outcome).toBe('up');
      const request = peer.arrivals[0]!.request!;
      const text = peer.arrivals[0]!.data.toString();
      expect(text.startsWith(`OPTIONS sip:127.0.0.1:${peer.port} SIP/2.0\r\n`)).toBe(true);
      expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
      const via = parseVia(header(request, 'via')!);
      expect(via.transport).toBe('UDP');
      expect(via.host).toBe('127.0.0.1');
      expect(via.port).toBeGreaterThan(0);
      expect(viaParam(via, 'branch')).toMatch(/^z9hG4bK[0-9a-f]+$/);
      expect(viaParam(via, 'rport')).toBeNull();
      expect(header(request, 'max-forwards')).toBe('70');
      expect(header(request, 'to')).toBe(`<sip:127.0.0.1:${peer.port}>`);
      expect(header(request, 'from')).toMatch(/^<sip:watcher@127\.0\.0\.1>;tag=[0-9a-f]+$/);
      expect(header(request, 'call-id')).toMatch(/^[0-9a-f]+@127\.0\.0\.1$/);
      expect(header(request, 'cseq')).toBe('1 OPTIONS');
      expect(header(request, 'contact')).toBe(`<sip:watcher@127.0.0.1:${via.port}>`);
      expect(header(request, 'accept')).toBe('application/sdp');
      expect(header(request, 'user-agent')).toBe('failover-probe');
    } finally {
      await peer.close();
    }
  });

  it('uses the configured request URI', async () => {
    const peer = await startUdpPeer((request, send) => send(reply(request, 200)));
    try {
      const result = await sipProbe(spec({ port: peer.port, requestUri: 'sip:ping@pbx.example.test' }), {
        timeoutMs: 2000,
      });
      expect(result.outcome).toBe('up');
      expect(peer.arrivals[0]!.request!.uri).toBe('sip:ping@pbx.example.test');
      expect(header(peer.arrivals[0]!.request!, 'to')).toBe('<sip:ping@pbx.example.test>');
    } finally {
      await peer.close();
    }
  });

  it('retransmits on timer E (500, 1000, 2000 ms) and gives up at the deadline', async () => {
    const peer = await startUdpPeer();
    try {
      const started = performance.now();
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 3800 });
      const elapsed = performance.now() - started;
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout', latencyMs: null });
      expect(result.fields.transmissions).toBe(4);
      expect(result.detail).toBe('no final response within 3800 ms (4 transmissions)');
      expect(elapsed).toBeGreaterThanOrEqual(3700);
      expect(elapsed).toBeLessThan(4800);

      expect(peer.arrivals).toHaveLength(4);
      // Retransmissions are the very same request.
      for (const arrival of peer.arrivals) expect(arrival.data.equals(peer.arrivals[0]!.data)).toBe(true);
      const gaps = peer.arrivals.slice(1).map((a, i) => a.at - peer.arrivals[i]!.at);
      gaps.forEach((gap, i) => {
        const nominal = 500 * 2 ** i;
        expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(nominal - 50);
        expect(gap, `gap ${i}`).toBeLessThan(nominal + 400);
        if (i > 0) expect(gap / gaps[i - 1]!, `ratio ${i}`).toBeGreaterThan(1.4);
      });
    } finally {
      await peer.close();
    }
  });

  it('caps the retransmission interval at T2 = 4 s', async () => {
    const peer = await startUdpPeer();
    try {
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 8000 });
      // Sent at 0, 0.5, 1.5, 3.5 and 7.5 s: the interval after 4 s would be 8 s, capped to 4 s.
      expect(result.fields.transmissions).toBe(5);
      const last = peer.arrivals[4]!.at - peer.arrivals[3]!.at;
      expect(last).toBeGreaterThanOrEqual(3950);
      expect(last).toBeLessThan(4400);
    } finally {
      await peer.close();
    }
  }, 15_000);

  it('ignores responses with a wrong branch, Call-ID or CSeq and takes the right one', async () => {
    const peer = await startUdpPeer((request, send) => {
      const via = header(request, 'via')!;
      send(reply(request, 500, { via: via.replace(/branch=z9hG4bK[0-9a-f]+/, 'branch=z9hG4bKother') }));
      send(reply(request, 500, { callId: 'someone-else@127.0.0.1' }));
      send(reply(request, 500, { cseq: '1 INVITE' }));
      send(reply(request, 500, { cseq: '2 OPTIONS' }));
      send(Buffer.from('not SIP at all'));
      send(reply(request, 200), 30);
    });
    try {
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 2000 });
      expect(result).toMatchObject({ outcome: 'up', errorClass: null });
      expect(result.fields.status).toBe(200);
    } finally {
      await peer.close();
    }
  });

  it('skips 100 Trying and waits for the final response', async () => {
    const peer = await startUdpPeer((request, send) => {
      send(reply(request, 100));
      send(reply(request, 200, { extra: [['Server', 'Scripted PBX 1.0']] }), 100);
    });
    try {
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 2000 });
      expect(result.outcome).toBe('up');
      expect(result.fields).toMatchObject({ status: 200, server: 'Scripted PBX 1.0', transmissions: 1 });
    } finally {
      await peer.close();
    }
  });

  it('after a provisional response retransmits at T2 and reports the last provisional on timeout', async () => {
    const peer = await startUdpPeer((request, send, index) => {
      if (index === 0) send(reply(request, 100));
    });
    try {
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 1800 });
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      // Without the 100 there would be 3 transmissions (0, 0.5, 1.5 s); in Proceeding the next is at 0.5 + 4 s.
      expect(result.fields.transmissions).toBe(2);
      expect(result.detail).toBe('no final response within 1800 ms (2 transmissions, last 100 Trying)');
    } finally {
      await peer.close();
    }
  });

  it('times the answered retransmission, not the first transmission', async () => {
    const peer = await startUdpPeer((request, send, index) => {
      if (index === 2) send(reply(request, 200));
    });
    try {
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 3000 });
      expect(result.outcome).toBe('up');
      expect(result.fields.transmissions).toBe(3);
      expect(result.latencyMs).toBeLessThan(400);
    } finally {
      await peer.close();
    }
  });

  it('is degraded over the latency budget', async () => {
    const peer = await startUdpPeer((request, send) => send(reply(request, 200), 150));
    try {
      const result = await sipProbe(spec({ port: peer.port, latencyBudgetMs: 50 }), { timeoutMs: 2000 });
      expect(result.outcome).toBe('degraded');
      expect(result.latencyMs).toBeGreaterThanOrEqual(100);
      expect(result.detail).toContain('over the 50 ms budget');
    } finally {
      await peer.close();
    }
  });

  it('is down with connect when the port is closed', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
    const port = socket.address().port;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const udp = await sipProbe(spec({ port }), { timeoutMs: 2000 });
    expect(udp).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    expect(udp.detail).toContain('ICMP port unreachable');
    const tcp = await sipProbe(spec({ port, transport: 'tcp' }), { timeoutMs: 2000 });
    expect(tcp).toMatchObject({ outcome: 'down', errorClass: 'connect' });
  });

  it('ends early with timeout when the caller aborts', async () => {
    const peer = await startUdpPeer();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 150);
      const started = performance.now();
      const result = await sipProbe(spec({ port: peer.port }), { timeoutMs: 5000, signal: controller.signal });
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
      expect(result.detail).toContain('aborted');
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await peer.close();
    }
  });
});

describe('sipProbe over TCP and TLS against scripted peers', () => {
  it('frames a response split across writes, after a 100 Trying, by Content-Length', async () => {
    const peer = await startStreamPeer((request, socket) => {
      const body = 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n\r\n';
      const final = reply(request, 200, { extra: [['Content-Type', 'application/sdp']], body });
      const bytes = Buffer.concat([reply(request, 100), final]);
      const cut = bytes.length - final.length + 40;
      socket.write(bytes.subarray(0, cut));
      setTimeout(() => socket.write(bytes.subarray(cut, bytes.length - 10)), 40);
      setTimeout(() => socket.write(bytes.subarray(bytes.length - 10)), 80);
    });
    try {
      const result = await sipProbe(spec({ port: peer.port, transport: 'tcp' }), { timeoutMs: 2000 });
      expect(result).toMatchObject({ outcome: 'up' });
      expect(result.fields).toMatchObject({ status: 200, transmissions: 1, transport: 'tcp' });
    } finally {
      await peer.close();
    }
  });

  it('is down with protocol when the server closes the connection without answering', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.end()));
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const result = await sipProbe(spec({ port, transport: 'tcp' }), { timeoutMs: 2000 });
      expect(result).toMatchObject({ outcome: 'down', errorClass: 'protocol' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('checks the certificate over TLS, with caFile and servername', async () => {
    const pki = await testPki();
    const peer = await startStreamPeer((request, socket) => socket.write(reply(request, 200)), pki.valid);
    try {
      const trusted = await sipProbe(spec({ port: peer.port, transport: 'tls', caFile: pki.caFile }), {
        timeoutMs: 3000,
      });
      expect(trusted).toMatchObject({ outcome: 'up' });
      expect(trusted.fields.transport).toBe('tls');
      expect(trusted.timings?.tlsMs).toBeGreaterThanOrEqual(0);

      const byName = await sipProbe(
        spec({ port: peer.port, transport: 'tls', caFile: pki.caFile, servername: 'localhost' }),
        { timeoutMs: 3000 },
      );
      expect(byName.outcome).toBe('up');

      const untrusted = await sipProbe(spec({ port: peer.port, transport: 'tls' }), { timeoutMs: 3000 });
      expect(untrusted).toMatchObject({ outcome: 'down', errorClass: 'tls' });

      const wrongName = await sipProbe(
        spec({ port: peer.port, transport: 'tls', caFile: pki.caFile, servername: 'other.test' }),
        { timeoutMs: 3000 },
      );
      expect(wrongName).toMatchObject({ outcome: 'down', errorClass: 'tls' });

      const missingCa = await sipProbe(spec({ port: peer.port, transport: 'tls', caFile: '/nonexistent/ca.pem' }), {
        timeoutMs: 3000,
      });
      expect(missingCa).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    } finally {
      await peer.close();
    }
  });

  it('sends sips: and a TLS Via over TLS', async () => {
    const pki = await testPki();
    const seen: string[] = [];
    const peer = await startStreamPeer((request, socket) => {
      seen.push(request.uri, header(request, 'via')!);
      socket.write(reply(request, 200));
    }, pki.valid);
    try {
      const result = await sipProbe(spec({ port: peer.port, transport: 'tls', caFile: pki.caFile }), {
        timeoutMs: 3000,
      });
      expect(result.outcome).toBe('up');
      expect(seen[0]).toBe(`sips:127.0.0.1:${peer.port}`);
      expect(seen[1]).toMatch(/^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK/);
    } finally {
      await peer.close();
    }
  });

  it('reports a TLS handshake that never finishes as a timeout of the handshake', async () => {
    const server = net.createServer(() => undefined);
    const sockets = new Set<net.Socket>();
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const result = await sipProbe(spec({ port, transport: 'tls' }), { timeoutMs: 600 });
      expect(result).toMatchObject({
        outcome: 'down',
        errorClass: 'timeout',
        detail: 'no TLS handshake within 600 ms',
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
