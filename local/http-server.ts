import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRoute } from '../shared/api/http-route.ts';
import { listen } from '../shared/api/listen.ts';
import { HttpProblem, internalProblem, problemResponse } from '../shared/api/problem.ts';
import { findRoute } from '../shared/api/route-match.ts';
import { FailoverError } from '../shared/errors.ts';

/** The API's body limit: larger bodies are refused with 413 before they are read. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export interface HttpServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly routes: readonly HttpRoute[];
  /** Takes over WebSocket upgrade requests (the agent endpoint); without it they are refused. */
  readonly upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** @default DEFAULT_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** What the port serves and the option that changes it, for the port-in-use error. @default API, --api-port */
  readonly portLabel?: string;
  readonly portOption?: string;
  /** Told about a handler that threw (its caller got a bare 500). */
  readonly onError?: (error: unknown, route: HttpRoute) => void;
  /** Server-sent event streams (`GET`), served beside the routes. */
  readonly streams?: readonly EventStreamRoute[];
}

/**
 * A `GET` route that answers with a stream of server-sent events (`text/event-stream`) instead of one response:
 * `accept` sees the request as a route handler would and answers 200 to open the stream, anything else to refuse.
 */
export interface EventStreamRoute {
  readonly path: string;
  readonly accept: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
  /** Starts sending events to one client; returns what stops it (called when the client goes away). */
  readonly subscribe: (send: (event: string, data: unknown) => void) => () => void;
}

/** How often an idle event stream gets a comment line, so that proxies and clients see it is alive. */
export const EVENT_STREAM_KEEPALIVE_MS = 15_000;
// A client that reads slower than this much pending output is dropped; it reconnects and fetches the state again.
const EVENT_STREAM_MAX_BUFFER = 1024 * 1024;

/** A running local HTTP server. */
export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>` */
  readonly url: string;
  /** Stops listening and closes every connection, idle or not, upgraded ones (WebSockets) dropped: close those first. */
  close(): Promise<void>;
}

/** The port the server was asked to listen on is taken. */
export class PortInUseError extends FailoverError {
  readonly port: number;

  constructor(label: string, port: number, option: string, options?: { cause?: unknown }) {
    super('PORT_IN_USE', `${label} port ${port} is in use; pass ${option}`, options);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

// After a refused body, what is still coming is read and thrown away (never kept) up to these bounds, so that the
// client reads the 413 instead of a connection reset; past them the socket is destroyed.
const DISCARD_MAX_BYTES = 4 * 1024 * 1024;
const DISCARD_MAX_MS = 5_000;

/**
 * Serves `routes` the way API Gateway's HTTP API serves Lambda integrations: each request becomes an
 * APIGatewayProxyEventV2 (headers lower-cased, path parameters from the template, the body base64-encoded unless
 * it is text) and the handler's structured result is written back. Unknown paths get a 404 problem, a known path
 * with another method a 405 with Allow, and a body over `maxBodyBytes` a 413 without being read.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const streams = new Map<HttpRoute, EventStreamRoute>();
  for (const stream of options.streams ?? [])
    streams.set({ method: 'GET', path: stream.path, handler: stream.accept }, stream);
  const routes = [...options.routes, ...streams.keys()];

  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) write(res, problemResponse(internalProblem(error)));
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQueryString = q === -1 ? '' : target.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    const lookup = findRoute(routes, method, rawPath);
    if (!lookup.found) {
      const problem =
        lookup.allowed.length > 0
          ? new HttpProblem(405, `${method} is not allowed on ${rawPath}`, {
              headers: { allow: lookup.allowed.join(', ') },
            })
          : new HttpProblem(404, `no route ${rawPath}`, { code: 'no-route' });
      return write(res, problemResponse(problem, { instance: rawPath }));
    }
    const { route, params } = lookup.found;
    const requestId = randomUUID();
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too-large') {
      refuseBody(req);
      return write(res, tooLarge(maxBodyBytes, rawPath, requestId));
    }
    const event = toEvent(req, { rawPath, rawQueryString, method, route, params, requestId, body });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await route.handler(event);
    } catch (error) {
      options.onError?.(error, route);
      result = problemResponse(internalProblem(error), { instance: rawPath, requestId });
    }
    const stream = streams.get(route);
    if (stream && result.statusCode === 200) return openStream(req, res, stream);
    write(res, result);
  }

  // Clients that ask before sending (Expect: 100-continue) are refused before a byte of the body moves.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredLength(req) > maxBodyBytes) {
      write(res, tooLarge(maxBodyBytes, (req.url ?? '/').split('?')[0]!, randomUUID()));
      refuseBody(req);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  // Upgraded sockets leave the server's connection list but keep server.close() waiting: close() drops them.
  const upgraded = new Set<Duplex>();
  const upgrade = options.upgrade;
  if (upgrade)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      upgrade(req, socket, head);
    });
  else server.on('upgrade', (_req, socket: Duplex) => socket.destroy());

  return listen(
    server,
    host,
    options.port,
    (error) =>
      error.code === 'EADDRINUSE'
        ? new PortInUseError(options.portLabel ?? 'API', options.port, options.portOption ?? '--api-port', {
            cause: error,
          })
        : error,
    () => {
      for (const socket of upgraded) socket.destroy();
    },
  );
}

function openStream(req: IncomingMessage, res: ServerResponse, stream: EventStreamRoute): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });
  res.write('retry: 2000\n\n');
  const send = (text: string) => {
    if (res.writableLength > EVENT_STREAM_MAX_BUFFER) res.destroy();
    else res.write(text);
  };
  const stop = stream.subscribe((event, data) => send(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  const beat = setInterval(() => send(': keep-alive\n\n'), EVENT_STREAM_KEEPALIVE_MS);
  beat.unref();
  req.socket.setKeepAlive(true);
  res.once('close', () => {
    clearInterval(beat);
    stop();
  });
}

function tooLarge(maxBodyBytes: number, instance: string, requestId: string): APIGatewayProxyStructuredResultV2 {
  return problemResponse(new HttpProblem(413, `the request body is larger than ${maxBodyBytes} bytes`), {
    instance,
    requestId,
  });
}

function declaredLength(req: IncomingMessage): number {
  const value = req.headers['content-length'];
  return value === undefined ? 0 : Number(value);
}

/** The whole body, or 'too-large' as soon as it is known to exceed `limit` (from Content-Length, or while reading). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  if (declaredLength(req) > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Reads and drops what is left of a refused body, within bounds (see DISCARD_MAX_BYTES). */
function refuseBody(req: IncomingMessage): void {
  let discarded = 0;
  const socket: Socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), DISCARD_MAX_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_MAX_BYTES) socket.destroy();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml))\b)/i;

/** Whether API Gateway passes a body of this media type as text (otherwise it is base64-encoded). */
export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_TYPES.test(contentType.trim());
}

function toEvent(
  req: IncomingMessage,
  r: {
    rawPath: string;
    rawQueryString: string;
    method: string;
    route: HttpRoute;
    params: Record<string, string>;
    requestId: string;
    body: Buffer;
  },
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(';').map((c) => c.trim())];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  // Joined in a Map and made own properties: assigning `__proto__` (or reading `constructor`) on a plain object would
  // drop the parameter or garble it, and the handler could not refuse it.
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(r.rawQueryString)) {
    const seen = joined.get(name);
    joined.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  const queryStringParameters: Record<string, string> = Object.fromEntries(joined);
  const now = new Date();
  // API Gateway passes text bodies as strings; bytes that are not UTF-8 are passed base64-encoded instead, so that the
  // handler sees them as they came (and refuses them) rather than a lossy decoding.
  const text = isTextContentType(headers['content-type']) && isUtf8(r.body);
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const routeKey = `${r.route.method} ${r.route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: r.rawPath,
    rawQueryString: r.rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    ...(Object.keys(r.params).length > 0 ? { pathParameters: r.params } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method: r.method,
        path: r.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: r.requestId,
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(r.body.length > 0 ? { body: text ? r.body.toString('utf8') : r.body.toString('base64') } : {}),
    isBase64Encoded: r.body.length > 0 && !text,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, as API Gateway writes requestContext.time. */
function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function write(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const body =
    result.body === undefined
      ? undefined
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : Buffer.from(result.body, 'utf8');
  if (body) headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}
