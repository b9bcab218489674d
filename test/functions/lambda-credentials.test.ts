import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../functions/shared/lambda-credentials.ts';
import { esbuildOptionsOf, LAMBDA_ALIASES, LAMBDA_BUNDLING } from '../../infra/constructs/lambda-bundling.ts';

// The bundles' replacement of @aws-sdk/credential-provider-node, driven by a real SDK client against a loopback
// server that answers as DynamoDB does and records what the client signed with.
let server: Server;
let endpoint: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"TableNames":["failover-state"]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  vi.unstubAllEnvs();
  seen.length = 0;
});

const client = () =>
  new DynamoDBClient({ endpoint, region: 'eu-west-1', maxAttempts: 1, credentialDefaultProvider: defaultProvider });

describe('the Lambda bundles’ credential provider', () => {
  it('is what every bundle puts in place of the SDK’s default chain', () => {
    expect(LAMBDA_BUNDLING.esbuildArgs['--alias']).toEqual([
      '@aws-sdk/credential-provider-node=./functions/shared/lambda-credentials.ts',
    ]);
    // What bench:cold builds with (esbuild's API) is what NodejsFunction's CLI arguments say.
    expect(esbuildOptionsOf(LAMBDA_BUNDLING).alias).toEqual(LAMBDA_ALIASES);
    expect(() => esbuildOptionsOf({ ...LAMBDA_BUNDLING, esbuildArgs: { '--log-limit': '0' } })).toThrow(
      /no translation for --log-limit/,
    );
  });

  it('signs with the keys and session token Lambda puts in the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAFAILOVERTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token-of-the-role');
    const out = await client().send(new ListTablesCommand({}));
    expect(out.TableNames).toEqual(['failover-state']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAFAILOVERTEST\/\d{8}\/eu-west-1\/dynamodb\//,
    );
    expect(seen[0]!['x-amz-security-token']).toBe('session-token-of-the-role');
  });

  it('ignores profiles and files: without the environment’s keys the call fails, saying which variables it reads', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    vi.stubEnv('AWS_PROFILE', 'someone');
    await expect(client().send(new ListTablesCommand({}))).rejects.toThrow(
      /no AWS credentials in the environment: .*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    expect(seen).toEqual([]);
  });
});
