/** The fields of an AWS SDK v3 error (or a Node network error) that say whether a retry may help. */
export interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** Errors every AWS service may answer when it is busy or briefly broken. */
const COMMON_RETRY_LATER = [
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
];
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * Whether retrying the same request later may help: the service's own "try later" error names (`retryNames`, beside
 * the common throttling and 5xx names), a server fault or 5xx/429 status, an SDK-marked retryable error, or a network
 * failure or timeout.
 */
export function isTransientAwsError(error: unknown, retryNames: Iterable<string> = []): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsErrorShape;
  const names = new Set([...COMMON_RETRY_LATER, ...retryNames]);
  if (typeof e.name === 'string' && (names.has(e.name) || NETWORK_NAMES.has(e.name))) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return e.$fault === 'server' || (typeof status === 'number' && (status >= 500 || status === 429));
}
