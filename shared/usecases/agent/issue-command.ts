import { nonce, signCommand } from '../../contracts/agent-signing.ts';
import type { CommandBody } from '../../contracts/agent.ts';
import type { AgentCommandAction } from '../../domain/model.ts';
import type { CommandRecord } from '../../ports/command-store.ts';
import type { ActionHandler } from '../dispatch.ts';
import { agentSite, iso, NoAgentError, type AgentChannelDeps } from './deps.ts';
import { deliverPending, viaChannel } from './deliver-pending.ts';

export type IssueCommandDeps = Pick<
  AgentChannelDeps,
  'config' | 'clock' | 'commands' | 'keys' | 'channel' | 'log' | 'resendAt'
>;

export interface IssueCommandOutput {
  readonly record: CommandRecord;
  /** Whether this call stored it (false: a retry found it stored already). */
  readonly created: boolean;
  /** Whether this call handed it to the site's live agent. */
  readonly delivered: boolean;
  readonly detail: string;
}

/**
 * Issues the command an AgentCommandAction asks for: signs it (the action's id is the command's id, with a fresh
 * nonce), stores it queued (a retry finds the stored one and changes nothing), and hands it to the site's live agent
 * if there is one, after any older command still waiting for its ack (deliverPending). An offline agent is not an
 * error: the command waits for the agent's reconnect or next poll, until it expires; a delivered one is resent until
 * the agent acks it. A store failure is a TransientError (the dispatcher retries); a site without an agent is
 * NoAgentError.
 */
export async function issueCommand(deps: IssueCommandDeps, action: AgentCommandAction): Promise<IssueCommandOutput> {
  if (!agentSite(deps.config, action.site)) throw new NoAgentError(action.site);
  const now = deps.clock.now();
  const body: CommandBody = {
    id: action.id,
    site: action.site,
    action: action.command,
    args: { link: action.link },
    issuedAt: iso(now),
    expiresAt: iso(action.expiresAt),
    nonce: nonce(),
  };
  const command = signCommand(body, await deps.keys.signingKey());
  const { record, created } = await deps.commands.create({
    site: action.site,
    id: action.id,
    action,
    command,
    createdAt: now,
  });
  if (created) deps.log?.({ type: 'command-queued', site: record.site, id: record.id, action: body.action });
  const what = `${action.command} to ${action.link} (${record.id})`;
  if (record.status === 'acked' || record.status === 'expired')
    return { record, created, delivered: false, detail: `${what} already ${record.status}` };
  if (record.expiresAt <= now) return { record, created, delivered: false, detail: `${what} expired before delivery` };
  const sent = await deliverPending(deps, { site: record.site, send: viaChannel(deps, record.site) });
  const mine = sent.find((r) => r.id === record.id);
  // A heartbeat or poll of the agent may have claimed it first, and delivered it; or its ack is in already.
  const latest = mine ?? (await deps.commands.get(record.site, record.id)) ?? record;
  const detail =
    latest.status === 'queued'
      ? `${what} queued until the agent connects or polls`
      : latest.status === 'delivered'
        ? `${what} delivered to the agent${latest.deliveries > 1 ? ` (${latest.deliveries} sends)` : ''}; sent again until it acks, until ${iso(latest.expiresAt)}`
        : `${what} already ${latest.status}`;
  return { record: latest, created, delivered: mine !== undefined, detail };
}

/** The dispatcher's handler of agent-command actions (DispatchDeps.agentCommands). */
export function agentCommandHandler(deps: IssueCommandDeps): ActionHandler<AgentCommandAction> {
  return async (action) => ({ detail: (await issueCommand(deps, action)).detail });
}
