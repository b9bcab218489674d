import { challengeToken, nonce } from '../../contracts/agent-signing.ts';
import { Challenge } from '../../contracts/agent.ts';
import type { AgentChannelDeps } from './deps.ts';
import { iso } from './deps.ts';

/** Challenges are valid this long unless the deps say otherwise. */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 60;

/**
 * A fresh challenge for an agent of `site`: a random nonce and an expiry, with the control plane's MAC over them,
 * so that nothing is stored until the agent answers. Any well-formed site id gets one (an unknown site is refused
 * when it answers), so that the endpoint does not tell which sites exist. Throws a ZodError on a malformed id.
 */
export async function issueChallenge(
  deps: Pick<AgentChannelDeps, 'clock' | 'keys' | 'challengeTtlSeconds'>,
  input: { readonly site: string },
): Promise<Challenge> {
  const ttl = deps.challengeTtlSeconds ?? DEFAULT_CHALLENGE_TTL_SECONDS;
  const fields = { site: input.site, nonce: nonce(), expiresAt: iso(deps.clock.now() + ttl * 1000) };
  const token = challengeToken(await deps.keys.challengeSecret(), fields);
  return Challenge.parse({ v: 1, ...fields, token });
}
