import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticateAgent } from '../../shared/usecases/agent/authenticate-agent.ts';
import { AgentAuthError } from '../../shared/usecases/agent/deps.ts';
import { bundledConfig, logger } from '../shared/runtime.ts';
import { authDeps } from './runtime.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const deps = authDeps(bundledConfig());

/**
 * The `$connect` authorizer of the agent WebSocket API (REQUEST, no caching): the AgentAuth in the query string must
 * hold. An accepted agent's site travels on as the authorizer context (`requestContext.authorizer.site` in every
 * later route); a refused one gets 401 (the reason is in the log, not in the answer).
 */
export const handler = middy<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    try {
      const { site } = await authenticateAgent(deps, event.queryStringParameters ?? {});
      return {
        principalId: `agent:${site.id}`,
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
        },
        context: { site: site.id },
      };
    } catch (error) {
      // API Gateway answers 401 for exactly this message, and 500 for any other error.
      if (error instanceof AgentAuthError) throw new Error('Unauthorized');
      logger.error('agent authentication could not be completed', { error: error as Error });
      throw new Error('authorizer unavailable');
    }
  });
