import type { AutonomyReport, CommandAck, SignedCommand } from '../contracts/agent.ts';
import type { AgentCommandAction } from '../domain/model.ts';
import { FailoverError } from '../errors.ts';

/**
 * Where a command is in its life: waiting to be sent, sent and waiting for the agent's ack (resent until it comes),
 * acknowledged, or too late to run.
 */
export const COMMAND_STATUSES = ['queued', 'delivered', 'acked', 'expired'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** Statuses a command can still leave: it may yet be delivered, acknowledged or expire. */
export const OPEN_STATUSES: readonly CommandStatus[] = ['queued', 'delivered'];

/** A signed command to a site's agent and what became of it. */
export interface CommandRecord {
  readonly site: string;
  /** The AgentCommandAction's id (`<site>:<seq>:<n>`): a dispatcher that retries never makes a second command. */
  readonly id: string;
  /** The outbox action it was issued for, to record its failure against. */
  readonly action: AgentCommandAction;
  /** The command exactly as signed and sent. */
  readonly command: SignedCommand;
  readonly status: CommandStatus;
  /** Epoch ms of the signed command's expiry. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** When it was last handed to a connection or a poll. */
  readonly deliveredAt: number | null;
  /**
   * How many times it was handed to the agent: the first send and each resend while no ack came (a send that failed
   * puts it back in the queue, uncounted).
   */
  readonly deliveries: number;
  readonly ack: CommandAck | null;
  readonly ackedAt: number | null;
  readonly expiredAt: number | null;
  /** Whether its failure (a failed or refused ack, or expiry) was recorded as an action-failed transition. */
  readonly reported: boolean;
}

/** What `create` needs: the rest starts as a fresh queued command. */
export type NewCommand = Pick<CommandRecord, 'site' | 'id' | 'action' | 'command' | 'createdAt'>;

/** An autonomy report as received. */
export interface StoredAutonomyReport {
  readonly report: AutonomyReport;
  readonly receivedAt: number;
}

/** The command store failed in a way retrying will not fix. */
export class CommandStoreError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('COMMAND_STORE_ERROR', message, options);
    this.name = 'CommandStoreError';
  }
}

/**
 * Commands to site agents and their lifecycle, queued → delivered → acked | expired. Every transition is one
 * conditional write, so racing deliverers, duplicate acks and the expiry sweep cannot both win. Errors that may pass
 * on a retry are TransientError.
 */
export interface CommandStore {
  /** Stores a new queued command; when one with this id exists it is returned unchanged (`created` false). */
  create(command: NewCommand): Promise<{ readonly record: CommandRecord; readonly created: boolean }>;
  get(site: string, id: string): Promise<CommandRecord | null>;
  /** The site's commands, oldest first, optionally only those in `statuses`. */
  list(site: string, filter?: { readonly statuses?: readonly CommandStatus[] }): Promise<CommandRecord[]>;
  /** Claims a queued command for delivery (→ delivered); null when it is not queued (claimed by another, or done). */
  claim(site: string, id: string, at: number): Promise<CommandRecord | null>;
  /**
   * Claims a delivered, unacknowledged command for a resend (`deliveries` + 1, `deliveredAt` = at), on condition that
   * it is still delivered with the `deliveries` the caller saw; null when it moved on or another deliverer resent it.
   */
  reclaim(site: string, id: string, deliveries: number, at: number): Promise<CommandRecord | null>;
  /** Puts a claimed command whose send failed back in the queue (delivered → queued); false when it moved on. */
  requeue(site: string, id: string): Promise<boolean>;
  /** Records the agent's answer (queued | delivered → acked); null when it was not open: a late or repeated ack. */
  acknowledge(site: string, id: string, ack: CommandAck, at: number): Promise<CommandRecord | null>;
  /** Gives up on an open command past its expiry (→ expired); null when it was not open. */
  expire(site: string, id: string, at: number): Promise<CommandRecord | null>;
  /** Notes that the command's failure was recorded, so that the sweep does not record it again. */
  markReported(site: string, id: string): Promise<void>;
  putAutonomyReport(report: AutonomyReport, receivedAt: number): Promise<void>;
  /** The site's autonomy reports, newest first. */
  listAutonomyReports(site: string, limit?: number): Promise<StoredAutonomyReport[]>;
}
