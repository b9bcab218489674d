import { recordFailures } from '../../domain/decide.ts';
import type { CommandAck } from '../../contracts/agent.ts';
import type { CommandRecord } from '../../ports/command-store.ts';
import { commitEvent } from '../commit-event.ts';
import type { AgentChannelDeps } from './deps.ts';

/** Why a command counts as failed, in the words of the alert. */
export function failureText(record: CommandRecord): string {
  if (record.status === 'expired' || !record.ack) return 'command expired before the agent ran it';
  return ackText(record.ack);
}

/** An ack that is not a success, in a few words. */
export function ackText(ack: CommandAck): string {
  if (ack.status === 'refused') return `the agent refused it (${ack.reason ?? 'no reason given'})`;
  const code = ack.exitCode === undefined || ack.exitCode === null ? '' : ` with exit code ${ack.exitCode}`;
  const tail = (ack.output ?? '').trim().split('\n').at(-1)?.slice(0, 200);
  return `the agent ran it and it failed${code}${tail ? `: ${tail}` : ''}`;
}

/**
 * Records failed, refused or expired commands as one action-failed transition per command (critical alert and an
 * `agent.command_failed` webhook, through recordFailures), then marks them reported. A crash in between reports
 * them again on the next sweep: people may hear twice, never not at all.
 */
export async function reportFailures(
  deps: Pick<AgentChannelDeps, 'config' | 'store' | 'clock' | 'commands' | 'dispatch' | 'log'>,
  site: string,
  records: readonly CommandRecord[],
): Promise<void> {
  const siteConfig = deps.config.sites.find((s) => s.id === site);
  if (!siteConfig || records.length === 0) return;
  const failures = records.map((r) => ({ action: r.action, error: failureText(r), attempts: 1 }));
  const out = await commitEvent(deps, site, (state) =>
    recordFailures({ site: siteConfig, regions: deps.config.regions.probe, state, failures, now: deps.clock.now() }),
  );
  for (const r of records) await deps.commands.markReported(site, r.id);
  deps.log?.({ type: 'failure-recorded', site, ids: records.map((r) => r.id) });
  if (out && out.state.outbox.some((a) => a.kind !== 'history')) await deps.dispatch?.(site);
}
