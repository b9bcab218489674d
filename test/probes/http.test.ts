import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpSpec } from '../../shared/config/checks.ts';
import { ProbeResult } from '../../shared/contracts/observation.ts';
import { httpProbe, MAX_BODY_BYTES } from '../../shared/probes/http.ts';
import { testPki, type TestPki } from '../support/pki.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
let pki: TestPki;
let port: number;
let base: string;
let connections = 0;

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
  const [, first, arg] = url.pathname.split('/');
  switch (first) {
    case 'ok':
      return send(200, 'hello world, all systems go');
    case 'status':
      return send(Number(arg), `status ${arg}`);
    case 'json':
      return send(200, JSON.stringify({ status: 'ok', version: 3, items: [{ name: 'db', healthy: true }] }), {
        'content-type': 'application/json',
      });
    case 'redirect': {
      const left = Number(arg);
      return send(302, '', { location: left > 1 ? `/redirect/${left - 1}` : '/ok' });
    }
    case 'see-other':
      return send(303, '', { location: '/echo' });
    case 'echo': {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () =>
        send(
          200,
          JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() }),
          {
            'content-type': 'application/json',
          },
        ),
      );
      return;
    }
    case 'slow':
      setTimeout(() => send(200, 'late'), 150);
      return;
    case 'hang':
      return;
    case 'big': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const pump = (): void => {
        while (sent < 8 * MAX_BODY_BYTES && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    case 'cut':
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only part');
      setTimeout(() => res.destroy(), 20);
      return;
    default:
      return send(404, 'not found');
  }
}

beforeAll(async () => {
  pki = await testPki();
  const server = createServer(route);
  server.on('connection', () => (connections += 1));
  port = await pool.listen(server);
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => pool.closeAll());

const ctx = { timeoutMs: 3000 };
const probe = async (spec: Record<string, unknown>, context: Parameters<typeof httpProbe>[1] = ctx) => {
  const result = await httpProbe(HttpSpec.parse(spec), context);
  expect(ProbeResult.parse(result)).toEqual(result);
  return result;
};

describe('httpProbe: status', () => {
  it('is up on a 2xx, with fields and timings', async () => {
    const result = await probe({ url: `${base}/ok` });
    expect(result).toMatchObject({ outcome: 'up', errorClass: null });
    expect(result.fields).toEqual({ status: 200, url: `${base}/ok`, redirects: 0, bytes: 27 });
    expect(result.detail).toMatch(/^200 OK in [\d.]+ ms$/);
    const t = result.timings ?? {};
    expect(t.totalMs).toBe(result.latencyMs);
    expect(t.dnsMs).toBeUndefined();
    for (const phase of [t.connectMs, t.firstByteMs]) expect(phase).toBeLessThanOrEqual(t.totalMs ?? 0);
  });

  it('measures DNS for a name', async () => {
    const result = await probe({ url: `http://localhost:${port}/ok` });
    expect(result.outcome).toBe('up');
    expect(result.timings?.dnsMs).toBeGreaterThanOrEqual(0);
  });

  it('is down (status) on a status outside the default 2xx', async () => {
    const result = await probe({ url: `${base}/status/503` });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'status', detail: 'status 503, expected 2xx' });
    expect(result.fields.status).toBe(503);
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it('accepts what expectStatus lists, 404 included', async () => {
    expect((await probe({ url: `${base}/status/404`, expectStatus: [200, 404] })).outcome).toBe('up');
    const result = await probe({ url: `${base}/ok`, expectStatus: [204] });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'status', detail: 'status 200, expected 204' });
  });
});

describe('httpProbe: body assertions', () => {
  it('checks bodyContains', async () => {
    expect((await probe({ url: `${base}/ok`, bodyContains: 'systems go' })).outcome).toBe('up');
    const result = await probe({ url: `${base}/ok`, bodyContains: 'all systems down' });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'assertion' });
    expect(result.detail).toBe('body does not contain "all systems down"; it starts "hello world, all systems go"');
  });

  it('checks bodyMatches', async () => {
    expect((await probe({ url: `${base}/ok`, bodyMatches: '^hello \\w+,' })).outcome).toBe('up');
    const result = await probe({ url: `${base}/ok`, bodyMatches: '^goodbye' });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'assertion' });
    expect(result.detail).toContain('body does not match /^goodbye/');
  });

  it('checks a JSONPath with and without equals', async () => {
    expect((await probe({ url: `${base}/json`, json: { path: '$.status', equals: 'ok' } })).outcome).toBe('up');
    expect((await probe({ url: `${base}/json`, json: { path: '$.version', equals: 3 } })).outcome).toBe('up');
    expect((await probe({ url: `${base}/json`, json: { path: '$.items[0].healthy', equals: true } })).outcome).toBe(
      'up',
    );
    expect((await probe({ url: `${base}/json`, json: { path: '$.items[?(@.name=="db")]' } })).outcome).toBe('up');

    const mismatch = await probe({ url: `${base}/json`, json: { path: '$.status', equals: 'degraded' } });
    expect(mismatch).toMatchObject({
      outcome: 'down',
      errorClass: 'assertion',
      detail: '$.status is "ok", expected "degraded"',
    });
    const typed = await probe({ url: `${base}/json`, json: { path: '$.version', equals: '3' } });
    expect(typed).toMatchObject({ outcome: 'down', errorClass: 'assertion', detail: '$.version is 3, expected "3"' });
    const missing = await probe({ url: `${base}/json`, json: { path: '$.nothing' } });
    expect(missing).toMatchObject({ outcome: 'down', errorClass: 'assertion', detail: '$.nothing matched nothing' });
    const notJson = await probe({ url: `${base}/ok`, json: { path: '$.status' } });
    expect(notJson).toMatchObject({ outcome: 'down', errorClass: 'assertion' });
    expect(notJson.detail).toContain('body is not JSON');
  });

  it('reads at most 1 MiB of body and then stops', async () => {
    const result = await probe({ url: `${base}/big`, bodyContains: 'aaaa' });
    expect(result.outcome).toBe('up');
    expect(result.fields).toMatchObject({ bytes: MAX_BODY_BYTES, truncated: true });
  });

  it('is down when the body is cut short', async () => {
    const result = await probe({ url: `${base}/cut` });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'protocol' });
    expect(result.detail).toContain('cut short');
  });
});

describe('httpProbe: requests and redirects', () => {
  it('sends method, headers and body', async () => {
    const result = await probe({
      url: `${base}/echo?x=1`,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Probe': 'yes' },
      body: '{"ping":"pong"}',
      json: { path: '$.body', equals: '{"ping":"pong"}' },
    });
    expect(result.outcome).toBe('up');
    const echoed = await probe({
      url: `${base}/echo`,
      method: 'PUT',
      headers: { 'X-Probe': 'yes' },
      body: 'é',
      json: { path: '$.headers["x-probe"]', equals: 'yes' },
    });
    expect(echoed.outcome).toBe('up');
    for (const [path, equals] of [
      ['$.method', 'PUT'],
      ['$.headers.connection', 'close'],
      ['$.headers["content-length"]', '2'],
      ['$.headers.host', `127.0.0.1:${port}`],
    ]) {
      const check = await probe({ url: `${base}/echo`, method: 'PUT', body: 'é', json: { path, equals } });
      expect(check).toMatchObject({ outcome: 'up' });
    }
  });

  it('follows redirects by default and reports the final URL', async () => {
    const result = await probe({ url: `${base}/redirect/3` });
    expect(result).toMatchObject({ outcome: 'up' });
    expect(result.fields).toMatchObject({ status: 200, url: `${base}/ok`, redirects: 3 });
    expect(result.detail).toContain('after 3 redirects');
  });

  it('turns a POST into a GET on 303', async () => {
    const result = await probe({
      url: `${base}/see-other`,
      method: 'POST',
      body: 'x',
      json: { path: '$.method', equals: 'GET' },
    });
    expect(result.outcome).toBe('up');
  });

  it('judges a 3xx by expectStatus when redirects are off', async () => {
    const off = await probe({ url: `${base}/redirect/1`, followRedirects: false });
    expect(off).toMatchObject({ outcome: 'down', errorClass: 'status', detail: 'status 302 to /ok, expected 2xx' });
    const expected = await probe({ url: `${base}/redirect/1`, followRedirects: false, expectStatus: [302] });
    expect(expected.outcome).toBe('up');
    expect(expected.fields).toMatchObject({ status: 302, redirects: 0 });
  });

  it('is down with a clear detail past maxRedirects', async () => {
    const result = await probe({ url: `${base}/redirect/5`, maxRedirects: 2 });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'status' });
    expect(result.detail).toBe(`too many redirects: stopped after 2 (302 to ${base}/redirect/2)`);
    expect((await probe({ url: `${base}/redirect/2`, maxRedirects: 2 })).outcome).toBe('up');
  });

  it('opens a fresh connection for every probe', async () => {
    const before = connections;
    await probe({ url: `${base}/ok` });
    await probe({ url: `${base}/ok` });
    expect(connections - before).toBe(2);
  });

  it('connects to connectTo with the URL host in the Host header', async () => {
    const result = await probe({
      url: `http://portal.test:${port}/echo`,
      connectTo: '127.0.0.1',
      json: { path: '$.headers.host', equals: `portal.test:${port}` },
    });
    expect(result.outcome).toBe('up');
    const without = await probe({ url: `http://portal.test:${port}/echo` });
    expect(without).toMatchObject({ outcome: 'down', errorClass: 'dns' });
  });

  it('binds the local address', async () => {
    expect((await probe({ url: `${base}/ok` }, { ...ctx, localAddress: '127.0.0.1' })).outcome).toBe('up');
    const result = await probe({ url: `${base}/ok` }, { ...ctx, localAddress: '192.0.2.77' });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'connect' });
  });
});

describe('httpProbe: latency and failures', () => {
  it('is degraded over the latency budget', async () => {
    const result = await probe({ url: `${base}/slow`, latencyBudgetMs: 50 });
    expect(result).toMatchObject({ outcome: 'degraded', errorClass: null });
    expect(result.latencyMs).toBeGreaterThanOrEqual(140);
    expect(result.detail).toMatch(/took [\d.]+ ms, over the 50 ms budget/);
    expect(result.timings?.firstByteMs).toBeGreaterThanOrEqual(140);
  });

  it('answers by the deadline when the server never sends headers', async () => {
    const started = Date.now();
    const result = await probe({ url: `${base}/hang` }, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout', latencyMs: null });
    expect(result.detail).toContain('no answer within 300 ms (waiting for response headers');
  });

  it('closes its connection when it gives up', async () => {
    const open = new Set<Socket>();
    const server = createServer(() => {});
    server.on('connection', (socket: Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    const hanging = await pool.listen(server);
    const result = await probe({ url: `http://127.0.0.1:${hanging}/` }, { timeoutMs: 200 });
    expect(result.errorClass).toBe('timeout');
    for (let i = 0; i < 100 && open.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(open.size).toBe(0);
  });

  it('closes its connection after an answer even when the server keeps it open', async () => {
    const open = new Set<Socket>();
    const server = createNetServer((socket) => {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => open.delete(socket));
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    });
    const lingering = await pool.listen(server);
    const result = await probe({ url: `http://127.0.0.1:${lingering}/` });
    expect(result.outcome).toBe('up');
    await vi.waitFor(() => expect(open.size).toBe(0), { timeout: 10_000 });
  });

  it('answers by the deadline when the server accepts and never speaks', async () => {
    const silent = await pool.silent();
    const started = Date.now();
    const result = await probe({ url: `http://127.0.0.1:${silent}/` }, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
    const tls = await probe({ url: `https://127.0.0.1:${silent}/` }, { timeoutMs: 300 });
    expect(tls).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
  });

  it('ends early when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const result = await probe({ url: `${base}/hang` }, { timeoutMs: 10_000, signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
    expect(result.detail).toContain('aborted');
  });

  it('is down (connect) on a closed port and (dns) on a name that does not resolve', async () => {
    const refused = await probe({ url: `http://127.0.0.1:${await closedPort()}/` });
    expect(refused).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    const unresolved = await probe({ url: 'http://status.example.invalid/' });
    expect(unresolved).toMatchObject({ outcome: 'down', errorClass: 'dns' });
  });

  it('is down (protocol) when the server closes without answering', async () => {
    const { createServer: createNet } = await import('node:net');
    const closer = await pool.listen(createNet((socket) => socket.once('data', () => socket.destroy())));
    const result = await probe({ url: `http://127.0.0.1:${closer}/` });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'protocol' });
  });

  it('never throws for odd inputs', async () => {
    const odd = [
      { url: 'not a url' },
      { url: 'ftp://example.test/' },
      { url: `${base}/ok`, headers: { 'X-Bad': 'line\nbreak' } },
      { url: `${base}/ok`, headers: { 'Bad Header': 'x' } },
      { url: `${base}/ok`, bodyMatches: '(' },
      { url: `${base}/json`, json: { path: '$..[?(@.x' } },
      { url: `http://127.0.0.1:0/` },
      { url: `https://localhost:${port}/`, caFile: '/nonexistent.pem' },
    ] as unknown as HttpSpec[];
    for (const spec of odd) {
      const result = await httpProbe({ ...HttpSpec.parse({ url: base }), ...spec }, ctx);
      expect(ProbeResult.parse(result).outcome).toBe('down');
    }
    const noTime = await httpProbe(HttpSpec.parse({ url: `${base}/hang` }), { timeoutMs: 0 });
    expect(noTime).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
  });
});

describe('httpProbe: https', () => {
  const ports = { valid: 0, expired: 0, wrongHost: 0, expiringSoon: 0, portal: 0 };
  const hello = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ host: req.headers.host }));
  };
  beforeAll(async () => {
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await pool.https(pki[name], hello);
  });

  it('is up for a valid certificate trusted through caFile, with certificate fields', async () => {
    const result = await probe({ url: `https://localhost:${ports.valid}/`, caFile: pki.caFile });
    expect(result).toMatchObject({ outcome: 'up', errorClass: null });
    expect(result.fields).toMatchObject({ status: 200, certSubject: 'localhost', certIssuer: 'Failover Test CA' });
    expect(result.fields.daysToExpiry).toBeGreaterThanOrEqual(363);
    expect(result.timings?.tlsMs).toBeGreaterThanOrEqual(0);
    expect((await probe({ url: `https://127.0.0.1:${ports.valid}/`, caFile: pki.caFile })).outcome).toBe('up');
  });

  it('is down (tls) without caFile: untrusted', async () => {
    const result = await probe({ url: `https://localhost:${ports.valid}/` });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    expect(result.detail).toContain('not trusted');
  });

  it('is down (tls) for an expired certificate', async () => {
    const result = await probe({ url: `https://localhost:${ports.expired}/`, caFile: pki.caFile });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    expect(result.detail).toContain('certificate has expired');
  });

  it('is down (tls) for a certificate of another host', async () => {
    const result = await probe({ url: `https://localhost:${ports.wrongHost}/`, caFile: pki.caFile });
    expect(result).toMatchObject({
      outcome: 'down',
      errorClass: 'tls',
      detail: 'certificate is for other.test, not localhost',
    });
    expect(result.fields.certSubject).toBe('other.test');
  });

  it('is degraded for a certificate expiring within certExpiryWarnDays', async () => {
    const result = await probe({ url: `https://localhost:${ports.expiringSoon}/`, caFile: pki.caFile });
    expect(result).toMatchObject({ outcome: 'degraded', errorClass: null });
    expect(result.detail).toMatch(/certificate expires in [45] days/);
    const relaxed = await probe({
      url: `https://localhost:${ports.expiringSoon}/`,
      caFile: pki.caFile,
      certExpiryWarnDays: 2,
    });
    expect(relaxed.outcome).toBe('up');
  });

  it('uses the URL host for SNI, the certificate name and Host with connectTo', async () => {
    const result = await probe({
      url: `https://portal.test:${ports.portal}/`,
      connectTo: '127.0.0.1',
      caFile: pki.caFile,
      json: { path: '$.host', equals: `portal.test:${ports.portal}` },
    });
    expect(result).toMatchObject({ outcome: 'up' });
    expect(result.fields.certSubject).toBe('portal.test');
    const wrong = await probe({
      url: `https://portal.test:${ports.valid}/`,
      connectTo: '127.0.0.1',
      caFile: pki.caFile,
    });
    expect(wrong).toMatchObject({
      outcome: 'down',
      errorClass: 'tls',
      detail: 'certificate is for localhost, 127.0.0.1, not portal.test',
    });
  });
});
