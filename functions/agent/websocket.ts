import { utf8Body } from '../../shared/api/body-text.ts';
import type { ApiGatewayAgentChannel } from '../../shared/adapters/aws/api-gateway-agent-channel.ts';
import type { ServerMessage } from '../../shared/contracts/agent.ts';
import type { AgentConnections } from '../../shared/ports/agent-channel.ts';
import type { AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { handleAgentMessage } from '../../shared/usecases/agent/handle-agent-message.ts';

/** A WebSocket route event of API Gateway, with the context the `$connect` authorizer returned. */
export interface AgentWebSocketEvent {
  readonly requestContext: {
    readonly routeKey: string;
    readonly eventType: 'CONNECT' | 'DISCONNECT' | 'MESSAGE';
    readonly connectionId: string;
    readonly authorizer?: { readonly site?: string } | null;
  };
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

export interface WebSocketResult {
  readonly statusCode: number;
}

export type WebSocketDeps = AgentChannelDeps & {
  readonly channel: ApiGatewayAgentChannel;
  readonly connections: AgentConnections;
};

/**
 * The WebSocket routes: `$connect` (after the authorizer) records the connection as the site's, closing the one it
 * replaces; `$disconnect` forgets it; `$default` handles one agent message, replying through PostToConnection. Queued
 * commands follow the agent's first heartbeat: API Gateway accepts no PostToConnection before `$connect` returns.
 */
export async function handleWebSocket(deps: WebSocketDeps, event: AgentWebSocketEvent): Promise<WebSocketResult> {
  const { connectionId, eventType } = event.requestContext;
  const siteId = event.requestContext.authorizer?.site;
  const site = deps.config.sites.find((s) => s.id === siteId);
  if (!site) {
    // Only the authorizer lets connections in, and it always names the site: this is a misconfigured route.
    deps.onError?.(new Error(`no authorized site on connection ${connectionId} (${eventType})`), 'agent websocket');
    return { statusCode: 403 };
  }
  switch (eventType) {
    case 'CONNECT': {
      const replaced = await deps.connections.register(site.id, connectionId, deps.clock.now());
      if (replaced)
        await deps.channel
          .disconnect(replaced)
          .catch((e: unknown) => deps.onError?.(e, 'closing a replaced connection'));
      return { statusCode: 200 };
    }
    case 'DISCONNECT':
      await deps.connections.unregister(site.id, connectionId);
      return { statusCode: 200 };
    case 'MESSAGE': {
      const reply = async (message: ServerMessage) => {
        if (!(await deps.channel.postTo(connectionId, message))) throw new Error(`connection ${connectionId} is gone`);
      };
      let message: unknown;
      try {
        message = JSON.parse(utf8Body(event) ?? '');
      } catch {
        await reply({ v: 1, type: 'error', message: 'messages are JSON text' }).catch(() => undefined);
        return { statusCode: 400 };
      }
      const out = await handleAgentMessage(deps, { site, message, reply, connectionId });
      return { statusCode: out.type === 'refused' ? 400 : 200 };
    }
  }
}
