import { generateKeyPairSync } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DynamoDbAgentConnections } from '../../shared/adapters/aws/dynamodb-agent-connections.ts';
import { SecretsManagerAgentKeyring } from '../../shared/adapters/aws/secrets-manager-agent-keyring.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import {
  agentAuthPayload,
  publicKeyFromRaw,
  rawPublicKey,
  signBytes,
  verifyCommand,
} from '../../shared/contracts/agent-signing.ts';
import type { AgentAuth, Challenge, ServerMessage } from '../../shared/contracts/agent.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import { TransientError } from '../../shared/errors.ts';
import { AgentKeyError } from '../../shared/ports/agent-channel.ts';
import type { AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { agentCommandHandler } from '../../shared/usecases/agent/issue-command.ts';
import { AGENT_FUNCTION_PARTITIONS } from '../../infra/constructs/agent-gateway.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { testBatch } from '../support/observations.ts';
import { partitionKeysOf } from '../support/partition-keys.ts';
import type { AgentWebSocketEvent, WebSocketResult } from '../../functions/agent/websocket.ts';
import type { SweepOutput } from '../../functions/agent/sweep.ts';
import { captureLogs, importWithEnv, lambdaContext } from '../support/lambda.ts';
import { httpEvent, testAction } from './fixtures.ts';
import { agentFunctionEnv, CHALLENGE_ARN, seedState, SIGNING_ARN, siteKeys, testConfigText } from './harness.ts';

const keys = siteKeys();
const controlPlane = generateKeyPairSync('ed25519');
const signingPem = controlPlane.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const challengeSecret = 'x'.repeat(20) + 'generated-by-secrets-manager-0123456789';

const apigw = mockClient(ApiGatewayManagementApiClient);
const secrets = mockClient(SecretsManagerClient);
const context = lambdaContext('failover-agent');
type Fn<E, R> = (event: E, ctx: typeof context) => Promise<R>;

let dynamo: LocalDynamo;
let proxy: FaultProxy;
let authorize: Fn<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>;
let gateway: Fn<AgentWebSocketEvent | APIGatewayProxyEventV2, WebSocketResult | APIGatewayProxyStructuredResultV2>;
let sweep: Fn<unknown, SweepOutput>;
let deps: AgentChannelDeps;
let connections: DynamoDbAgentConnections;
let seq = 0;

// The partition keys each function's requests named, seen by a proxy in front of dynalite: what IAM's LeadingKeys
// condition of that function is evaluated on (the last test compares them with the grants).
const touched = new Map<keyof typeof AGENT_FUNCTION_PARTITIONS, Set<string>>();
let running: keyof typeof AGENT_FUNCTION_PARTITIONS | undefined;
function tracked<E, R>(name: keyof typeof AGENT_FUNCTION_PARTITIONS, fn: Fn<E, R>): Fn<E, R> {
  return async (event, ctx) => {
    running = name;
    try {
      return await fn(event, ctx);
    } finally {
      running = undefined;
    }
  };
}

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'agent-handlers-test' });
  proxy = await startFaultProxy(dynamo.endpoint);
  proxy.throttle = (body) => {
    if (running)
      for (const key of partitionKeysOf(body)) touched.set(running, (touched.get(running) ?? new Set()).add(key));
    return false;
  };
  const env = agentFunctionEnv(keys, { tableName: dynamo.tableName, endpoint: proxy.endpoint });
  authorize = tracked(
    'authorizer',
    (await importWithEnv(env, () => import('../../functions/agent/authorizer.ts'))).handler,
  );
  gateway = tracked('gateway', (await import('../../functions/agent/gateway.ts')).handler as typeof gateway);
  sweep = tracked('sweep', (await import('../../functions/agent/sweep.ts')).handler);
  // What the dispatcher's handler will be built from in functions/dispatch (the lead wires it).
  const runtime = await import('../../functions/agent/runtime.ts');
  const cloud = runtime.cloudAgentDeps(configJsonOf(testConfigText(keys)).config);
  deps = cloud;
  connections = cloud.connections;
  await seedState(deps, 'hq');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  apigw.restore();
  secrets.restore();
  await proxy?.close();
  await dynamo?.close();
});

let logs: () => Record<string, unknown>[];
beforeEach(() => {
  logs = captureLogs();
  apigw.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SIGNING_ARN }).resolves({ SecretString: signingPem });
  secrets.on(GetSecretValueCommand, { SecretId: CHALLENGE_ARN }).resolves({ SecretString: challengeSecret });
  apigw.on(PostToConnectionCommand).resolves({});
  apigw.on(DeleteConnectionCommand).resolves({});
});

afterEach(() => vi.restoreAllMocks());

const wsEvent = (
  eventType: AgentWebSocketEvent['requestContext']['eventType'],
  connectionId: string,
  body?: unknown,
  site: string | undefined = 'hq',
): AgentWebSocketEvent => ({
  requestContext: {
    routeKey: { CONNECT: '$connect', DISCONNECT: '$disconnect', MESSAGE: '$default' }[eventType],
    eventType,
    connectionId,
    authorizer: site ? { site } : null,
  },
  ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  isBase64Encoded: false,
});

async function signedAuth(key = keys.hq): Promise<AgentAuth> {
  const res = (await gateway(
    httpEvent('GET /v1/agent/challenge', { site: 'hq' }),
    context,
  )) as APIGatewayProxyStructuredResultV2;
  expect(res.statusCode).toBe(200);
  const c = JSON.parse(res.body!) as Challenge;
  return {
    site: c.site,
    nonce: c.nonce,
    expiresAt: c.expiresAt,
    token: c.token,
    signature: signBytes(agentAuthPayload(c), key),
  };
}

const authorizerEvent = (auth: Partial<AgentAuth>): APIGatewayRequestAuthorizerEvent =>
  ({
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/agent/$connect',
    queryStringParameters: auth as Record<string, string>,
  }) as unknown as APIGatewayRequestAuthorizerEvent;

/** What was posted to each connection, parsed. */
const posted = () =>
  apigw.commandCalls(PostToConnectionCommand).map((c) => ({
    connectionId: c.args[0].input.ConnectionId,
    message: JSON.parse(Buffer.from(c.args[0].input.Data as Uint8Array).toString('utf8')) as ServerMessage,
  }));

const action = (overrides: Partial<AgentCommandAction> = {}) =>
  testAction('hq', ++seq, { at: Date.now(), expiresAt: Date.now() + 300_000, ...overrides });

describe('the $connect authorizer', () => {
  it('allows a signed fresh challenge with the site as context, and refuses it a second time with 401', async () => {
    const auth = await signedAuth();
    const result = await authorize(authorizerEvent(auth), context);
    expect(result).toEqual({
      principalId: 'agent:hq',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: authorizerEvent(auth).methodArn }],
      },
      context: { site: 'hq' },
    });
    await expect(authorize(authorizerEvent(auth), context)).rejects.toThrow(/^Unauthorized$/);
    const refused = logs().find((l) => l.message === 'agent auth-refused');
    expect(refused).toMatchObject({ level: 'WARN', site: 'hq', reason: 'replayed' });
    expect(JSON.stringify(logs())).not.toContain(auth.signature);
  });

  it("refuses another site's key and a missing query with 401", async () => {
    await expect(authorize(authorizerEvent(await signedAuth(keys.shop)), context)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(authorizerEvent({}), context)).rejects.toThrow(/^Unauthorized$/);
  });

  it('answers 500, not 401, when the challenge secret cannot be read', async () => {
    vi.resetModules();
    const fresh = (await import('../../functions/agent/authorizer.ts')).handler;
    secrets.reset();
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' }));
    await expect(
      fresh(
        authorizerEvent({
          site: 'hq',
          nonce: 'abc',
          expiresAt: new Date().toISOString(),
          token: 'abc',
          signature: 'abc',
        }),
        context,
      ),
    ).rejects.toThrow('authorizer unavailable');
  });
});

describe('the WebSocket routes', () => {
  it("records the site's connection on $connect, closes the one it replaces, forgets it on $disconnect", async () => {
    expect(await gateway(wsEvent('CONNECT', 'conn-a'), context)).toEqual({ statusCode: 200 });
    expect(await connections.lookup('hq')).toBe('conn-a');
    expect(await gateway(wsEvent('CONNECT', 'conn-b'), context)).toEqual({ statusCode: 200 });
    expect(apigw.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId)).toEqual(['conn-a']);
    expect(await gateway(wsEvent('DISCONNECT', 'conn-a'), context)).toEqual({ statusCode: 200 });
    expect(await connections.lookup('hq')).toBe('conn-b');
    expect(await gateway(wsEvent('DISCONNECT', 'conn-b'), context)).toEqual({ statusCode: 200 });
    expect(await connections.lookup('hq')).toBeNull();
    expect(await gateway(wsEvent('CONNECT', 'conn-x', undefined, 'nowhere'), context)).toEqual({ statusCode: 403 });
  });

  it('queues a command for an offline agent and delivers it after the first heartbeat of its connection', async () => {
    const a = action();
    expect((await agentCommandHandler(deps)(a)).detail).toContain('queued');
    expect(posted()).toEqual([]);
    await gateway(wsEvent('CONNECT', 'conn-1'), context);
    const heartbeat = { v: 1, type: 'heartbeat', sentAt: new Date().toISOString(), activeLink: 'fiber' };
    expect(await gateway(wsEvent('MESSAGE', 'conn-1', heartbeat), context)).toEqual({ statusCode: 200 });
    const sent = posted();
    expect(sent.map((p) => [p.connectionId, p.message.type])).toEqual([
      ['conn-1', 'heartbeat-ack'],
      ['conn-1', 'command'],
    ]);
    const command = (sent[1]!.message as Extract<ServerMessage, { type: 'command' }>).command;
    expect(command.id).toBe(a.id);
    expect(verifyCommand(command, publicKeyFromRaw(rawPublicKey(controlPlane.publicKey)))).toBe(true);
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'delivered' });
  });

  it('pushes a command to a connected agent at once; a gone connection is forgotten and the command waits', async () => {
    // An older command still waiting for its ack would go out first (in order): not this test's subject.
    for (const r of await deps.commands.list('hq', { statuses: ['queued', 'delivered'] }))
      await deps.commands.expire('hq', r.id, Date.now());
    await gateway(wsEvent('CONNECT', 'conn-2'), context);
    const a = action();
    expect((await agentCommandHandler(deps)(a)).detail).toContain('delivered to the agent');
    expect(posted().map((p) => p.connectionId)).toEqual(['conn-2']);

    apigw.reset();
    apigw
      .on(PostToConnectionCommand)
      .rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));
    const b = action();
    expect((await agentCommandHandler(deps)(b)).detail).toContain('queued');
    expect(await connections.lookup('hq')).toBeNull();
    expect(await deps.commands.get('hq', b.id)).toMatchObject({ status: 'queued', deliveries: 0 });
  });

  it('takes a failed ack on $default: action-failed transition; malformed messages get an error reply', async () => {
    await gateway(wsEvent('CONNECT', 'conn-3'), context);
    const a = action();
    await agentCommandHandler(deps)(a);
    const ack = { commandId: a.id, site: 'hq', status: 'failed', exitCode: 4, finishedAt: new Date().toISOString() };
    expect(await gateway(wsEvent('MESSAGE', 'conn-3', { v: 1, type: 'ack', ack }), context)).toEqual({
      statusCode: 200,
    });
    expect(await deps.commands.get('hq', a.id)).toMatchObject({ status: 'acked', reported: true });
    expect((await deps.store.listTransitions('hq')).at(-1)).toMatchObject({ kind: 'action-failed' });
    apigw.resetHistory();
    expect(await gateway(wsEvent('MESSAGE', 'conn-3', 'nope'), context)).toEqual({ statusCode: 400 });
    expect(posted()).toEqual([
      { connectionId: 'conn-3', message: { v: 1, type: 'error', message: 'messages are JSON text' } },
    ]);
  });
});

describe('agent observations and autonomy reports', () => {
  it("decides the agent's observations of its own links, and stores its autonomy reports", async () => {
    await gateway(wsEvent('CONNECT', 'conn-5'), context);
    const at = Date.now();
    const batches = [
      testBatch({
        site: 'hq',
        vantage: 'site:hq/fiber',
        at,
        results: [{ check: 'web-fiber', link: 'fiber', outcome: 'down' }],
      }),
    ];
    expect(await gateway(wsEvent('MESSAGE', 'conn-5', { v: 1, type: 'observations', batches }), context)).toEqual({
      statusCode: 200,
    });
    expect((await deps.store.load('hq'))!.vantages['site:hq/fiber']).toBeDefined();
    const report = {
      site: 'hq',
      at: new Date(at).toISOString(),
      fromLink: 'fiber',
      toLink: 'lte',
      reason: 'fiber failed',
    };
    expect(await gateway(wsEvent('MESSAGE', 'conn-5', { v: 1, type: 'autonomy', report }), context)).toEqual({
      statusCode: 200,
    });
    expect((await deps.commands.listAutonomyReports('hq', 1))[0]).toMatchObject({ report });
    await gateway(wsEvent('DISCONNECT', 'conn-5'), context);
  });
});

describe('the poll route and the sweep', () => {
  it('answers a poll with the queued commands', async () => {
    await gateway(wsEvent('DISCONNECT', 'conn-3'), context);
    const a = action();
    await agentCommandHandler(deps)(a);
    const res = (await gateway(
      httpEvent('POST /v1/agent/poll', undefined, { v: 1, auth: await signedAuth(), messages: [] }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body!) as { commands: { id: string }[] }).commands.map((c) => c.id)).toContain(a.id);
    const refused = (await gateway(
      httpEvent('POST /v1/agent/poll', undefined, { v: 1, auth: await signedAuth(keys.shop), messages: [] }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(refused.statusCode).toBe(401);
    // A poll whose bytes are not UTF-8 is refused as such, not read with U+FFFD in place of the bad bytes.
    const json = Buffer.from(JSON.stringify({ v: 1, auth: await signedAuth(), messages: [] }));
    const bad = Buffer.concat([json.subarray(0, -1), Buffer.from(',"x":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const garbled = (await gateway(
      { ...httpEvent('POST /v1/agent/poll'), body: bad.toString('base64'), isBase64Encoded: true },
      context,
    )) as APIGatewayProxyStructuredResultV2;
    expect(garbled.statusCode).toBe(400);
    expect(JSON.parse(garbled.body!)).toMatchObject({ code: 'invalid-utf8' });
  });

  it('expires overdue commands with an alert, and delivers queued ones to connected agents', async () => {
    const late = action({ expiresAt: Date.now() + 50 });
    await agentCommandHandler(deps)(late);
    await new Promise((r) => setTimeout(r, 80));
    await gateway(wsEvent('CONNECT', 'conn-4'), context);
    apigw.resetHistory();
    // A command that could not be pushed when issued (PostToConnection throttled), to be delivered by the sweep.
    apigw
      .on(PostToConnectionCommand)
      .rejectsOnce(
        Object.assign(new Error('slow down'), { name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } }),
      );
    const waiting = action();
    expect((await agentCommandHandler(deps)(waiting)).detail).toContain('queued');
    apigw.on(PostToConnectionCommand).resolves({});

    const out = await sweep({}, context);
    expect(out).toMatchObject({ failedSites: [] });
    expect(out.expired).toBeGreaterThanOrEqual(1);
    expect(await deps.commands.get('hq', late.id)).toMatchObject({ status: 'expired', reported: true });
    const last = (await deps.store.listTransitions('hq')).at(-1)!;
    expect(last.explanation.summary).toContain('command expired before the agent ran it');
    expect(await deps.commands.get('hq', waiting.id)).toMatchObject({ status: 'delivered' });
    expect(
      posted()
        .filter((p) => p.message.type === 'command')
        .map((p) => p.connectionId),
    ).toContain('conn-4');
  });
});

describe('SecretsManagerAgentKeyring', () => {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });

  it('reads each secret once, and only when asked for', async () => {
    const keyring = new SecretsManagerAgentKeyring({
      client,
      signingKeySecretId: SIGNING_ARN,
      challengeSecretId: CHALLENGE_ARN,
    });
    await keyring.challengeSecret();
    await keyring.challengeSecret();
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([CHALLENGE_ARN]);
    expect((await keyring.signingKey()).asymmetricKeyType).toBe('ed25519');
    await keyring.signingKey();
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('says how to set a signing key that is not one, and tries a throttled read again later', async () => {
    secrets.reset();
    secrets
      .on(GetSecretValueCommand, { SecretId: SIGNING_ARN })
      .resolves({ SecretString: 'generated-placeholder-password' });
    secrets
      .on(GetSecretValueCommand, { SecretId: CHALLENGE_ARN })
      .rejectsOnce(Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: 'short' });
    const keyring = new SecretsManagerAgentKeyring({
      client,
      signingKeySecretId: SIGNING_ARN,
      challengeSecretId: CHALLENGE_ARN,
    });
    const error = await keyring.signingKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentKeyError);
    expect((error as Error).message).toContain(`aws secretsmanager put-secret-value --secret-id ${SIGNING_ARN}`);
    await expect(keyring.challengeSecret()).rejects.toBeInstanceOf(TransientError);
    await expect(keyring.challengeSecret()).rejects.toThrow('shorter than 32 characters');
    await expect(new SecretsManagerAgentKeyring({ client }).signingKey()).rejects.toBeInstanceOf(AgentKeyError);
  });
});

describe('least privilege in the table', () => {
  it('every item a function touched is of a family its IAM grant names (dynamodb:LeadingKeys)', () => {
    expect([...touched.keys()].sort()).toEqual(['authorizer', 'gateway', 'sweep']);
    const outside = [...touched].flatMap(([fn, partitions]) =>
      [...partitions]
        .filter((pk) => !AGENT_FUNCTION_PARTITIONS[fn].some((prefix) => pk.startsWith(prefix)))
        .map((pk) => `${fn}: ${pk}`),
    );
    expect(outside).toEqual([]);
    // The families the flows above reach, so that the check above saw the gateway's whole path.
    const families = (fn: keyof typeof AGENT_FUNCTION_PARTITIONS) =>
      [...new Set([...touched.get(fn)!].map((pk) => pk.replace(/#.*/, '#')))].sort();
    expect(families('gateway')).toEqual(['AGENT#', 'HISTORY#', 'MAINTENANCE#', 'REPLAY#', 'SITE#']);
    expect(families('authorizer')).toEqual(['REPLAY#']);
    expect(families('sweep')).toEqual(['AGENT#', 'SITE#']);
  });
});
