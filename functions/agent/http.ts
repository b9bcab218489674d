import * as z from 'zod';
import { invokeLocally, type HttpRoute } from '../../shared/api/http-route.ts';
import { PollRequest, SiteId, type PollResponse, type SignedCommand } from '../../shared/contracts/agent.ts';
import { authenticateAgent } from '../../shared/usecases/agent/authenticate-agent.ts';
import { deliverPending } from '../../shared/usecases/agent/deliver-pending.ts';
import { iso, type AgentChannelDeps } from '../../shared/usecases/agent/deps.ts';
import { handleAgentMessage } from '../../shared/usecases/agent/handle-agent-message.ts';
import { issueChallenge } from '../../shared/usecases/agent/issue-challenge.ts';
import { routeHandler, type RouteHandler, type RouteOptions, type RouteSpec } from '../shared/route-handler.ts';

export type { HttpRoute };

/** Paths of the agent's HTTPS endpoints (the agent's `pollUrl` is their common prefix, `/v1/agent`). */
export const AGENT_HTTP_PATHS = { challenge: '/v1/agent/challenge', poll: '/v1/agent/poll' } as const;

/** The challenge and poll routes, for the local HTTP server. */
export function agentRoutes(deps: AgentChannelDeps): HttpRoute[] {
  const challenge = challengeHandler(deps);
  const poll = pollHandler(deps);
  return [
    { method: 'GET', path: AGENT_HTTP_PATHS.challenge, handler: (event) => invokeLocally(challenge, event) },
    { method: 'POST', path: AGENT_HTTP_PATHS.poll, handler: (event) => invokeLocally(poll, event) },
  ];
}

const CHALLENGE_ROUTE = { auth: 'public', query: z.strictObject({ site: SiteId }) } as const satisfies RouteSpec;
// `signature`: the body's AgentAuth (a signed challenge) authenticates the agent, in the use case.
const POLL_ROUTE = { auth: 'signature', body: PollRequest } as const satisfies RouteSpec;

/** The agent routes' options: errors behind a 5xx go to deps.onError with the route's name. */
function optionsOf(deps: AgentChannelDeps, where: string): RouteOptions {
  return {
    log: { error: (message, ...extra) => deps.onError?.(extra.find((e) => 'error' in e)?.error ?? message, where) },
  };
}

/** `GET /v1/agent/challenge?site=<id>`: a fresh Challenge (200), or 400 for a missing or malformed site id. */
export function challengeHandler(deps: AgentChannelDeps): RouteHandler {
  return routeHandler(CHALLENGE_ROUTE, optionsOf(deps, 'agent challenge'), async ({ query }) => ({
    status: 200,
    body: await issueChallenge(deps, { site: query.site }),
  }));
}

/**
 * `POST /v1/agent/poll`: the polling fallback. The body is a PollRequest (400 otherwise); its AgentAuth must hold
 * (401 otherwise, the reason logged, not told); its messages are handled in order as if they came over the
 * WebSocket; the answer is a PollResponse with the site's queued commands, now delivered.
 */
export function pollHandler(deps: AgentChannelDeps): RouteHandler {
  return routeHandler(POLL_ROUTE, optionsOf(deps, 'agent poll'), async ({ body }) => {
    const { site } = await authenticateAgent(deps, body.auth);
    const commands: SignedCommand[] = [];
    const reply = async (message: Parameters<Parameters<typeof handleAgentMessage>[1]['reply']>[0]) => {
      if (message.type === 'command') commands.push(message.command);
    };
    for (const message of body.messages) await handleAgentMessage(deps, { site, message, reply });
    await deliverPending(deps, {
      site: site.id,
      send: async (command) => {
        commands.push(command);
        return true;
      },
    });
    const response: PollResponse = { v: 1, serverTime: iso(deps.clock.now()), commands };
    return { status: 200, body: response };
  });
}
