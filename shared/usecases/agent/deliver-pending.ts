import type { SignedCommand } from '../../contracts/agent.ts';
import type { CommandRecord } from '../../ports/command-store.ts';
import type { AgentChannelDeps } from './deps.ts';

/** Hands one command to the agent; false when it cannot be reached (no connection, or it just went away). */
export type SendCommand = (command: SignedCommand) => Promise<boolean>;

/** A sender through the deps' channel (the site's live connection). */
export function viaChannel(deps: Pick<AgentChannelDeps, 'channel'>, site: string): SendCommand {
  return (command) => deps.channel.send(site, { v: 1, type: 'command', command });
}

/**
 * Resends of a command whose ack has not come: 5 s after the first send, then twice as long each time, at most a
 * minute apart, until its expiry. The agent answers a resend with the ack it gave (it never runs a command twice).
 */
export const RESEND = { firstMs: 5_000, maxMs: 60_000 } as const;

/** When a delivered, unacknowledged command is next due to be sent again; null when never (not delivered, expiring). */
export function resendDueAt(record: CommandRecord): number | null {
  if (record.status !== 'delivered' || record.deliveredAt === null) return null;
  const at = record.deliveredAt + Math.min(RESEND.maxMs, RESEND.firstMs * 2 ** Math.max(0, record.deliveries - 1));
  return at < record.expiresAt ? at : null;
}

/** What became of one delivery: sent, skipped (expired, or claimed by another deliverer), or agent unreachable. */
export type Delivery =
  { readonly outcome: 'delivered'; readonly record: CommandRecord } | { readonly outcome: 'skipped' | 'unreachable' };

/**
 * Sends one command, or sends a delivered one again: claims it first (queued → delivered, or a resend of the
 * delivered command as last seen), so that two deliverers never both send it, sends the signed command as stored,
 * and puts it back in the queue when the send did not reach the agent.
 */
export async function deliverCommand(
  deps: Pick<AgentChannelDeps, 'clock' | 'commands' | 'log'>,
  record: CommandRecord,
  send: SendCommand,
): Promise<Delivery> {
  const now = deps.clock.now();
  if (record.expiresAt <= now) return { outcome: 'skipped' };
  const claimed =
    record.status === 'queued'
      ? await deps.commands.claim(record.site, record.id, now)
      : record.status === 'delivered'
        ? await deps.commands.reclaim(record.site, record.id, record.deliveries, now)
        : null;
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
  deps.log?.(
    claimed.deliveries > 1
      ? { type: 'command-resent', site: record.site, id: record.id, deliveries: claimed.deliveries }
      : { type: 'command-delivered', site: record.site, id: record.id },
  );
  return { outcome: 'delivered', record: claimed };
}

/**
 * Sends the site's open, unexpired commands, oldest first, with `send` (a new connection, a heartbeat's reply, a
 * poll's response, the dispatcher, a resend timer): queued ones, and delivered ones whose ack has not come when their
 * resend is due, when a newer command goes out after them (so the agent gets them in order), or always with
 * `resend: 'all'` (a new connection: the old one may have lost them). Stops at the first that cannot be sent.
 * Expired ones are left to the expiry sweep. Tells `deps.resendAt` when a resend is next due.
 */
export async function deliverPending(
  deps: Pick<AgentChannelDeps, 'clock' | 'commands' | 'log' | 'resendAt'>,
  input: { readonly site: string; readonly send: SendCommand; readonly resend?: 'due' | 'all' },
): Promise<CommandRecord[]> {
  const now = deps.clock.now();
  const open = (await deps.commands.list(input.site, { statuses: ['queued', 'delivered'] })).filter(
    (r) => r.expiresAt > now,
  );
  const delivered: CommandRecord[] = [];
  const latest = [...open];
  for (const [i, record] of open.entries()) {
    const due =
      record.status === 'queued' ||
      input.resend === 'all' ||
      (resendDueAt(record) ?? Infinity) <= now ||
      open.slice(i + 1).some((r) => r.status === 'queued');
    if (!due) continue;
    const done = await deliverCommand(deps, record, input.send);
    if (done.outcome === 'unreachable') break;
    if (done.outcome === 'delivered') {
      delivered.push(done.record);
      latest[i] = done.record;
    }
  }
  const next = Math.min(...latest.map((r) => resendDueAt(r) ?? Infinity));
  if (Number.isFinite(next)) deps.resendAt?.(input.site, next);
  return delivered;
}
