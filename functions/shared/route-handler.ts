import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { authenticate, type Principal } from '../../shared/api/auth.ts';
import { utf8Body } from '../../shared/api/body-text.ts';
import { HttpProblem, problemResponse, type ProblemIssue } from '../../shared/api/problem.ts';
import type { ApiRouteSpec } from '../../shared/api/routes.ts';
import type { ApiKeyStore } from '../../shared/ports/api-key-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { toProblem } from './problems.ts';

/** The default body limit (the local server refuses larger bodies before reading them; API Gateway allows 10 MB). */
export const MAX_BODY_BYTES = 256 * 1024;

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What the middlewares need of a route: who may call it and the schemas of its request. */
export type RouteSpec = Pick<ApiRouteSpec, 'auth' | 'params' | 'query' | 'body' | 'rawBody'>;

/** Where a route logs what callers are not told (the errors behind a 5xx). Powertools' Logger fits. */
export interface RouteLog {
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface RouteOptions {
  readonly log: RouteLog;
  /** Larger bodies get 413. @default 256 KiB */
  readonly maxBodyBytes?: number;
  /** How API keys are checked; required by routes whose auth is `read` or `write`. */
  readonly keys?: { readonly store: ApiKeyStore; readonly pepper: () => Promise<Buffer>; readonly clock: Clock };
}

/** A request after the middlewares: authenticated, its parameters, query and body validated. */
export interface ApiCall<S extends RouteSpec> {
  readonly event: APIGatewayProxyEventV2;
  readonly params: Out<S['params']>;
  readonly query: Out<S['query']>;
  readonly body: Out<S['body']>;
  /** Null on routes without an API key (public, signature). */
  readonly principal: S['auth'] extends 'read' | 'write' ? Principal : null;
  readonly requestId: string;
  /** The raw body bytes (routes with `rawBody`). */
  readonly raw: Buffer;
}

/** What a route handler answers: a status, a JSON body (or none, or `text` of the type its headers name), headers. */
export interface ApiReply {
  readonly status: number;
  readonly body?: unknown;
  /** A body that is not JSON (e.g. an SVG); `headers` must carry its `content-type`. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The HTTP handler of one route, as API Gateway (and the local server) call it. */
export type RouteHandler = MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>;

interface ApiContext extends Context {
  principal?: Principal | null;
  call?: { params: unknown; query: unknown; body: unknown; raw: Buffer };
}

type ApiMiddleware = MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, ApiContext>;

/**
 * A route's handler: middy with, in order, problem details for every error (the one place errors become
 * responses), the body size limit (413), authentication and scope (401, 403), then the media type (415) and the
 * zod validation of path, query and body (400, listing every issue); `fn` gets the validated request. The API's
 * routes (apiHandler) and the agents' HTTP routes are built with it.
 */
export function routeHandler<S extends RouteSpec>(
  spec: S,
  options: RouteOptions,
  fn: (call: ApiCall<S>) => Promise<ApiReply>,
): RouteHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, ApiContext>()
    .use(problemDetails(options.log))
    .use(bodyLimit(options.maxBodyBytes ?? MAX_BODY_BYTES))
    .use(requireKey(spec, options))
    .use(validate(spec))
    .handler(async (event, context) => {
      const call = context.call!;
      const reply = await fn({
        event,
        params: call.params,
        query: call.query,
        body: call.body,
        raw: call.raw,
        principal: context.principal ?? null,
        requestId: event.requestContext.requestId,
      } as ApiCall<S>);
      return json(reply);
    }) as RouteHandler;
}

/** A JSON response (no body for 204 or an undefined body). */
export function json(reply: ApiReply): APIGatewayProxyStructuredResultV2 {
  if (reply.text !== undefined) {
    return { statusCode: reply.status, headers: { 'cache-control': 'no-store', ...reply.headers }, body: reply.text };
  }
  const hasBody = reply.body !== undefined && reply.status !== 204;
  return {
    statusCode: reply.status,
    headers: {
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
      'cache-control': 'no-store',
      ...reply.headers,
    },
    ...(hasBody ? { body: JSON.stringify(reply.body) } : {}),
  };
}

function problemDetails(log: RouteLog): ApiMiddleware {
  const withRequestId = (request: {
    event: APIGatewayProxyEventV2;
    response: APIGatewayProxyStructuredResultV2 | null;
  }) => {
    if (!request.response) return;
    request.response.headers = { ...request.response.headers, 'x-request-id': request.event.requestContext.requestId };
  };
  return {
    after: withRequestId,
    onError: (request) => {
      const problem = toProblem(request.error);
      const { requestId, http } = request.event.requestContext;
      if (problem.status >= 500) {
        log.error('API request failed', { requestId, route: request.event.routeKey, error: problem.cause ?? problem });
      }
      request.response = problemResponse(problem, { instance: http.path, requestId });
      withRequestId(request);
    },
  };
}

/** The body as text (utf8Body); 400 `invalid-utf8` when it is not valid UTF-8. */
export function bodyText(event: APIGatewayProxyEventV2): string {
  const text = utf8Body(event);
  if (text === null) throw invalidUtf8();
  return text;
}

function invalidUtf8(): HttpProblem {
  return new HttpProblem(400, 'the body is not valid UTF-8', {
    code: 'invalid-utf8',
    errors: [{ path: 'body', message: 'not valid UTF-8' }],
  });
}

/** The body as bytes, decoded from base64 when API Gateway encoded it. */
export function bodyBytes(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function bodyLimit(maxBytes: number): ApiMiddleware {
  return {
    before: (request) => {
      const size = bodyBytes(request.event).length;
      if (size > maxBytes) throw new HttpProblem(413, `the request body is larger than ${maxBytes} bytes`);
    },
  };
}

function requireKey(spec: RouteSpec, options: RouteOptions): ApiMiddleware {
  const scope = spec.auth === 'read' || spec.auth === 'write' ? spec.auth : null;
  const keys = options.keys;
  if (scope && !keys) throw new Error(`a route with auth "${scope}" needs the API key store (RouteOptions.keys)`);
  return {
    before: async (request) => {
      request.context.principal = scope && keys ? await authenticate(keys, request.event.headers, scope) : null;
    },
  };
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const NO_QUERY = z.object({}).strict();

function validate(spec: RouteSpec): ApiMiddleware {
  return {
    before: (request) => {
      const event = request.event;
      const raw = bodyBytes(event);
      const issues: ProblemIssue[] = [];
      const params = parse(spec.params, event.pathParameters ?? {}, 'path', issues);
      // A route without a query schema takes no parameter at all: any one given is refused, not ignored.
      const query = parse(spec.query ?? NO_QUERY, event.queryStringParameters ?? {}, 'query', issues);
      let body: unknown;
      if (spec.body) {
        const type = event.headers['content-type'];
        if (raw.length > 0 && (type === undefined || !JSON_TYPE.test(type))) {
          throw new HttpProblem(415, `send the body as application/json${type ? `, not ${type}` : ''}`, {
            headers: { 'accept-post': 'application/json' },
          });
        }
        if (raw.length === 0) {
          issues.push({ path: 'body', message: 'a JSON body is required' });
        } else {
          const text = bodyText(event);
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            throw new HttpProblem(400, 'the body is not valid JSON', {
              code: 'invalid-json',
              errors: [{ path: 'body', message: 'not valid JSON' }],
            });
          }
          body = parse(spec.body, value, 'body', issues);
        }
      }
      if (issues.length > 0) {
        throw new HttpProblem(
          400,
          `the request is not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
          {
            code: 'invalid-request',
            errors: issues,
          },
        );
      }
      request.context.call = { params, query: spec.query ? query : undefined, body, raw };
    },
  };
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string, issues: ProblemIssue[]): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of flatten(result.error.issues)) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const path = [...issue.path, ...(key === undefined ? [] : [key])];
      const message =
        issue.code === 'unrecognized_keys'
          ? where === 'query'
            ? 'unknown parameter'
            : 'unknown field'
          : issue.code === 'invalid_type' && issue.message.endsWith('received undefined')
            ? 'required'
            : issue.message;
      issues.push({ path: formatPath(where, path), message });
    }
  }
  return undefined;
}

/** The issues of a failed union are those of its closest branch (fewest issues), not a bare "Invalid input". */
function flatten(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
    return flatten(closest.map((i) => ({ ...i, path: [...issue.path, ...i.path] })));
  });
}

/** `body.links[0].id` */
export function formatPath(where: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}.${String(key)}`),
    where,
  );
}
