import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FailoverError } from '../errors.ts';

/** The media type of every error the API answers (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Reason phrases of the statuses the API answers with; a problem's default `title`. */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** One invalid field of a request: where (`body.reason`, `query.limit`) and what is wrong with it. */
export interface ProblemIssue {
  readonly path: string;
  readonly message: string;
}

/** An RFC 9457 problem document, with the `code`, `errors` and `requestId` extension members. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  /** Stable, machine-readable kind of problem, e.g. `override-conflict`. */
  readonly code: string;
  readonly errors?: readonly ProblemIssue[];
  readonly requestId?: string;
  /** A 409 of a site command: the site as it is now. */
  readonly current?: unknown;
  /** A 409 of a brake release: the brake as it is now. */
  readonly brake?: unknown;
}

export interface HttpProblemOptions {
  /** @default the status's `STATUS_TITLES` code in kebab case */
  readonly code?: string;
  readonly errors?: readonly ProblemIssue[];
  /** Response headers to send with it (Allow, WWW-Authenticate, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A 409 of a site command: the site as it is now (the `current` member). */
  readonly current?: unknown;
  /** A 409 of a brake release: the brake as it is now (the `brake` member). */
  readonly brake?: unknown;
  readonly cause?: unknown;
}

/**
 * An error that becomes an HTTP problem response as it is: its `detail` is written for callers. Every other error a
 * handler throws is answered as a bare 500 (see toProblem).
 */
export class HttpProblem extends FailoverError {
  readonly status: number;
  readonly detail: string;
  readonly problemCode: string;
  readonly errors: readonly ProblemIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly current: unknown;
  readonly brake: unknown;

  constructor(status: number, detail: string, options: HttpProblemOptions = {}) {
    const code = options.code ?? kebab(STATUS_TITLES[status] ?? 'error');
    super('HTTP_PROBLEM', `${status} ${code}: ${detail}`, { cause: options.cause });
    this.name = 'HttpProblem';
    this.status = status;
    this.detail = detail;
    this.problemCode = code;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.current = options.current;
    this.brake = options.brake;
  }
}

function kebab(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** The problem document of `problem`, for the request `instance` (its path) and `requestId`. */
export function problemDocument(
  problem: HttpProblem,
  context: { instance?: string; requestId?: string } = {},
): ProblemDocument {
  return {
    type: 'about:blank',
    title: STATUS_TITLES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    code: problem.problemCode,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...(problem.current !== undefined ? { current: problem.current } : {}),
    ...(problem.brake !== undefined ? { brake: problem.brake } : {}),
    ...(context.instance ? { instance: context.instance } : {}),
    ...(context.requestId ? { requestId: context.requestId } : {}),
  };
}

/** The HTTP response of `problem`: its status, `application/problem+json`, and its extra headers. */
export function problemResponse(
  problem: HttpProblem,
  context: { instance?: string; requestId?: string } = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...problem.headers },
    body: JSON.stringify(problemDocument(problem, context)),
  };
}

/** The 500 every unexpected error becomes: nothing of the error reaches the caller (it goes to the logs). */
export function internalProblem(cause?: unknown): HttpProblem {
  return new HttpProblem(500, 'The request could not be completed; it has been logged.', {
    code: 'internal-error',
    cause,
  });
}
