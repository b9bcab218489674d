import type { SiteConfig } from '../../config/model.ts';
import { AgentMessage, type CommandAck, type ServerMessage } from '../../contracts/agent.ts';
import type { ObservationBatch } from '../../contracts/observation.ts';
import { decideSite } from '../decide-site.ts';
import { deliverPending, type SendCommand } from './deliver-pending.ts';
import { iso, type AgentChannelDeps } from './deps.ts';
import { ackText, reportFailures } from './report-failures.ts';

export interface HandleAgentMessageInput {
  /** The authenticated site: every message must be about it. */
  readonly site: SiteConfig;
  /** The message as received (JSON-parsed, not yet validated). */
  readonly message: unknown;
  /** Sends a message back to this agent (the WebSocket, or the poll's response); rejects when it cannot. */
  readonly reply: (message: ServerMessage) => Promise<void>;
  /** The connection it came on, for heartbeat bookkeeping in the cloud. */
  readonly connectionId?: string;
}

export type HandleAgentMessageOutput =
  { readonly type: AgentMessage['type'] } | { readonly type: 'refused'; readonly why: string };

/**
 * Handles one message from an authenticated agent: a heartbeat is answered (and queued commands follow it), an ack
 * moves its command to acked (a failure or refusal is recorded: critical alert and `agent.command_failed` webhook),
 * observations of the site's own links go to the decider as vantage `site:<site>/<link>`, an autonomy report is
 * stored and logged. Messages about another site, or malformed ones, are refused with an error reply.
 */
export async function handleAgentMessage(
  deps: AgentChannelDeps,
  input: HandleAgentMessageInput,
): Promise<HandleAgentMessageOutput> {
  const site = input.site.id;
  const refuse = async (why: string): Promise<HandleAgentMessageOutput> => {
    deps.log?.({ type: 'message-refused', site, why });
    await input.reply({ v: 1, type: 'error', message: why }).catch(() => undefined);
    return { type: 'refused', why };
  };
  const parsed = AgentMessage.safeParse(input.message);
  if (!parsed.success) return refuse(`malformed message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const message = parsed.data;
  switch (message.type) {
    case 'heartbeat': {
      const heartbeat = { at: deps.clock.now(), activeLink: message.activeLink, version: message.version };
      if (deps.connections && input.connectionId) await deps.connections.touch(site, input.connectionId, heartbeat);
      deps.log?.({ type: 'heartbeat', site, activeLink: message.activeLink ?? null });
      await input.reply({ v: 1, type: 'heartbeat-ack', serverTime: iso(deps.clock.now()) });
      await deliverPending(deps, { site, send: sendBy(input.reply) });
      return { type: 'heartbeat' };
    }
    case 'ack': {
      if (message.ack.site !== site) return refuse(`ack for site ${message.ack.site} on the connection of ${site}`);
      await acknowledge(deps, site, message.ack);
      return { type: 'ack' };
    }
    case 'observations': {
      const accepted: ObservationBatch[] = [];
      for (const batch of message.batches) if (ownBatch(input.site, batch)) accepted.push(batch);
      const refused = message.batches.length - accepted.length;
      deps.log?.({ type: 'observations', site, accepted: accepted.length, refused });
      if (accepted.length > 0) await decide(deps, site, accepted);
      if (refused > 0)
        return refuse(`${refused} batch(es) not of site ${site}'s own links (vantage site:${site}/<link>)`);
      return { type: 'observations' };
    }
    case 'autonomy': {
      const report = message.report;
      if (report.site !== site) return refuse(`autonomy report for site ${report.site} on the connection of ${site}`);
      await deps.commands.putAutonomyReport(report, deps.clock.now());
      deps.log?.({ type: 'autonomy', site, fromLink: report.fromLink, toLink: report.toLink, reason: report.reason });
      if (report.ack && report.ack.site === site) await acknowledge(deps, site, report.ack);
      return { type: 'autonomy' };
    }
  }
}

/** A SendCommand through a reply function: a reply that rejects means the agent is not reachable. */
function sendBy(reply: HandleAgentMessageInput['reply']): SendCommand {
  return (command) =>
    reply({ v: 1, type: 'command', command }).then(
      () => true,
      () => false,
    );
}

/** Moves the command to acked; a failure or refusal is recorded. A late or repeated ack changes nothing. */
async function acknowledge(deps: AgentChannelDeps, site: string, ack: CommandAck): Promise<void> {
  const record = await deps.commands.acknowledge(site, ack.commandId, ack, deps.clock.now());
  if (!record) {
    const known = await deps.commands.get(site, ack.commandId);
    const why = known ? `the command is already ${known.status}` : 'no such command';
    deps.log?.({ type: 'ack-ignored', site, id: ack.commandId, why, status: ack.status, reason: ack.reason });
    return;
  }
  const detail = ack.status === 'succeeded' ? `succeeded${ack.dryRun ? ' (dry run)' : ''}` : ackText(ack);
  deps.log?.({ type: 'command-acked', site, id: record.id, status: ack.status, detail });
  if (ack.status !== 'succeeded') await reportFailures(deps, site, [record]);
}

/** A batch of this site's agent on one of its links, every observation made by that vantage for this site. */
function ownBatch(site: SiteConfig, batch: ObservationBatch): boolean {
  const prefix = `site:${site.id}/`;
  if (batch.site !== site.id || !batch.vantage.startsWith(prefix)) return false;
  const link = batch.vantage.slice(prefix.length);
  if (!site.links.some((l) => l.id === link)) return false;
  return batch.observations.every((o) => o.site === site.id && o.vantage === batch.vantage);
}

async function decide(deps: AgentChannelDeps, site: string, batches: readonly ObservationBatch[]): Promise<void> {
  if (deps.observations) return deps.observations.publish(batches);
  const out = await decideSite(deps, { site, batches });
  if (out.written && out.state.outbox.some((a) => a.kind !== 'history')) await deps.dispatch?.(site);
}
