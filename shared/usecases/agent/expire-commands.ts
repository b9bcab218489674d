import type { CommandRecord } from '../../ports/command-store.ts';
import type { AgentChannelDeps } from './deps.ts';
import { deliverPending, viaChannel } from './deliver-pending.ts';
import { reportFailures } from './report-failures.ts';

/** A failure is left this long to the handler that recorded it before the sweep takes it for a lost one. */
const GRACE_MS = 60_000;

export interface ExpireCommandsOutput {
  /** Commands this sweep moved to expired. */
  readonly expired: readonly CommandRecord[];
  /** Failures recorded by this sweep (the expired ones, and failures an earlier run did not get to record). */
  readonly reported: readonly CommandRecord[];
  /** Sites whose sweep failed, with the error; the other sites were swept. */
  readonly failed: readonly { readonly site: string; readonly error: unknown }[];
}

/**
 * The expiry sweep: every queued or delivered command past its expiry without an ack becomes expired, and is
 * recorded like a failed action ("command expired before the agent ran it": critical alert, `agent.command_failed`
 * webhook). Failures acknowledged or expired earlier but never recorded (a crash in between) are recorded now.
 */
export async function expireCommands(
  deps: Pick<AgentChannelDeps, 'config' | 'store' | 'clock' | 'commands' | 'dispatch' | 'log'>,
  input: { readonly sites?: readonly string[] } = {},
): Promise<ExpireCommandsOutput> {
  const sites = input.sites ?? deps.config.sites.filter((s) => s.agent).map((s) => s.id);
  const expired: CommandRecord[] = [];
  const reported: CommandRecord[] = [];
  const failed: { site: string; error: unknown }[] = [];
  for (const site of sites) {
    try {
      const now = deps.clock.now();
      const toReport: CommandRecord[] = [];
      for (const record of await deps.commands.list(site)) {
        if ((record.status === 'queued' || record.status === 'delivered') && record.expiresAt <= now) {
          const done = await deps.commands.expire(site, record.id, now);
          if (!done) continue;
          deps.log?.({ type: 'command-expired', site, id: record.id });
          expired.push(done);
          toReport.push(done);
        } else if (
          !record.reported &&
          isFailure(record) &&
          (record.ackedAt ?? record.expiredAt ?? now) < now - GRACE_MS
        ) {
          toReport.push(record);
        }
      }
      await reportFailures(deps, site, toReport);
      reported.push(...toReport);
    } catch (error) {
      failed.push({ site, error });
    }
  }
  return { expired, reported, failed };
}

export interface SweepCommandsOutput extends ExpireCommandsOutput {
  /** Queued commands handed to connected agents. */
  readonly delivered: number;
}

/**
 * The command sweep, every minute (a schedule in AWS, a timer locally): expires what is past its expiry
 * ({@link expireCommands}), then hands queued commands to sites whose agent is connected (a delivery that failed
 * earlier). One site's failure does not stop the others; it is in `failed`.
 */
export async function sweepCommands(
  deps: Pick<AgentChannelDeps, 'config' | 'store' | 'clock' | 'commands' | 'channel' | 'dispatch' | 'log'>,
): Promise<SweepCommandsOutput> {
  const out = await expireCommands(deps);
  const failed = [...out.failed];
  let delivered = 0;
  for (const site of deps.config.sites.filter((s) => s.agent)) {
    try {
      delivered += (await deliverPending(deps, { site: site.id, send: viaChannel(deps, site.id) })).length;
    } catch (error) {
      failed.push({ site: site.id, error });
    }
  }
  return { ...out, delivered, failed };
}

/** Whether the command ended without doing what it was for. */
export function isFailure(record: CommandRecord): boolean {
  return record.status === 'expired' || (record.status === 'acked' && record.ack?.status !== 'succeeded');
}
