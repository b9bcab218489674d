import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { bundledConfig, logger } from '../shared/runtime.ts';
import { challengeHandler, pollHandler } from './http.ts';
import { cloudAgentDeps } from './runtime.ts';
import { handleWebSocket, type AgentWebSocketEvent, type WebSocketResult } from './websocket.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const deps = cloudAgentDeps(bundledConfig());
const challenge = challengeHandler(deps);
const poll = pollHandler(deps);

type GatewayEvent = AgentWebSocketEvent | APIGatewayProxyEventV2;

const isWebSocket = (event: GatewayEvent): event is AgentWebSocketEvent => 'connectionId' in event.requestContext;

/**
 * The agent gateway: the WebSocket API's routes (`$connect`, `$disconnect`, `$default`) and the HTTP API's
 * `GET /v1/agent/challenge` and `POST /v1/agent/poll`, in one function so that an agent's requests share warm
 * instances and one set of permissions.
 */
export const handler = middy<GatewayEvent, WebSocketResult | APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event, context) => {
    if (isWebSocket(event)) return handleWebSocket(deps, event);
    if (event.routeKey === 'GET /v1/agent/challenge') return challenge(event, context);
    if (event.routeKey === 'POST /v1/agent/poll') return poll(event, context);
    return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
  });
