import { createHash } from 'node:crypto';
import type { FailoverConfig, InboundSourceConfig } from '../../config/model.ts';
import { describePosition } from '../../domain/explain.ts';
import { MAX_FAILOVER_HOLD_MS, type OperatorCommand, type TransitionKind } from '../../domain/model.ts';
import type { Clock } from '../../ports/clock.ts';
import type { MaintenanceStore } from '../../ports/maintenance-store.ts';
import type { ReplayGuard } from '../../ports/replay-guard.ts';
import {
  normalizeHeaders,
  readCommand,
  SignatureCheckError,
  verifyWithScheme,
  type InboundCommand,
} from '../../webhooks/inbound.ts';
import type { SecretResolver } from '../../webhooks/secrets.ts';
import { decideSite, type DecideSiteDeps, type DecideSiteOutput } from '../decide-site.ts';
import {
  HookForbiddenError,
  HookPayloadError,
  HookRejectedError,
  HookReplayError,
  HookSignatureError,
  HookTimestampError,
  UnknownHookSourceError,
} from './errors.ts';

/** A request to POST /v1/hooks/{source}, as received: the body untouched, since the signature covers its bytes. */
export interface InboundHookRequest {
  readonly source: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: string;
}

export interface VerifyInboundDeps {
  readonly config: FailoverConfig;
  readonly secrets: SecretResolver;
  readonly clock: Clock;
}

export interface VerifiedInbound {
  readonly source: InboundSourceConfig;
  /** The replay key: made only of what the signature covers (see VerifiedMessage). */
  readonly id: string;
  /** The signed timestamp, epoch seconds. */
  readonly timestamp: number;
}

/**
 * Checks an inbound request against its source's configuration: a known source, a valid signature in its scheme,
 * a timestamp within its tolerance. Throws UnknownHookSourceError, HookSignatureError or HookTimestampError (and
 * SecretUnavailableError when the source's secret cannot be read). Does not check replays.
 */
export async function verifyInbound(deps: VerifyInboundDeps, request: InboundHookRequest): Promise<VerifiedInbound> {
  const source = deps.config.integrations.inbound.find((s) => s.source === request.source);
  if (!source) throw new UnknownHookSourceError(request.source);
  const secret = await deps.secrets(source.secret);
  try {
    const message = verifyWithScheme(source, secret, normalizeHeaders(request.headers), request.body, deps.clock.now());
    return { source, ...message };
  } catch (error) {
    if (!(error instanceof SignatureCheckError)) throw error;
    if (error.reason === 'stale') throw new HookTimestampError(error.message);
    throw new HookSignatureError(error.message);
  }
}

export interface InboundHookDeps extends VerifyInboundDeps {
  readonly replay: ReplayGuard;
  /** The decider's dependencies (the same as the API's, with `maintenance` reading the MaintenanceStore). */
  readonly decide: DecideSiteDeps;
  /** Where maintenance.open and maintenance.close keep their windows; those actions are refused without one. */
  readonly maintenanceStore?: MaintenanceStore;
  /** Told after a decision wrote the site's state, e.g. for the local runtime to dispatch its actions at once. */
  readonly onDecided?: (site: string, out: DecideSiteOutput) => void | Promise<void>;
}

export interface InboundHookResult {
  readonly source: string;
  /** applied: the action was taken; ignored: the payload's event maps to no action (nothing changed). */
  readonly status: 'applied' | 'ignored';
  readonly detail: string;
  readonly action?: InboundCommand['action'];
  readonly site?: string;
  /** Kinds of the transitions the action caused at once. */
  readonly transitions: readonly TransitionKind[];
  /** The maintenance window opened or closed. */
  readonly windowId?: string;
}

/**
 * Handles POST /v1/hooks/{source}: verifies the request (verifyInbound), refuses a message seen before
 * (HookReplayError, keyed on its signed parts), reads the command from the payload (HookPayloadError), checks that the source may take that
 * action on that site (HookForbiddenError), and acts: opens or closes a maintenance window from a change ticket,
 * acknowledges an incident (no more reminders), or asks for a failover or failback, all through decideSite.
 * Whatever is refused changes nothing; a command the decider rejects raises HookRejectedError.
 */
export async function handleInboundHook(
  deps: InboundHookDeps,
  request: InboundHookRequest,
): Promise<InboundHookResult> {
  const verified = await verifyInbound(deps, request);
  const { source } = verified;
  // A message stays acceptable until tolerance after its timestamp, which may itself be tolerance ahead.
  if (!(await deps.replay.firstUse(replayKey(source.source, verified.id), 2 * source.toleranceSeconds + 60)))
    throw new HookReplayError(source.source, verified.id);

  const read = readCommand(source, request.body);
  if (read.type === 'invalid') throw new HookPayloadError(read.detail);
  if (read.type === 'ignored')
    return { source: source.source, status: 'ignored', detail: read.detail, transitions: [] };
  const command = read.command;
  if (!source.allow.includes(command.action))
    throw new HookForbiddenError(
      `source ${source.source} may not ${command.action} (allow: ${source.allow.join(', ')})`,
    );
  const site = await siteOf(deps, command);
  if (!source.sites.includes('*') && !source.sites.includes(site))
    throw new HookForbiddenError(`source ${source.source} may not act on site ${site}`);
  if (!deps.config.sites.some((s) => s.id === site)) throw new HookPayloadError(`unknown site "${site}"`);

  const by = `hook:${source.source}${command.by ? ` (${command.by})` : ''}`;
  const base = { source: source.source, status: 'applied' as const, action: command.action, site };
  switch (command.action) {
    case 'failover':
    case 'failback': {
      const reason = command.reason ?? (command.ticket ? `ticket ${command.ticket}` : `asked by ${source.source}`);
      const until = command.action === 'failover' ? holdUntil(deps, command) : undefined;
      const out = await decideWith(deps, site, [
        command.action === 'failover'
          ? { type: 'failover', reason, by, ...(until ? { until } : {}) }
          : { type: 'failback', reason, by },
      ]);
      return { ...base, detail: `${command.action} on ${site}`, transitions: out.transitions.map((t) => t.kind) };
    }
    case 'incident.acknowledge': {
      if (command.incident) {
        const state = await deps.decide.store.load(site);
        if (state?.incident?.id !== command.incident)
          throw new HookRejectedError(`incident ${command.incident} is not the open incident of site ${site}`);
      }
      const out = await decideWith(deps, site, [{ type: 'acknowledge', by }]);
      return {
        ...base,
        detail: `acknowledged the incident of ${site}`,
        transitions: out.transitions.map((t) => t.kind),
      };
    }
    case 'maintenance.open':
      return { ...base, ...(await openWindow(deps, source, site, command, by)) };
    case 'maintenance.close':
      return { ...base, ...(await closeWindow(deps, source, site, command, by)) };
  }
}

/** The replay key of a message; long ids are hashed to keep keys short. */
function replayKey(source: string, id: string): string {
  const key = id.length <= 128 ? id : createHash('sha256').update(id).digest('hex');
  return `hook:${source}:${key}`;
}

/** A failover's `end`: until when it holds (in the future, at most MAX_FAILOVER_HOLD_MS ahead); absent: none. */
function holdUntil(deps: InboundHookDeps, command: InboundCommand): number | undefined {
  if (!command.end) return undefined;
  const at = Date.parse(command.end);
  const now = deps.clock.now();
  if (at <= now) throw new HookPayloadError('end: the failover must hold until a time in the future');
  if (at > now + MAX_FAILOVER_HOLD_MS)
    throw new HookPayloadError(`end: a failover holds at most ${MAX_FAILOVER_HOLD_MS / 86_400_000} days`);
  return at;
}

async function siteOf(deps: InboundHookDeps, command: InboundCommand): Promise<string> {
  if (command.site) return command.site;
  if (command.incident) {
    const incident = await deps.decide.store.getIncident(command.incident);
    if (incident) return incident.site;
    throw new HookPayloadError(`unknown incident "${command.incident}"`);
  }
  throw new HookPayloadError('no site in the payload');
}

async function decideWith(
  deps: InboundHookDeps,
  site: string,
  commands: readonly OperatorCommand[],
): Promise<DecideSiteOutput> {
  const out = await decideSite(deps.decide, { site, commands });
  const rejected = out.rejected[0];
  if (rejected) {
    // A conflict's reason names the state it met already.
    const now = rejected.code === 'conflict' ? '' : ` (${describePosition(out.state)})`;
    throw new HookRejectedError(`${rejected.command.type} refused: ${rejected.reason}${now}`);
  }
  if (out.written) await deps.onDecided?.(site, out);
  return out;
}

/**
 * The id of the window a source's change ticket opens: deterministic, so that a resent "open" finds its window and
 * a "close" finds it too. In the MaintenanceStore's id format (`<site>.mw-<12 hex>`).
 */
export function windowIdFor(source: string, site: string, ticket: string): string {
  return `${site}.mw-${createHash('sha256').update(`${source}\n${ticket}`).digest('hex').slice(0, 12)}`;
}

function maintenanceStoreOf(deps: InboundHookDeps): MaintenanceStore {
  if (!deps.maintenanceStore) throw new HookRejectedError('maintenance windows need the API maintenance store');
  return deps.maintenanceStore;
}

async function openWindow(
  deps: InboundHookDeps,
  source: InboundSourceConfig,
  site: string,
  command: InboundCommand,
  by: string,
): Promise<Pick<InboundHookResult, 'detail' | 'transitions' | 'windowId'>> {
  const store = maintenanceStoreOf(deps);
  if (!command.ticket) throw new HookPayloadError('maintenance.open needs the change ticket');
  if (!command.end) throw new HookPayloadError('maintenance.open needs the end of the window');
  const now = deps.clock.now();
  const startMs = command.start ? Date.parse(command.start) : now;
  const endMs = Date.parse(command.end);
  if (endMs <= startMs) throw new HookPayloadError('the window must end after it starts');
  if (endMs <= now) throw new HookPayloadError('the window has ended already');
  const id = windowIdFor(source.source, site, command.ticket);
  const existing = await store.get(id);
  if (existing?.cancelledAt)
    throw new HookRejectedError(`the window of ticket ${command.ticket} was closed; use another ticket`);
  if (!existing) {
    const created = store.create({
      id,
      site,
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      timezone: 'UTC',
      startMs,
      endMs,
      reason: command.reason ?? `change ${command.ticket}`,
      ticket: command.ticket,
      createdBy: by,
      createdAt: now,
      cancelledAt: null,
      cancelledBy: null,
    });
    // A racing request for the same ticket created it first: the same window, so the same outcome.
    await created.catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'MAINTENANCE_WINDOW_EXISTS') throw error;
    });
  }
  const out = await decideWith(deps, site, []);
  return {
    detail: `${existing ? 'maintenance window already open' : 'opened maintenance window'} ${id} for ticket ${command.ticket}`,
    transitions: out.transitions.map((t) => t.kind),
    windowId: id,
  };
}

async function closeWindow(
  deps: InboundHookDeps,
  source: InboundSourceConfig,
  site: string,
  command: InboundCommand,
  by: string,
): Promise<Pick<InboundHookResult, 'detail' | 'transitions' | 'windowId'>> {
  const store = maintenanceStoreOf(deps);
  const id = command.window ?? (command.ticket ? windowIdFor(source.source, site, command.ticket) : undefined);
  if (!id) throw new HookPayloadError('maintenance.close needs the change ticket or the window id');
  const window = await store.get(id);
  if (!window || window.site !== site) throw new HookRejectedError(`no maintenance window ${id} at site ${site}`);
  const cancelled = window.cancelledAt === null ? await store.cancel(id, by, deps.clock.now()) : null;
  const out = await decideWith(deps, site, []);
  return {
    detail: cancelled ? `closed maintenance window ${id}` : `maintenance window ${id} was closed already`,
    transitions: out.transitions.map((t) => t.kind),
    windowId: id,
  };
}
