import { agentAuthPayload, publicKeyFromRaw, validChallengeToken, verifyBytes } from '../../contracts/agent-signing.ts';
import type { SiteConfig } from '../../config/model.ts';
import { AgentAuth } from '../../contracts/agent.ts';
import { AgentAuthError, type AgentChannelDeps } from './deps.ts';

/** Replay keys live a little past the challenge's expiry, so that clock steps cannot reopen them. */
const REPLAY_MARGIN_SECONDS = 30;

/**
 * Checks an agent's proof: a well-formed AgentAuth for a configured site with an agent key, carrying a challenge this
 * control plane issued (its MAC) that has not expired, signed by the site's key, and never used before. The nonce is
 * spent last, so that forgeries cannot burn a genuine agent's challenge. Refusals are logged with the reason and the
 * site, never the signature; the AgentAuthError thrown carries the same.
 */
export async function authenticateAgent(
  deps: Pick<AgentChannelDeps, 'config' | 'clock' | 'keys' | 'replay' | 'log'>,
  auth: unknown,
): Promise<{ readonly site: SiteConfig }> {
  const refuse = (reason: AgentAuthError['reason'], site: string | null, detail: string): never => {
    deps.log?.({ type: 'auth-refused', site, reason, detail });
    throw new AgentAuthError(reason, site, detail);
  };
  const parsed = AgentAuth.safeParse(auth);
  if (!parsed.success) {
    const site = (auth as { site?: unknown } | null)?.site;
    return refuse('malformed', typeof site === 'string' ? site.slice(0, 64) : null, 'not an AgentAuth');
  }
  const a = parsed.data;
  const site = deps.config.sites.find((s) => s.id === a.site);
  if (!site) return refuse('unknown-site', a.site, 'no such site in the configuration');
  if (!site.agent) return refuse('no-agent-key', a.site, 'the site has no agent public key configured');
  if (!validChallengeToken(await deps.keys.challengeSecret(), a))
    return refuse('bad-token', a.site, 'the challenge was not issued by this control plane');
  const left = Date.parse(a.expiresAt) - deps.clock.now();
  if (left <= 0) return refuse('expired', a.site, `the challenge expired at ${a.expiresAt}`);
  let key;
  try {
    key = publicKeyFromRaw(site.agent.publicKey);
  } catch {
    return refuse('no-agent-key', a.site, 'the configured agent public key is not an Ed25519 key');
  }
  if (!verifyBytes(agentAuthPayload(a), a.signature, key))
    return refuse('bad-signature', a.site, "the signature does not verify with the site's agent key");
  if (!(await deps.replay.firstUse(`agent-challenge:${a.nonce}`, Math.ceil(left / 1000) + REPLAY_MARGIN_SECONDS)))
    return refuse('replayed', a.site, 'the challenge was used before');
  deps.log?.({ type: 'auth-accepted', site: site.id });
  return { site };
}
