import { generateKeyPairSync } from 'node:crypto';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import { agentAuthPayload, signBytes } from '../../shared/contracts/agent-signing.ts';
import type { AgentAuth, Challenge } from '../../shared/contracts/agent.ts';
import type { AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { agentCommandHandler } from '../../shared/usecases/agent/issue-command.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { httpEvent, testAction } from './fixtures.ts';
import { agentFunctionEnv, CHALLENGE_ARN, seedState, SIGNING_ARN, siteKeys, testConfigText } from './harness.ts';

// The agent's HTTP routes on a table that DynamoDB throttles: the real handler and stores, the real SDK, and a
// loopback proxy in front of dynalite that answers the chosen requests with ProvisionedThroughputExceededException.

const keys = siteKeys();
const signingPem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const secrets = mockClient(SecretsManagerClient);
const apigw = mockClient(ApiGatewayManagementApiClient);
const context = lambdaContext('failover-agent');

let dynamo: LocalDynamo;
let proxy: FaultProxy;
let deps: AgentChannelDeps;
let gateway: (event: APIGatewayProxyEventV2, ctx: typeof context) => Promise<APIGatewayProxyStructuredResultV2>;
let seq = 0;

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'agent-throttled-test' });
  proxy = await startFaultProxy(dynamo.endpoint);
  proxy.throttleWith = 'ProvisionedThroughputExceededException';
  secrets.on(GetSecretValueCommand, { SecretId: SIGNING_ARN }).resolves({ SecretString: signingPem });
  secrets.on(GetSecretValueCommand, { SecretId: CHALLENGE_ARN }).resolves({ SecretString: 'y'.repeat(48) });
  apigw.on(PostToConnectionCommand).resolves({});
  const env = agentFunctionEnv(keys, { tableName: dynamo.tableName, endpoint: proxy.endpoint });
  gateway = (await importWithEnv(env, () => import('../../functions/agent/gateway.ts'))).handler as typeof gateway;
  const runtime = await import('../../functions/agent/runtime.ts');
  deps = runtime.cloudAgentDeps(configJsonOf(testConfigText(keys)).config);
  await seedState(deps, 'hq');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  secrets.restore();
  apigw.restore();
  await proxy?.close();
  await dynamo?.close();
});

async function signedAuth(): Promise<AgentAuth> {
  const res = await gateway(httpEvent('GET /v1/agent/challenge', { site: 'hq' }), context);
  expect(res.statusCode).toBe(200);
  const c = JSON.parse(res.body!) as Challenge;
  return { ...c, signature: signBytes(agentAuthPayload(c), keys.hq) };
}

describe('the agent poll route on a throttled table', () => {
  it('answers 503 with Retry-After, and the failed ack stays to be reported by the sweep', async () => {
    const logs = captureLogs();
    const a = testAction('hq', ++seq, { at: Date.now(), expiresAt: Date.now() + 300_000 });
    await agentCommandHandler(deps)(a);
    const auth = await signedAuth();
    const ack = { commandId: a.id, site: 'hq', status: 'failed', exitCode: 4, finishedAt: new Date().toISOString() };
    // Only the site's state item is throttled: the ack is stored, recording its failure is not.
    proxy.throttle = (body) => body.includes('"S":"STATE"');
    const before = proxy.throttled;
    const res = await gateway(
      httpEvent('POST /v1/agent/poll', undefined, { v: 1, auth, messages: [{ v: 1, type: 'ack', ack }] }),
      context,
    );
    proxy.throttle = () => false;
    expect(proxy.throttled).toBeGreaterThan(before);
    expect(JSON.stringify(logs())).toContain('ProvisionedThroughputExceededException');
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(res.body!)).toMatchObject({ status: 503 });
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked', reported: false });
  });
});
