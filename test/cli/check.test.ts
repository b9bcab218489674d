import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startEchoResponder, type EchoResponder } from '../../shared/responders/echo-responder.ts';
import { startSipResponder, type SipResponder } from '../../shared/responders/sip-responder.ts';
import { runCli, STACK_FRAME } from '../support/cli.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';
import { testPki, type TestPki } from '../support/pki.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
let httpPort: number;
let httpsPort: number;
let refusedPort: number;
let dns: TestDnsServer;
let sip: SipResponder;
let echo: EchoResponder;
let pki: TestPki;

beforeAll(async () => {
  pki = await testPki();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  };
  [httpPort, httpsPort, refusedPort, dns, sip, echo] = await Promise.all([
    pool.listen(createServer(handler)),
    pool.https(pki.valid, handler),
    closedPort(),
    startDnsServer({ zone: [{ name: 'a.test', type: 'A', ttl: 60, data: '10.0.0.1' }] }),
    startSipResponder({ host: '127.0.0.1', port: 0 }),
    startEchoResponder({ host: '127.0.0.1', port: 0 }),
  ]);
});

afterAll(async () => {
  await Promise.all([pool.closeAll(), dns?.close(), sip?.close(), echo?.close()]);
});

/** `failover check --json TARGET`: the exit code and the one JSON object it printed. */
async function checkJson(target: string, ...extra: string[]) {
  const r = await runCli(['check', '--json', ...extra, target]);
  const lines = r.stdout.trim().split('\n');
  return { code: r.code, stderr: r.stderr, lines, json: JSON.parse(lines[0]!) as Record<string, unknown> };
}

describe.concurrent('failover check', () => {
  it('http up: exit 0, UP and the status for a person', async ({ expect }) => {
    const r = await runCli(['check', `http://127.0.0.1:${httpPort}/health`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^UP\s+http:\/\/127\.0\.0\.1:\d+\/health/);
    expect(r.stdout).toContain('status=200');
    expect(r.stderr).toBe('');
  });

  it('http 500: exit 1, errorClass status', async ({ expect }) => {
    const r = await runCli(['check', `http://127.0.0.1:${httpPort}/fail`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^DOWN\s/);
    expect(r.stdout).toContain('[status]');
    expect(r.stdout).toContain('status=500');
  });

  it('--json prints one object with the result, the status and the timings', async ({ expect }) => {
    const up = await checkJson(`http://127.0.0.1:${httpPort}/`);
    expect(up.code).toBe(0);
    expect(up.lines).toHaveLength(1);
    expect(up.json).toMatchObject({ ok: true, outcome: 'up', kind: 'http', errorClass: null, status: 200 });
    expect(up.json.latencyMs).toBeTypeOf('number');
    expect(up.json.detail).toBeTypeOf('string');
    expect(up.json.timings).toMatchObject({ totalMs: expect.any(Number) });

    const down = await checkJson(`http://127.0.0.1:${httpPort}/fail`);
    expect(down.code).toBe(1);
    expect(down.json).toMatchObject({ ok: false, outcome: 'down', errorClass: 'status', status: 500 });
  });

  it.for([
    ['an unknown scheme', 'gopher://example.com/', /cannot tell the probe from "gopher:\/\/example\.com\/"/],
    ['tcp without a port', 'tcp://host', /needs a port/],
    ['dns without a name', 'dns://1.2.3.4/', /names no record/],
    ['an unknown SIP parameter', 'sip:host;foo=bar', /unknown SIP URI parameter "foo"/],
    ['a bad field value', 'voip://127.0.0.1:0', /port/],
  ] as const)('%s: exit 2, a clear message, no stack trace', async ([, target, message], { expect }) => {
    const r = await runCli(['check', target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^failover: /);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');
  });

  it('a bad target with --json: exit 2 and an error object', async ({ expect }) => {
    const r = await checkJson('tcp://host');
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: expect.stringMatching(/needs a port/) });
  });

  it('--timeout abc: exit 2, usage error', async ({ expect }) => {
    const r = await runCli(['check', '--timeout', 'abc', `http://127.0.0.1:${httpPort}/`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout.*'abc' is invalid/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');
  });

  it('a closed port: exit 1, errorClass connect', async ({ expect }) => {
    const r = await checkJson(`tcp://127.0.0.1:${refusedPort}`);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, outcome: 'down', kind: 'tcp', errorClass: 'connect' });
  });

  it('tcp to an open port: up', async ({ expect }) => {
    const r = await checkJson(`tcp://127.0.0.1:${httpPort}`);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, outcome: 'up', kind: 'tcp', errorClass: null });
  });

  it('dns: the expected A record is up; an exact set that differs is down', async ({ expect }) => {
    const [good, bad] = await Promise.all([
      checkJson(`dns://127.0.0.1:${dns.port}/a.test?type=A&expect=10.0.0.1`),
      checkJson(`dns://127.0.0.1:${dns.port}/a.test?type=A&exact=10.0.0.1,10.0.0.2`),
    ]);
    expect(good.code).toBe(0);
    expect(good.json).toMatchObject({ ok: true, outcome: 'up', kind: 'dns' });
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ ok: false, outcome: 'down', kind: 'dns', errorClass: 'assertion' });
  });

  it('sip over udp and tcp: status 200', async ({ expect }) => {
    const [udp, tcp] = await Promise.all([
      checkJson(`sip:127.0.0.1:${sip.port};transport=udp`),
      checkJson(`sip:127.0.0.1:${sip.port};transport=tcp`),
    ]);
    expect(udp.code, JSON.stringify(udp.json)).toBe(0);
    expect(udp.json).toMatchObject({ ok: true, kind: 'sip', status: 200 });
    expect(tcp.code, JSON.stringify(tcp.json)).toBe(0);
    expect(tcp.json).toMatchObject({ ok: true, kind: 'sip', status: 200 });
  });

  it('voip against an echo responder: a MOS', async ({ expect }) => {
    const r = await checkJson(`voip://127.0.0.1:${echo.port}`);
    expect(r.json).toMatchObject({ kind: 'voip', mos: expect.any(Number) });
    // Up, or degraded when a loaded machine adds jitter; never down on loopback.
    expect(r.json.outcome).not.toBe('down');
    expect(r.json.mos as number).toBeGreaterThan(1);
  });

  it('https with --ca-file: up with daysToExpiry; without it: tls', async ({ expect }) => {
    const url = `https://127.0.0.1:${httpsPort}/`;
    const [trusted, untrusted] = await Promise.all([checkJson(url, '--ca-file', pki.caFile), checkJson(url)]);
    expect(trusted.code, JSON.stringify(trusted.json)).toBe(0);
    expect(trusted.json).toMatchObject({ ok: true, outcome: 'up', status: 200 });
    expect(trusted.json.daysToExpiry).toBeGreaterThanOrEqual(360);
    expect(untrusted.code).toBe(1);
    expect(untrusted.json).toMatchObject({ ok: false, outcome: 'down', errorClass: 'tls' });
  });
});
