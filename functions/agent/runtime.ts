import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ApiGatewayAgentChannel } from '../../shared/adapters/aws/api-gateway-agent-channel.ts';
import { DynamoDbAgentConnections } from '../../shared/adapters/aws/dynamodb-agent-connections.ts';
import { DynamoDbCommandStore } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { SecretsManagerAgentKeyring } from '../../shared/adapters/aws/secrets-manager-agent-keyring.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { apiMaintenanceWindows } from '../../shared/ports/maintenance-store.ts';
import type { AgentChannelDeps, AgentChannelEvent } from '../../shared/usecases/agent/deps.ts';
import { logger, requiredEnv } from '../shared/runtime.ts';
import { AGENT_ENV } from './env.ts';

export { AGENT_ENV };

// Requests on the agent's path are bounded: a hung connection costs one attempt, not the function's timeout.
const BOUNDED = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
};

/** Writes the channel's events to the function's log (refusals as warnings; never key or signature material). */
export function logAgentEvent(event: AgentChannelEvent): void {
  const { type, ...fields } = event;
  const warn = type === 'auth-refused' || type === 'message-refused' || type === 'delivery-failed';
  const failure = type === 'command-expired' || (type === 'command-acked' && event.status !== 'succeeded');
  if (failure) logger.error(`agent ${type}`, fields);
  else if (warn) logger.warn(`agent ${type}`, fields);
  else logger.info(`agent ${type}`, fields);
}

/** What authenticating an agent needs: the configuration, the challenge secret and the replay guard. */
export function authDeps(config: FailoverConfig) {
  const tableName = requiredEnv(AGENT_ENV.table);
  return {
    config,
    clock: systemClock,
    keys: keyring(),
    replay: new DynamoDbReplayGuard({ tableName, client: createDocumentClient(BOUNDED) }),
    log: logAgentEvent,
  };
}

/**
 * Every dependency of the agent channel in AWS: the failover table (state, commands, connections, replay keys),
 * the keyring in Secrets Manager (each secret read only when first needed), and PostToConnection on the WebSocket
 * stage's callback URL. Made once per cold start.
 */
export function cloudAgentDeps(
  config: FailoverConfig,
): AgentChannelDeps & { readonly channel: ApiGatewayAgentChannel; readonly connections: DynamoDbAgentConnections } {
  const tableName = requiredEnv(AGENT_ENV.table);
  const client = createDocumentClient(BOUNDED);
  const connections = new DynamoDbAgentConnections({ tableName, client });
  const channel = new ApiGatewayAgentChannel({
    client: new ApiGatewayManagementApiClient({ endpoint: requiredEnv(AGENT_ENV.callbackUrl), ...BOUNDED }),
    connections,
  });
  return {
    config,
    clock: systemClock,
    store: new DynamoDbStateStore({ tableName, client }),
    commands: new DynamoDbCommandStore({ tableName, client }),
    keys: keyring(),
    replay: new DynamoDbReplayGuard({ tableName, client }),
    channel,
    connections,
    maintenance: apiMaintenanceWindows(new DynamoDbMaintenanceStore({ tableName, client }), systemClock),
    history: new DynamoDbHistoryStore({ tableName, client }),
    log: logAgentEvent,
    onError: (error, where) => logger.error(`agent channel: ${where} failed`, { error: error as Error }),
  };
}

function keyring(): SecretsManagerAgentKeyring {
  const signing = process.env[AGENT_ENV.signingKeySecret];
  const challenge = process.env[AGENT_ENV.challengeSecret];
  return new SecretsManagerAgentKeyring({
    client: new SecretsManagerClient(BOUNDED),
    ...(signing ? { signingKeySecretId: signing } : {}),
    ...(challenge ? { challengeSecretId: challenge } : {}),
  });
}
