import type { ErrorClass, ProbeFields, ProbeResult, Timings } from '../contracts/observation.ts';

/** Milliseconds since `start` (from performance.now()), rounded to 0.1 ms. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

export function up(latencyMs: number | null, detail: string, fields: ProbeFields = {}, timings?: Timings): ProbeResult {
  return { outcome: 'up', latencyMs, errorClass: null, detail, fields, ...(timings ? { timings } : {}) };
}

export function degraded(
  latencyMs: number | null,
  detail: string,
  fields: ProbeFields = {},
  timings?: Timings,
): ProbeResult {
  return { outcome: 'degraded', latencyMs, errorClass: null, detail, fields, ...(timings ? { timings } : {}) };
}

export function down(
  errorClass: ErrorClass,
  detail: string,
  latencyMs: number | null = null,
  fields: ProbeFields = {},
  timings?: Timings,
): ProbeResult {
  return { outcome: 'down', latencyMs, errorClass, detail, fields, ...(timings ? { timings } : {}) };
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EAI_FAIL']);
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EPIPE',
  'ECONNABORTED',
  'EADDRINUSE',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ABORT_ERR', 'UND_ERR_CONNECT_TIMEOUT']);

/** Maps a Node.js network error to the layer that failed. */
export function classifyError(error: unknown): ErrorClass {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (DNS_CODES.has(code)) return 'dns';
    if (CONNECT_CODES.has(code)) return 'connect';
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code.includes('_SIGNED_'))
      return 'tls';
    if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') return 'tls';
  }
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return 'timeout';
  return 'protocol';
}

/** A short, single-line description of an error for a result's detail. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message.split('\n')[0] ?? '';
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
