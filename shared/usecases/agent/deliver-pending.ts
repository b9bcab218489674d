import type { SignedCommand } from '../../contracts/agent.ts';
import type { CommandRecord } from '../../ports/command-store.ts';
import type { AgentChannelDeps } from './deps.ts';

/** Hands one command to the agent; false when it cannot be reached (no connection, or it just went away). */
export type SendCommand = (command: SignedCommand) => Promise<boolean>;

/** A sender through the deps' channel (the site's live connection). */
export function viaChannel(deps: Pick<AgentChannelDeps, 'channel'>, site: string): SendCommand {
  return (command) => deps.channel.send(site, { v: 1, type: 'command', command });
}

/** What became of one delivery: sent, skipped (expired, or claimed by another deliverer), or agent unreachable. */
export type Delivery =
  { readonly outcome: 'delivered'; readonly record: CommandRecord } | { readonly outcome: 'skipped' | 'unreachable' };

/**
 * Delivers one command: claims it (queued → delivered, so that two deliverers never both send it), sends it, and
 * puts it back in the queue when the send did not reach the agent.
 */
export async function deliverCommand(
  deps: Pick<AgentChannelDeps, 'clock' | 'commands' | 'log'>,
  record: CommandRecord,
  send: SendCommand,
): Promise<Delivery> {
  const now = deps.clock.now();
  if (record.expiresAt <= now) return { outcome: 'skipped' };
  const claimed = await deps.commands.claim(record.site, record.id, now);
  if (!claimed) return { outcome: 'skipped' };
  let sent = false;
  try {
    sent = await send(claimed.command);
  } catch (error) {
    deps.log?.({
      type: 'delivery-failed',
      site: record.site,
      id: record.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  if (!sent) {
    await deps.commands.requeue(record.site, record.id);
    return { outcome: 'unreachable' };
  }
  deps.log?.({ type: 'command-delivered', site: record.site, id: record.id });
  return { outcome: 'delivered', record: claimed };
}

/**
 * Delivers the site's queued, unexpired commands, oldest first, with `send` (a new connection, a heartbeat's reply,
 * a poll's response); stops at the first that cannot be sent. Expired ones are left to the expiry sweep.
 */
export async function deliverPending(
  deps: Pick<AgentChannelDeps, 'clock' | 'commands' | 'log'>,
  input: { readonly site: string; readonly send: SendCommand },
): Promise<CommandRecord[]> {
  const queued = await deps.commands.list(input.site, { statuses: ['queued'] });
  const delivered: CommandRecord[] = [];
  for (const record of queued) {
    if (record.expiresAt <= deps.clock.now()) continue;
    const done = await deliverCommand(deps, record, input.send);
    if (done.outcome === 'unreachable') break;
    if (done.outcome === 'delivered') delivered.push(done.record);
  }
  return delivered;
}
