import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/** One header line as received or to be sent; names keep their spelling, lookups ignore case and compact forms. */
export type SipHeader = readonly [name: string, value: string];

export interface SipRequest {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
}

export interface SipResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** A parsed Via header value (RFC 3261 20.42). */
export interface SipVia {
  /** `UDP`, `TCP`, `TLS`, ... upper-cased. */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  /** Parameters in order; a flag parameter such as `rport` has the value `null`. */
  readonly params: ReadonlyArray<readonly [name: string, value: string | null]>;
}

/** Thrown by the parsers on input that is not a SIP message; callers turn it into a result or a 400. */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly code = 'SIP_PARSE';
}

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  e: 'content-encoding',
  k: 'supported',
  s: 'subject',
};

/** Reason phrases for the status codes the probe and the responder print or send. */
export const SIP_REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  483: 'Too Many Hops',
  486: 'Busy Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  600: 'Busy Everywhere',
  603: 'Decline',
};

/** The usual reason phrase of a status code, or a generic one for its class. */
export function reasonPhrase(status: number): string {
  return SIP_REASONS[status] ?? (status < 200 ? 'Provisional' : status < 300 ? 'Success' : 'Error');
}

/** Header lines and Content-Length bigger than these are refused rather than buffered. */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** All values of a header, in order; comma-separated values of Via, Contact etc. are not split here. */
export function headerValues(message: Pick<SipMessage, 'headers'>, name: string): string[] {
  const wanted = canonicalName(name);
  return message.headers.filter(([n]) => canonicalName(n) === wanted).map(([, v]) => v);
}

/** The first value of a header, if present. */
export function header(message: Pick<SipMessage, 'headers'>, name: string): string | undefined {
  return headerValues(message, name)[0];
}

/** Splits a header value on commas that are outside quotes and angle brackets (Via: a, b). */
export function splitCommas(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** Every Via value of a message, top-most first, with multi-value lines split. */
export function viaValues(message: Pick<SipMessage, 'headers'>): string[] {
  return headerValues(message, 'via').flatMap(splitCommas);
}

/** Parses one Via value such as `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport`. */
export function parseVia(value: string): SipVia {
  const m = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+([^;\s]+)\s*(.*)$/is.exec(value);
  if (!m) throw new SipParseError(`bad Via: ${value.slice(0, 80)}`);
  const transport = m[1]!.toUpperCase();
  const sentBy = m[2]!;
  let host: string;
  let portText: string | undefined;
  if (sentBy.startsWith('[')) {
    const end = sentBy.indexOf(']');
    if (end < 0) throw new SipParseError(`bad Via host: ${sentBy}`);
    host = sentBy.slice(1, end);
    const rest = sentBy.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new SipParseError(`bad Via host: ${sentBy}`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = sentBy.lastIndexOf(':');
    host = colon < 0 ? sentBy : sentBy.slice(0, colon);
    portText = colon < 0 ? undefined : sentBy.slice(colon + 1);
  }
  const port = portText === undefined ? undefined : Number(portText);
  if (host === '' || (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))) {
    throw new SipParseError(`bad Via sent-by: ${sentBy}`);
  }
  const params = (m[3] ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p): readonly [string, string | null] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p.toLowerCase(), null] : [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim()];
    });
  return { transport, host, port, params };
}

/** Serializes a Via back to text. */
export function formatVia(via: SipVia): string {
  const params = via.params.map(([n, v]) => (v === null ? `;${n}` : `;${n}=${v}`)).join('');
  return `SIP/2.0/${via.transport} ${hostPort(via.host, via.port)}${params}`;
}

/** The value of a Via parameter: undefined when absent, null when present without a value. */
export function viaParam(via: SipVia, name: string): string | null | undefined {
  const found = via.params.find(([n]) => n === name.toLowerCase());
  return found ? found[1] : undefined;
}

/** `host:port` with IPv6 literals in brackets; the port is left out when undefined. */
export function hostPort(host: string, port?: number): string {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** The CSeq header as number and method. */
export function parseCSeq(value: string | undefined): { seq: number; method: string } | undefined {
  const m = value === undefined ? null : /^\s*(\d{1,10})\s+([A-Za-z!%*_+`'~.-]+)\s*$/.exec(value);
  return m ? { seq: Number(m[1]), method: m[2]!.toUpperCase() } : undefined;
}

/** The value of a `;name=value` parameter in a From/To header (outside the URI's angle brackets). */
export function headerParam(value: string, name: string): string | undefined {
  const end = value.lastIndexOf('>');
  const params = (end >= 0 ? value.slice(end + 1) : value.slice(value.indexOf(';'))).split(';').slice(1);
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === name.toLowerCase()) return p.slice(eq + 1).trim();
  }
  return undefined;
}

/** A random token for branch ids, tags and Call-IDs. */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

const REQUEST_LINE = /^([A-Za-z!%*_+`'~.-]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/;

function parseHead(head: string, body: Buffer): SipMessage {
  // Header folding (obsolete, RFC 3261 7.3.1): a line starting with white space continues the previous one.
  const lines = head.split(/\r?\n/);
  const start = lines.shift() ?? '';
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`bad header line: ${line.slice(0, 80)}`);
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9!%*_+`'~.-]+$/.test(name)) throw new SipParseError(`bad header name: ${name.slice(0, 80)}`);
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  const status = STATUS_LINE.exec(start);
  if (status) return { kind: 'response', status: Number(status[1]), reason: status[2] ?? '', headers, body };
  const request = REQUEST_LINE.exec(start);
  if (request) return { kind: 'request', method: request[1]!.toUpperCase(), uri: request[2]!, headers, body };
  throw new SipParseError(`bad start line: ${start.slice(0, 80)}`);
}

function findHeadEnd(buf: Buffer, from = 0): { end: number; sep: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', from);
  const lf = buf.indexOf('\n\n', from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { end: crlf, sep: 4 };
  if (lf >= 0) return { end: lf, sep: 2 };
  return undefined;
}

function contentLength(head: string, required: boolean): number {
  const m = /^(?:content-length|l)[ \t]*:[ \t]*(\S*)/im.exec(head);
  if (!m) {
    if (required) return 0; // RFC 3261 18.3: mandatory on streams, but treating a missing one as 0 is the lenient read.
    return -1;
  }
  const n = Number(m[1]);
  if (!/^\d+$/.test(m[1] ?? '') || n > MAX_BODY_BYTES) throw new SipParseError(`bad Content-Length: ${m[1]}`);
  return n;
}

function skipLeadingCrlf(buf: Buffer): Buffer {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i === 0 ? buf : buf.subarray(i);
}

/**
 * Parses one datagram as a SIP message (RFC 3261 7). Throws {@link SipParseError} on anything else.
 * Over UDP the body is the rest of the datagram, cut to Content-Length when that is shorter.
 */
export function parseSipMessage(datagram: Buffer | string): SipMessage {
  const buf = skipLeadingCrlf(typeof datagram === 'string' ? Buffer.from(datagram) : datagram);
  const found = findHeadEnd(buf);
  const headEnd = found?.end ?? buf.length;
  if (headEnd > MAX_HEADER_BYTES) throw new SipParseError('header too large');
  const head = buf.subarray(0, headEnd).toString('utf8');
  let body = found ? buf.subarray(found.end + found.sep) : Buffer.alloc(0);
  const length = contentLength(head, false);
  if (length > body.length) throw new SipParseError('body shorter than Content-Length');
  if (length >= 0) body = body.subarray(0, length);
  return parseHead(head, Buffer.from(body));
}

/**
 * Frames SIP messages out of a byte stream (TCP, TLS) by Content-Length (RFC 3261 18.3). Feed it chunks as they
 * arrive; it returns every message completed so far and keeps the rest. Throws {@link SipParseError} when the
 * stream cannot be framed; the connection should then be closed.
 */
export class SipStreamParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SipMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: SipMessage[] = [];
    for (;;) {
      // Leading CRLFs are keep-alives (RFC 5626 4.4.1) and never part of a message.
      this.buffer = skipLeadingCrlf(this.buffer);
      const found = findHeadEnd(this.buffer);
      if (!found) {
        if (this.buffer.length > MAX_HEADER_BYTES) throw new SipParseError('header too large');
        return messages;
      }
      if (found.end > MAX_HEADER_BYTES) throw new SipParseError('header too large');
      const head = this.buffer.subarray(0, found.end).toString('utf8');
      const length = contentLength(head, true);
      const bodyStart = found.end + found.sep;
      if (this.buffer.length < bodyStart + length) return messages;
      const body = Buffer.from(this.buffer.subarray(bodyStart, bodyStart + length));
      this.buffer = this.buffer.subarray(bodyStart + length);
      messages.push(parseHead(head, body));
    }
  }
}

/** Serializes a message; Content-Length is set from the body (any given one is replaced). */
export function serializeSipMessage(message: SipMessage): Buffer {
  const start =
    message.kind === 'request'
      ? `${message.method} ${message.uri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [start];
  for (const [name, value] of message.headers) {
    if (canonicalName(name) !== 'content-length') lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${message.body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), message.body]);
}

/** What the probe needs to build one OPTIONS request. */
export interface OptionsRequestInit {
  readonly requestUri: string;
  /** `UDP`, `TCP` or `TLS`. */
  readonly transport: string;
  readonly localHost: string;
  readonly localPort: number;
  readonly fromUser: string;
  readonly branch: string;
  readonly fromTag: string;
  readonly callId: string;
  readonly cseq?: number;
}

/** Builds an OPTIONS request as RFC 3261 11.1 describes it, with `rport` (RFC 3581) in the Via. */
export function buildOptionsRequest(init: OptionsRequestInit): SipRequest {
  const local = hostPort(init.localHost);
  const scheme = init.requestUri.toLowerCase().startsWith('sips:') ? 'sips' : 'sip';
  const transportParam = init.transport === 'UDP' ? '' : `;transport=${init.transport === 'TLS' ? 'tls' : 'tcp'}`;
  return {
    kind: 'request',
    method: 'OPTIONS',
    uri: init.requestUri,
    headers: [
      ['Via', `SIP/2.0/${init.transport} ${hostPort(init.localHost, init.localPort)};branch=${init.branch};rport`],
      ['Max-Forwards', '70'],
      ['To', `<${init.requestUri}>`],
      ['From', `<sip:${init.fromUser}@${local}>;tag=${init.fromTag}`],
      ['Call-ID', init.callId],
      ['CSeq', `${init.cseq ?? 1} OPTIONS`],
      ['Contact', `<${scheme}:${init.fromUser}@${hostPort(init.localHost, init.localPort)}${transportParam}>`],
      ['Accept', 'application/sdp'],
      ['User-Agent', 'failover-probe'],
    ],
    body: Buffer.alloc(0),
  };
}
