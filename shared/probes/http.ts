import { request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { JSONPath } from 'jsonpath-plus';
import type { HttpSpec } from '../config/checks.ts';
import type { ProbeFields, ProbeResult } from '../contracts/observation.ts';
import { expiryWarning, type CertSummary } from './cert.ts';
import { degraded, describeError, down, since, up } from './result.ts';
import { abortError, budgetWarning, ProbeFailure, runAttempt, type Attempt, type AttemptSignal } from './attempt.ts';
import { connectTcp } from './tcp.ts';
import { certFields, connectTls } from './tls.ts';
import type { Probe, ProbeContext } from './types.ts';

/** Bytes of body read for the assertions; the rest is not downloaded. */
export const MAX_BODY_BYTES = 1024 * 1024;
const USER_AGENT = 'failover-probe/1';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SNIPPET = 80;

interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

interface HopResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly truncated: boolean;
  /** The peer certificate, for https. */
  readonly cert: CertSummary | null;
}

/**
 * HTTP(S) probe: one request on a fresh connection (no keep-alive), following redirects when asked, then judges the
 * status (`expectStatus`, default 2xx), the body (`bodyContains`, `bodyMatches`, `json`), the certificate (https:
 * trusted, valid, right name, not expiring within `certExpiryWarnDays`) and the latency budget. Latency is the total
 * time; timings are the phases of the last request (`firstByteMs` = request sent to response headers). `connectTo`
 * applies to every request to the URL's own hostname (redirects to other hosts connect to those).
 */
export const httpProbe: Probe<HttpSpec> = (spec, ctx) =>
  runAttempt(ctx, async (attempt) => {
    let url: URL;
    try {
      url = parsedUrl(spec);
    } catch {
      return down('protocol', `invalid URL: ${truncate(String(spec.url))}`, null);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return down('protocol', `unsupported URL scheme ${url.protocol}`, null);
    }
    const originHost = url.hostname;
    let hop: Hop = { url, method: spec.method, headers: { ...spec.headers }, body: spec.body };
    let redirects = 0;
    const willFollow = (status: number, headers: IncomingHttpHeaders): boolean =>
      spec.followRedirects && REDIRECTS.has(status) && typeof headers.location === 'string';
    for (;;) {
      const connectTo = spec.connectTo && hop.url.hostname === originHost ? spec.connectTo : undefined;
      const result = await exchange(hop, { spec, ctx, connectTo, redirects, willFollow }, attempt);
      const location = result.headers.location;
      if (!willFollow(result.status, result.headers) || location === undefined) {
        return judge(spec, hop.url, redirects, result, attempt);
      }
      let next: URL;
      try {
        next = new URL(location, hop.url);
      } catch {
        return down('protocol', `invalid redirect Location: ${truncate(location)}`, since(attempt.start));
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        return down('protocol', `redirect to unsupported scheme ${next.protocol}`, since(attempt.start));
      }
      if (redirects >= spec.maxRedirects) {
        const latency = since(attempt.start);
        const fields: ProbeFields = { status: result.status, url: hop.url.href, redirects };
        return down(
          'status',
          `too many redirects: stopped after ${spec.maxRedirects} (${result.status} to ${truncate(next.href)})`,
          latency,
          fields,
          { ...attempt.timings, totalMs: latency },
        );
      }
      redirects += 1;
      hop = redirectHop(hop, next, result.status);
    }
  });

/** The request that follows a redirect: 301-303 turn into a GET without body (except HEAD); 307/308 repeat it. */
function redirectHop(hop: Hop, next: URL, status: number): Hop {
  const becomesGet =
    (status === 303 && hop.method !== 'HEAD') || ((status === 301 || status === 302) && hop.method === 'POST');
  const headers = { ...hop.headers };
  for (const key of Object.keys(headers)) {
    const lower = key.toLowerCase();
    if (next.origin !== hop.url.origin && (lower === 'authorization' || lower === 'cookie')) delete headers[key];
    if (becomesGet && (lower === 'content-type' || lower === 'content-length')) delete headers[key];
  }
  return { url: next, method: becomesGet ? 'GET' : hop.method, headers, body: becomesGet ? undefined : hop.body };
}

interface ExchangeOptions {
  readonly spec: HttpSpec;
  readonly ctx: ProbeContext;
  readonly connectTo: string | undefined;
  readonly redirects: number;
  readonly willFollow: (status: number, headers: IncomingHttpHeaders) => boolean;
}

/** One request and response on its own connection; the body is read unless the response will be followed. */
async function exchange(hop: Hop, options: ExchangeOptions, attempt: Attempt): Promise<HopResult> {
  const { spec, ctx } = options;
  const https = hop.url.protocol === 'https:';
  const hostname = unbracket(hop.url.hostname);
  const port = hop.url.port ? Number(hop.url.port) : https ? 443 : 80;
  const target = { host: options.connectTo ?? hostname, port, localAddress: ctx.localAddress };
  attempt.timings = {};
  let socket: Socket;
  let cert: CertSummary | null = null;
  if (https) {
    const conn = await connectTls({ ...target, servername: hostname, caFile: spec.caFile }, attempt);
    socket = conn.socket;
    cert = conn.cert;
    if (!conn.authorized) {
      socket.destroy();
      const fields = { url: hop.url.href, redirects: options.redirects, ...certFields(conn.cert) };
      throw new ProbeFailure('tls', conn.problem ?? 'certificate not trusted', fields);
    }
  } else {
    socket = await connectTcp(target, attempt);
  }
  let answered = false;
  try {
    attempt.phase = `waiting for response headers from ${hop.url.host}`;
    const sent = performance.now();
    const response = await send(socket, hop, attempt.signal);
    attempt.timings.firstByteMs = since(sent);
    const status = response.statusCode ?? 0;
    if (options.willFollow(status, response.headers)) {
      response.resume();
      answered = true;
      return {
        status,
        statusText: response.statusMessage ?? '',
        headers: response.headers,
        body: Buffer.alloc(0),
        truncated: false,
        cert,
      };
    }
    attempt.phase = `reading the body from ${hop.url.host}`;
    const { body, truncated } = await readBody(response, attempt.signal);
    answered = !truncated;
    return { status, statusText: response.statusMessage ?? '', headers: response.headers, body, truncated, cert };
  } finally {
    closeSocket(socket, answered);
  }
}

/**
 * After a complete exchange the socket is ended (our FIN) and closed once that is flushed: in the probe benchmark this
 * halves the cost of closing it, against destroy() of a socket whose write side is still open. Anything else is
 * destroyed at once, so that a peer that stopped reading never holds a socket.
 */
function closeSocket(socket: Socket, answered: boolean): void {
  if (answered && socket.writable) socket.destroySoon();
  else socket.destroy();
}

function send(socket: Socket, hop: Hop, signal: AttemptSignal): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*' };
    for (const [key, value] of Object.entries(hop.headers)) headers[key.toLowerCase()] = value;
    headers.host ??= hop.url.host;
    headers.connection = 'close';
    if (hop.body !== undefined) headers['content-length'] = String(Buffer.byteLength(hop.body));
    const onAbort = (): void => {
      socket.destroy();
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let req: ClientRequest;
    try {
      req = request({
        createConnection: () => socket,
        host: unbracket(hop.url.hostname),
        method: hop.method,
        path: hop.url.pathname + hop.url.search,
        headers,
      });
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      return reject(new ProbeFailure('protocol', `invalid request: ${describeError(error)}`, {}, { cause: error }));
    }
    // Errors after the answer (the socket is destroyed once the body is read) must not crash the process.
    req.on('error', () => {});
    req.once('error', (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(responseFailure(error));
    });
    req.once('response', (response: IncomingMessage) => {
      signal.removeEventListener('abort', onAbort);
      response.on('error', () => {});
      resolve(response);
    });
    req.end(hop.body);
  });
}

function responseFailure(error: Error): ProbeFailure {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new ProbeFailure('protocol', 'connection closed before the response headers', {}, { cause: error });
  }
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return new ProbeFailure('protocol', `invalid HTTP response: ${describeError(error)}`, {}, { cause: error });
  }
  return new ProbeFailure('protocol', `request failed: ${describeError(error)}`, {}, { cause: error });
}

function readBody(response: IncomingMessage, signal: AttemptSignal): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const finish = (truncated: boolean): void => {
      response.off('data', onData);
      response.off('end', onEnd);
      response.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve({ body: Buffer.concat(chunks, bytes), truncated });
    };
    const onData = (chunk: Buffer): void => {
      const room = MAX_BODY_BYTES - bytes;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        bytes += room;
        response.destroy();
        finish(true);
        return;
      }
      chunks.push(chunk);
      bytes += chunk.length;
    };
    const onEnd = (): void => finish(false);
    const onClose = (): void => {
      if (response.complete) return finish(false);
      signal.removeEventListener('abort', onAbort);
      reject(new ProbeFailure('protocol', `response body cut short after ${bytes} bytes`));
    };
    const onAbort = (): void => {
      response.destroy();
      reject(abortError(signal));
    };
    response.on('data', onData);
    response.once('end', onEnd);
    response.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Status, body assertions, certificate expiry and latency budget of the final response. */
function judge(spec: HttpSpec, url: URL, redirects: number, result: HopResult, attempt: Attempt): ProbeResult {
  const latency = since(attempt.start);
  const timings = { ...attempt.timings, totalMs: latency };
  const fields: ProbeFields = {
    status: result.status,
    url: url.href,
    redirects,
    bytes: result.body.length,
    ...(result.truncated ? { truncated: true } : {}),
    ...(result.cert ? certFields(result.cert) : {}),
  };
  const expected = spec.expectStatus;
  const statusOk = expected ? expected.includes(result.status) : result.status >= 200 && result.status < 300;
  if (!statusOk) {
    const want = expected ? (expected.length === 1 ? String(expected[0]) : `one of ${expected.join(', ')}`) : '2xx';
    const location = typeof result.headers.location === 'string' ? ` to ${truncate(result.headers.location)}` : '';
    return down('status', `status ${result.status}${location}, expected ${want}`, latency, fields, timings);
  }
  const failed = assertBody(spec, result);
  if (failed) return down('assertion', failed, latency, fields, timings);

  const detail =
    `${result.status} ${result.statusText}`.trim() +
    ` in ${latency} ms` +
    (redirects ? ` after ${redirects} redirect${redirects > 1 ? 's' : ''}` : '');
  const warnings = [
    result.cert ? expiryWarning(result.cert.daysToExpiry, spec.certExpiryWarnDays) : null,
    budgetWarning(latency, spec.latencyBudgetMs),
  ].filter((w): w is string => w !== null);
  return warnings.length > 0
    ? degraded(latency, `${detail}; ${warnings.join('; ')}`, fields, timings)
    : up(latency, detail, fields, timings);
}

/** The first failing body assertion, described as expected versus found; null when all pass. */
function assertBody(spec: HttpSpec, result: HopResult): string | null {
  if (spec.bodyContains === undefined && spec.bodyMatches === undefined && spec.json === undefined) return null;
  const text = result.body.toString('utf8');
  const cut = result.truncated ? ` (first ${MAX_BODY_BYTES} bytes read)` : '';
  if (spec.bodyContains !== undefined && !text.includes(spec.bodyContains)) {
    return `body does not contain ${quote(spec.bodyContains)}${cut}; it starts ${quote(text)}`;
  }
  if (spec.bodyMatches !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(spec.bodyMatches);
    } catch {
      return `invalid bodyMatches regular expression ${quote(spec.bodyMatches)}`;
    }
    if (!re.test(text)) return `body does not match /${truncate(spec.bodyMatches)}/${cut}; it starts ${quote(text)}`;
  }
  if (spec.json !== undefined) {
    const { path, equals } = spec.json;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return `body is not JSON${cut}; it starts ${quote(text)}`;
    }
    let matches: unknown[];
    try {
      matches = JSONPath({ path, json: json as object, wrap: true }) as unknown[];
    } catch (error) {
      return `JSONPath ${path} failed: ${truncate(describeError(error))}`;
    }
    if (!Array.isArray(matches) || matches.length === 0) return `${path} matched nothing`;
    if (equals !== undefined && matches[0] !== equals) {
      return `${path} is ${truncate(stringify(matches[0]))}, expected ${truncate(stringify(equals))}`;
    }
  }
  return null;
}

const urls = new WeakMap<HttpSpec, URL>();

/** The check's URL, parsed once per settings object (it is only read afterwards). */
function parsedUrl(spec: HttpSpec): URL {
  let url = urls.get(spec);
  if (!url) urls.set(spec, (url = new URL(spec.url)));
  return url;
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function stringify(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function quote(text: string): string {
  return JSON.stringify(truncate(text));
}

function truncate(text: string, max = SNIPPET): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
