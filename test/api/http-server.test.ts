import { request as httpRequest } from 'node:http';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { PortInUseError, startHttpServer, type HttpServer } from '../../local/http-server.ts';
import { invokeLocally, type HttpRoute } from '../../shared/api/http-route.ts';
import { listenTcp } from '../support/ports.ts';

const events: APIGatewayProxyEventV2[] = [];
const echo: HttpRoute['handler'] = async (event) => {
  events.push(event);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true }) };
};

const routes: HttpRoute[] = [
  { method: 'GET', path: '/v1/things', handler: echo },
  { method: 'POST', path: '/v1/things', handler: echo },
  { method: 'GET', path: '/v1/things/{id}', handler: echo },
  { method: 'GET', path: '/v1/things/special', handler: async () => ({ statusCode: 200, body: 'special' }) },
  { method: 'DELETE', path: '/v1/things/{id}/parts/{part}', handler: echo },
  {
    method: 'GET',
    path: '/v1/binary',
    handler: async () => ({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'X-Custom': 'yes' },
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
      cookies: ['a=1; Path=/', 'b=2; Path=/'],
    }),
  },
  {
    method: 'GET',
    path: '/v1/boom',
    handler: async () => {
      throw new Error('database password is hunter2 at /srv/app.ts:12');
    },
  },
];

let server: HttpServer;
const errors: unknown[] = [];
beforeAll(async () => {
  server = await startHttpServer({ port: 0, routes, maxBodyBytes: 1024, onError: (e) => errors.push(e) });
});
afterAll(() => server?.close());

const last = () => events.at(-1)!;

describe('startHttpServer', () => {
  it('turns a request into an API Gateway HTTP API (2.0) event', async () => {
    const res = await fetch(`${server.url}/v1/things?b=2&a=1&a=3&e=%C3%A9`, {
      headers: { 'X-Mixed-Case': 'Value', cookie: 'session=abc; theme=dark', 'user-agent': 'test-agent' },
    });
    expect(res.status).toBe(200);
    const e = last();
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/things',
      rawPath: '/v1/things',
      rawQueryString: 'b=2&a=1&a=3&e=%C3%A9',
      queryStringParameters: { a: '1,3', b: '2', e: 'é' },
      cookies: ['session=abc', 'theme=dark'],
      isBase64Encoded: false,
      requestContext: {
        http: {
          method: 'GET',
          path: '/v1/things',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'test-agent',
        },
        routeKey: 'GET /v1/things',
        stage: '$default',
      },
    });
    expect(e.headers['x-mixed-case']).toBe('Value');
    expect(e.headers.cookie).toBeUndefined();
    expect(e.body).toBeUndefined();
    expect(e.pathParameters).toBeUndefined();
    expect(e.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('fills path parameters from the template, percent-decoded, and prefers literal segments', async () => {
    await fetch(`${server.url}/v1/things/hq.17/parts/a%20b`, { method: 'DELETE' });
    expect(last().pathParameters).toEqual({ id: 'hq.17', part: 'a b' });
    expect(last().routeKey).toBe('DELETE /v1/things/{id}/parts/{part}');
    expect(await (await fetch(`${server.url}/v1/things/special`)).text()).toBe('special');
  });

  it('passes text bodies as text and other bodies base64-encoded', async () => {
    await fetch(`${server.url}/v1/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
    });
    expect(last()).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
    await fetch(`${server.url}/v1/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 159, 146, 150]),
    });
    expect(last()).toMatchObject({ body: Buffer.from([0, 159, 146, 150]).toString('base64'), isBase64Encoded: true });
  });

  it('writes the structured result back: status, headers, cookies, base64 bodies decoded', async () => {
    const res = await fetch(`${server.url}/v1/binary`);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0, 1, 2, 255]);
  });

  it('answers 404 and 405 problems for unknown paths and methods', async () => {
    const missing = await fetch(`${server.url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ status: 404, title: 'Not Found', instance: '/v1/nothing' });
    const wrong = await fetch(`${server.url}/v1/things`, { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect((await fetch(`${server.url}/v1/things/`)).status).toBe(404);
  });

  it('answers a bare 500 problem when a handler throws, telling onError and not the caller', async () => {
    const res = await fetch(`${server.url}/v1/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(/hunter2|app\.ts|Error:/);
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: 'internal-error' });
    expect(String(errors.at(-1))).toContain('hunter2');
  });

  it('refuses a body over the limit with 413 while it streams, and keeps serving', async () => {
    const big = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/v1/things`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('x'.repeat(512));
      req.end();
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ status: 413, title: 'Content Too Large' });
    const count = events.length;
    expect((await fetch(`${server.url}/v1/things`, { method: 'POST', body: 'small' })).status).toBe(200);
    expect(events.length).toBe(count + 1);
  });

  it('refuses a client that expects 100-continue before it sends the body', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/things`, {
        method: 'POST',
        headers: { expect: '100-continue', 'content-length': '5000', 'content-type': 'text/plain' },
      });
      req.on('continue', () => reject(new Error('the server asked for the body')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', () => undefined);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });

  it('hands WebSocket upgrades to the upgrade hook', async () => {
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
    const ws2 = await startHttpServer({
      port: 0,
      routes,
      upgrade: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const client = new WebSocket(`${ws2.url.replace('http', 'ws')}/v1/agent/ws`);
        client.on('open', () => client.send('hi'));
        client.on('message', (m) => {
          resolve(String(m));
          client.close();
        });
        client.on('error', reject);
      });
      expect(reply).toBe('echo hi');
      expect((await fetch(`${ws2.url}/v1/things`)).status).toBe(200);
    } finally {
      wss.close();
      await ws2.close();
    }
  });

  it('names the port and the option to change it when the port is taken', async () => {
    const taken = await listenTcp(0);
    const port = (taken.address() as { port: number }).port;
    try {
      const error = await startHttpServer({ port, routes }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toBe(`API port ${port} is in use; pass --api-port`);
      const agent = await startHttpServer({ port, routes, portLabel: 'Agent', portOption: '--agent-port' }).catch(
        (e: unknown) => e,
      );
      expect((agent as Error).message).toBe(`Agent port ${port} is in use; pass --agent-port`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('closes with connections still open', async () => {
    const s = await startHttpServer({ port: 0, routes });
    const res = await fetch(`${s.url}/v1/things`, { headers: { connection: 'keep-alive' } });
    await res.text();
    await s.close();
    await expect(fetch(`${s.url}/v1/things`)).rejects.toThrow();
  });

  it('closes with an upgraded connection (a WebSocket) still open, which it drops', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const s = await startHttpServer({
      port: 0,
      routes,
      upgrade: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
    });
    const client = new WebSocket(`${s.url.replace('http', 'ws')}/v1/agent/ws`);
    try {
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      const dropped = new Promise((resolve) => client.once('close', resolve));
      const closed = await Promise.race([
        s.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000)),
      ]);
      expect(closed).toBe('closed');
      await dropped;
    } finally {
      client.terminate();
      wss.close();
    }
  });
});

describe('invokeLocally', () => {
  it('gives a middy handler a Lambda context with a deadline', async () => {
    const seen: Context[] = [];
    const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (_e, context) => {
      seen.push(context);
      return { statusCode: 204 };
    });
    const out = await invokeLocally(handler, events[0]!, 'failover-api');
    expect(out).toEqual({ statusCode: 204 });
    expect(seen[0]).toMatchObject({ functionName: 'failover-api' });
    expect(seen[0]!.getRemainingTimeInMillis()).toBeGreaterThan(25_000);
    expect(seen[0]!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
