import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRoute } from '../../shared/api/http-route.ts';
import { utf8Body } from '../../shared/api/body-text.ts';
import { HttpProblem, problemResponse } from '../../shared/api/problem.ts';
import { PollRequest, type PollResponse, type SignedCommand } from '../../shared/contracts/agent.ts';
import { authenticateAgent } from '../../shared/usecases/agent/authenticate-agent.ts';
import { deliverPending } from '../../shared/usecases/agent/deliver-pending.ts';
import { AgentAuthError, iso, type AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { handleAgentMessage } from '../../shared/usecases/agent/handle-agent-message.ts';
import { issueChallenge } from '../../shared/usecases/agent/issue-challenge.ts';
import { toProblem } from '../shared/problems.ts';

export type { HttpRoute };

type Handler = HttpRoute['handler'];

/** Paths of the agent's HTTPS endpoints (the agent's `pollUrl` is their common prefix, `/v1/agent`). */
export const AGENT_HTTP_PATHS = { challenge: '/v1/agent/challenge', poll: '/v1/agent/poll' } as const;

/** The challenge and poll routes, for the local HTTP server. */
export function agentRoutes(deps: AgentChannelDeps): HttpRoute[] {
  return [
    { method: 'GET', path: AGENT_HTTP_PATHS.challenge, handler: challengeHandler(deps) },
    { method: 'POST', path: AGENT_HTTP_PATHS.poll, handler: pollHandler(deps) },
  ];
}

/** `GET /v1/agent/challenge?site=<id>`: a fresh Challenge (200), or 400 for a missing or malformed site id. */
export function challengeHandler(deps: AgentChannelDeps): Handler {
  return (event) =>
    guarded(deps, 'agent challenge', event, async () => {
      const site = event.queryStringParameters?.site;
      if (!site || !/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(site))
        throw new HttpProblem(400, 'expected ?site=<site id>', {
          errors: [{ path: 'query.site', message: 'a site id' }],
        });
      return json(200, await issueChallenge(deps, { site }));
    });
}

/**
 * `POST /v1/agent/poll`: the polling fallback. The body is a PollRequest (400 otherwise); its AgentAuth must hold
 * (401 otherwise, the reason logged, not told); its messages are handled in order as if they came over the
 * WebSocket; the answer is a PollResponse with the site's queued commands, now delivered.
 */
export function pollHandler(deps: AgentChannelDeps): Handler {
  return (event) =>
    guarded(deps, 'agent poll', event, async () => {
      const text = utf8Body(event);
      if (text === null) throw new HttpProblem(400, 'the body is not valid UTF-8', { code: 'invalid-utf8' });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new HttpProblem(400, 'the body is not JSON');
      }
      const request = PollRequest.safeParse(body);
      if (!request.success) throw new HttpProblem(400, 'the body is not a PollRequest (agent protocol v1)');
      const { site } = await authenticateAgent(deps, request.data.auth);
      const commands: SignedCommand[] = [];
      const reply = async (message: Parameters<Parameters<typeof handleAgentMessage>[1]['reply']>[0]) => {
        if (message.type === 'command') commands.push(message.command);
      };
      for (const message of request.data.messages) await handleAgentMessage(deps, { site, message, reply });
      await deliverPending(deps, {
        site: site.id,
        send: async (command) => {
          commands.push(command);
          return true;
        },
      });
      const response: PollResponse = { v: 1, serverTime: iso(deps.clock.now()), commands };
      return json(200, response);
    });
}

/** Failures as problems (toProblem: 401 for refused agents, 503 for passing trouble); all but those two logged. */
async function guarded(
  deps: AgentChannelDeps,
  where: string,
  event: APIGatewayProxyEventV2,
  run: () => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof HttpProblem) && !(error instanceof AgentAuthError)) deps.onError?.(error, where);
    return problemResponse(toProblem(error), { instance: event.rawPath, requestId: event.requestContext.requestId });
  }
}

function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}
