import {
  DeleteConnectionCommand,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClient,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerMessage } from '../../contracts/agent.ts';
import { FailoverError, TransientError } from '../../errors.ts';
import type { AgentChannel, AgentConnections } from '../../ports/agent-channel.ts';
import { isTransientAwsError } from './sdk-errors.ts';

/** API Gateway refused a message for a reason a retry will not fix (too large, forbidden). */
export class AgentDeliveryError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AGENT_DELIVERY_FAILED', message, options);
    this.name = 'AgentDeliveryError';
  }
}

export interface ApiGatewayAgentChannelOptions {
  /** A client whose endpoint is the WebSocket stage's callback URL (`https://<api>.execute-api.<region>.../<stage>`). */
  readonly client: ApiGatewayManagementApiClient;
  readonly connections: AgentConnections;
}

/**
 * The agent channel through an API Gateway WebSocket API: the site's connection from the connections table, then
 * PostToConnection. A connection API Gateway no longer knows (GoneException) is forgotten, and the message counts as
 * not delivered: a command stays queued until the agent reconnects or polls.
 */
export class ApiGatewayAgentChannel implements AgentChannel {
  readonly #client: ApiGatewayManagementApiClient;
  readonly #connections: AgentConnections;

  constructor(options: ApiGatewayAgentChannelOptions) {
    this.#client = options.client;
    this.#connections = options.connections;
  }

  async send(site: string, message: ServerMessage): Promise<boolean> {
    const connectionId = await this.#connections.lookup(site);
    if (!connectionId) return false;
    if (await this.postTo(connectionId, message)) return true;
    await this.#connections.unregister(site, connectionId);
    return false;
  }

  /** Sends to one connection; false when it is gone. */
  async postTo(connectionId: string, message: ServerMessage): Promise<boolean> {
    try {
      await this.#client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(message)) }),
      );
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw mapped(error, `PostToConnection ${connectionId}`);
    }
  }

  /** Closes a connection (one replaced by a newer connection of the same site); a gone one is no error. */
  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.#client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!isGone(error)) throw mapped(error, `DeleteConnection ${connectionId}`);
    }
  }
}

function isGone(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'GoneException' || e?.$metadata?.httpStatusCode === 410;
}

function mapped(error: unknown, what: string): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return isTransientAwsError(error, ['LimitExceededException'])
    ? new TransientError(`${what} failed: ${detail}`, { cause: error })
    : new AgentDeliveryError(`${what} failed: ${detail}`, { cause: error });
}
