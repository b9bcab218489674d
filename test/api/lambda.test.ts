import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import { issueApiKey } from '../../shared/api/api-keys.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { apiRoutes } from '../../functions/api/routes.ts';
import { startHttpServer } from '../../local/http-server.ts';
import { apiTestConfig } from '../support/api.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const CONFIG_YAML = twoLinkConfigYaml({ sites: [{ id: 'hq' }] });
const PEPPER = 'pepper-held-in-secrets-manager';

let dynamo: LocalDynamo;
let secrets: Server;
const secretCalls: string[] = [];
let handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
let writeKey: string;

/** An event as API Gateway's HTTP API sends it for `routeKey` (`$default` for unmatched requests). */
function event(
  method: string,
  path: string,
  routeKey: string,
  options: { key?: string; body?: string; bytes?: Buffer; params?: Record<string, string>; query?: string } = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: {
      host: 'api.example.com',
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body || options.bytes ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.params ? { pathParameters: options.params } : {}),
    ...(options.query ? { queryStringParameters: gatewayQuery(options.query) } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.1', userAgent: 'curl/8' },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: '25/Nov/2026:12:00:00 +0000',
      timeEpoch: 0,
    },
    ...(options.body ? { body: options.body } : {}),
    ...(options.bytes ? { body: options.bytes.toString('base64') } : {}),
    isBase64Encoded: options.bytes !== undefined,
  };
}

/**
 * queryStringParameters as the Lambda runtime hands them over: parsed from JSON, so `__proto__` is a key like any other
 * (duplicates joined with commas, as API Gateway does).
 */
function gatewayQuery(raw: string): Record<string, string> {
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(raw)) {
    const seen = joined.get(name);
    joined.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  const json = `{${[...joined].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  return JSON.parse(json) as Record<string, string>;
}

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'api-lambda-test' });
  // Secrets Manager's JSON protocol, answering GetSecretValue for the pepper secret only.
  secrets = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      secretCalls.push(`${req.headers['x-amz-target']} ${body}`);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:pepper', SecretString: PEPPER }));
    });
  });
  await new Promise<void>((resolve) => secrets.listen(0, '127.0.0.1', resolve));
  const keys = new DynamoDbApiKeyStore(dynamo);
  writeKey = (
    await issueApiKey(
      { store: keys, pepper: async () => Buffer.from(PEPPER), clock: systemClock },
      { name: 'ci-bot', scope: 'write' },
    )
  ).key;
  handler = (
    await importWithEnv(
      {
        FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
        STATE_TABLE_NAME: dynamo.tableName,
        API_KEY_PEPPER_SECRET_ARN:
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:failover/api-key-pepper-AbCdEf',
        POWERTOOLS_SERVICE_NAME: 'failover-api',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
      },
      () => import('../../functions/api/handler.ts'),
    )
  ).handler;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((resolve) => secrets?.close(resolve));
  await dynamo?.close();
});

describe('the API Lambda', () => {
  it('routes by route key and reads the pepper from Secrets Manager once', async () => {
    captureLogs();
    const ctx = lambdaContext('failover-api');
    const doc = await handler(event('GET', '/v1/openapi.json', 'GET /v1/openapi.json'), ctx);
    expect(doc.statusCode).toBe(200);
    expect(JSON.parse(doc.body!).openapi).toBe('3.1.0');

    const site = await handler(
      event('GET', '/v1/sites/hq', 'GET /v1/sites/{id}', { key: writeKey, params: { id: 'hq' } }),
      ctx,
    );
    expect(site.statusCode).toBe(200);
    expect(JSON.parse(site.body!)).toMatchObject({ id: 'hq', mode: 'PRIMARY_ACTIVE' });
    expect(site.headers?.['x-request-id']).toBe('req-1');

    const over = await handler(
      event('POST', '/v1/sites/hq/failover', 'POST /v1/sites/{id}/failover', {
        key: writeKey,
        params: { id: 'hq' },
        body: '{"reason":"drill"}',
      }),
      ctx,
    );
    expect(over.statusCode).toBe(200);
    expect(JSON.parse(over.body!).transitions[0].explanation.summary).toContain('ci-bot asked for a failover');
    expect(secretCalls).toHaveLength(1);
    expect(secretCalls[0]).toMatch(/^secretsmanager\.GetSecretValue .*failover\/api-key-pepper/);
  });

  it('answers 404 and 405 problems on $default, and routes a $default request that matches a route', async () => {
    const ctx = lambdaContext('failover-api');
    const missing = await handler(event('GET', '/v1/nope', '$default'), ctx);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers?.['content-type']).toBe('application/problem+json');
    const wrong = await handler(event('PUT', '/v1/sites/hq', '$default'), ctx);
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers?.allow).toBe('GET');
    const routed = await handler(event('GET', '/v1/sites/hq', '$default', { key: writeKey }), ctx);
    expect(routed.statusCode).toBe(200);
    expect(JSON.parse(routed.body!).id).toBe('hq');
  });

  it('answers 400 to a body that is not valid UTF-8, base64-encoded or with unpaired surrogates', async () => {
    const ctx = lambdaContext('failover-api');
    const route = (options: { body?: string; bytes?: Buffer }) =>
      event('POST', '/v1/sites/hq/failback', 'POST /v1/sites/{id}/failback', {
        key: writeKey,
        params: { id: 'hq' },
        ...options,
      });
    const bytes = Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const lone = '{"reason":"\ud800("}';
    for (const request of [route({ bytes }), route({ body: lone })]) {
      const res = await handler(request, ctx);
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body!)).toMatchObject({ code: 'invalid-utf8' });
    }
    const fine = await handler(route({ bytes: Buffer.from('{"reason":"fixed, ça marche"}') }), ctx);
    expect(fine.statusCode).toBe(200);
  });

  it('answers 400 naming an unknown query parameter, `__proto__` included, on routes with and without a query', async () => {
    const ctx = lambdaContext('failover-api');
    const cases: [APIGatewayProxyEventV2, string][] = [
      [event('GET', '/v1/incidents', 'GET /v1/incidents', { key: writeKey, query: '__proto__=x' }), 'query.__proto__'],
      [event('GET', '/v1/sites', 'GET /v1/sites', { key: writeKey, query: 'stauts=open' }), 'query.stauts'],
      [event('GET', '/v1/sites/hq', '$default', { key: writeKey, query: 'constructor=1' }), 'query.constructor'],
    ];
    for (const [request, field] of cases) {
      const res = await handler(request, ctx);
      expect(res.statusCode, field).toBe(400);
      expect(JSON.parse(res.body!).errors, field).toEqual([{ path: field, message: 'unknown parameter' }]);
    }
    const fine = await handler(
      event('GET', '/v1/incidents', 'GET /v1/incidents', { key: writeKey, query: 'status=open' }),
      ctx,
    );
    expect(fine.statusCode).toBe(200);
  });

  it('enforces the body limit on bodies API Gateway lets through (up to 10 MB)', async () => {
    const big = event('POST', '/v1/maintenance', 'POST /v1/maintenance', { key: writeKey, body: 'x'.repeat(300_000) });
    const res = await handler(big, lambdaContext('failover-api'));
    expect(res.statusCode).toBe(413);
  });
});

describe('errors behind the API', () => {
  it('answer a bare 500 with a request id, and go to the log with their cause', async () => {
    const logged: unknown[] = [];
    const dynamoKeys = new DynamoDbApiKeyStore(dynamo);
    const deps = {
      config: apiTestConfig(['hq']),
      // A table that does not exist: the real SDK error, with the table name in its message.
      store: new DynamoDbStateStore({ tableName: 'no-such-table', client: dynamo.client }),
      clock: systemClock,
      apiKeys: dynamoKeys,
      pepper: async () => Buffer.from(PEPPER),
      maintenance: new DynamoDbMaintenanceStore(dynamo),
      log: { error: (...args: unknown[]) => void logged.push(args) },
    };
    const server = await startHttpServer({ port: 0, routes: apiRoutes(deps) });
    try {
      const res = await fetch(`${server.url}/v1/sites/hq`, { headers: { authorization: `Bearer ${writeKey}` } });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toMatch(/no-such-table|ResourceNotFound|DynamoDB|\.ts/);
      expect(JSON.parse(text)).toMatchObject({
        status: 500,
        code: 'internal-error',
        detail: 'The request could not be completed; it has been logged.',
        requestId: res.headers.get('x-request-id'),
      });
      expect(JSON.stringify(logged, (_k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))).toContain(
        'no-such-table',
      );
    } finally {
      await server.close();
    }
  });
});
