import type { FailoverConfig, SiteConfig } from '../../config/model.ts';
import type { MaintenanceWindow } from '../../domain/model.ts';
import { FailoverError } from '../../errors.ts';
import type { AgentChannel, AgentConnections, AgentKeyring } from '../../ports/agent-channel.ts';
import type { Clock } from '../../ports/clock.ts';
import type { CommandStore } from '../../ports/command-store.ts';
import type { HistoryStore } from '../../ports/history-store.ts';
import type { ObservationSink } from '../../ports/observation-sink.ts';
import type { ReplayGuard } from '../../ports/replay-guard.ts';
import type { StateStore } from '../../ports/state-store.ts';

/** Everything the agent channel's use cases may need; each takes the part it uses. */
export interface AgentChannelDeps {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  /** Sites' state: failures of commands are recorded there (action-failed transitions). */
  readonly store: StateStore;
  readonly commands: CommandStore;
  readonly keys: AgentKeyring;
  /** Remembers used challenge nonces. */
  readonly replay: ReplayGuard;
  /** The way to a site's live agent. */
  readonly channel: AgentChannel;
  /** The site's live connections, where heartbeats are noted (cloud); none locally. */
  readonly connections?: AgentConnections;
  /** Where agent observations go (the decider's queue or the local control plane); default decideSite directly. */
  readonly observations?: ObservationSink;
  /** Maintenance windows beyond sites.yaml, for decideSite. */
  readonly maintenance?: (site: SiteConfig) => Promise<readonly MaintenanceWindow[]>;
  /** Where decideSite adds the agent's rounds to the check history (when it decides them here). */
  readonly history?: HistoryStore;
  /**
   * Told that a site's outbox has actions waiting after this channel wrote its state (a recorded failure): the local
   * runtime dispatches them; in the cloud the table's stream starts the dispatcher, so this is left out.
   */
  readonly dispatch?: (site: string) => void | Promise<void>;
  /**
   * Told when a site's delivered, unacknowledged commands are next due to be resent: the local runtime sets a timer
   * that calls deliverPending then. In the cloud this is left out: heartbeats, polls and the minute's sweep resend
   * what is due.
   */
  readonly resendAt?: (site: string, at: number) => void;
  /** How long a challenge may be used. @default 60 */
  readonly challengeTtlSeconds?: number;
  readonly log?: (event: AgentChannelEvent) => void;
  /** Told about unexpected failures (a store down, a bug) at the edges that must not throw: sockets, timers. */
  readonly onError?: (error: unknown, where: string) => void;
}

/** Why an agent was not let in. */
export type AuthRefusal =
  'malformed' | 'unknown-site' | 'no-agent-key' | 'bad-token' | 'expired' | 'bad-signature' | 'replayed';

/** How an agent reached the control plane. */
export type AgentVia = 'websocket' | 'poll';

/** What the channel did, for the log (never key or signature material). */
export type AgentChannelEvent =
  | {
      readonly type: 'auth-refused';
      readonly site: string | null;
      readonly reason: AuthRefusal;
      readonly detail: string;
    }
  | { readonly type: 'auth-accepted'; readonly site: string }
  | { readonly type: 'command-queued'; readonly site: string; readonly id: string; readonly action: string }
  | { readonly type: 'command-delivered'; readonly site: string; readonly id: string }
  | { readonly type: 'command-resent'; readonly site: string; readonly id: string; readonly deliveries: number }
  | { readonly type: 'delivery-failed'; readonly site: string; readonly id: string; readonly error: string }
  | {
      readonly type: 'command-acked';
      readonly site: string;
      readonly id: string;
      readonly status: 'succeeded' | 'failed' | 'refused';
      readonly detail: string;
    }
  | {
      readonly type: 'ack-ignored';
      readonly site: string;
      readonly id: string;
      readonly why: string;
      readonly status: 'succeeded' | 'failed' | 'refused';
      readonly reason?: string | undefined;
    }
  | { readonly type: 'command-expired'; readonly site: string; readonly id: string }
  | { readonly type: 'failure-recorded'; readonly site: string; readonly ids: readonly string[] }
  | { readonly type: 'message-refused'; readonly site: string; readonly why: string }
  | { readonly type: 'heartbeat'; readonly site: string; readonly activeLink: string | null }
  | { readonly type: 'observations'; readonly site: string; readonly accepted: number; readonly refused: number }
  | {
      readonly type: 'autonomy';
      readonly site: string;
      readonly fromLink: string;
      readonly toLink: string;
      readonly reason: string;
    };

/** An agent that could not prove itself: refused (401), and logged with the reason. */
export class AgentAuthError extends FailoverError {
  readonly reason: AuthRefusal;
  readonly site: string | null;

  constructor(reason: AuthRefusal, site: string | null, detail: string) {
    super('AGENT_AUTH_REFUSED', `agent of site ${site ?? '(none)'} refused: ${reason}: ${detail}`);
    this.name = 'AgentAuthError';
    this.reason = reason;
    this.site = site;
  }
}

/** A site the configuration does not know, or one without an agent. */
export class NoAgentError extends FailoverError {
  constructor(site: string) {
    super('NO_AGENT', `site "${site}" has no agent configured`);
    this.name = 'NoAgentError';
  }
}

/** The site's configuration when it has an agent, else undefined. */
export function agentSite(config: FailoverConfig, site: string): SiteConfig | undefined {
  const found = config.sites.find((s) => s.id === site);
  return found?.agent ? found : undefined;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
