import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { generateKeyPairSync } from 'node:crypto';
import { nonce, signCommand } from '../../shared/contracts/agent-signing.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import type { NewCommand } from '../../shared/ports/command-store.ts';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

const key = generateKeyPairSync('ed25519').privateKey;

/** An agent-command action as the decider makes it. */
export function testAction(site: string, seq: number, overrides: Partial<AgentCommandAction> = {}): AgentCommandAction {
  return {
    kind: 'agent-command',
    id: `${site}:${seq}:1`,
    site,
    seq,
    at: T0,
    command: 'switch-wan',
    link: 'lte',
    expiresAt: T0 + 300_000,
    ...overrides,
  };
}

/** A new command for the store, signed with a throwaway key. */
export function newCommand(site: string, seq: number, overrides: Partial<AgentCommandAction> = {}): NewCommand {
  const action = testAction(site, seq, overrides);
  const command = signCommand(
    {
      id: action.id,
      site,
      action: action.command,
      args: { link: action.link },
      issuedAt: new Date(action.at).toISOString(),
      expiresAt: new Date(action.expiresAt).toISOString(),
      nonce: nonce(),
    },
    key,
  );
  return { site, id: action.id, action, command, createdAt: action.at };
}

let requests = 0;

/** An API Gateway HTTP API (payload 2.0) event for one of the agent gateway's HTTP routes, as API Gateway sends it. */
export function httpEvent(routeKey: string, query?: Record<string, string>, body?: unknown): APIGatewayProxyEventV2 {
  const [method, path] = routeKey.split(' ') as [string, string];
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { 'content-type': 'application/json' },
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'http123',
      domainName: 'http123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'http123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'failover-agent' },
      requestId: `req-${++requests}`,
      routeKey,
      stage: '$default',
      time: '25/Nov/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
}
