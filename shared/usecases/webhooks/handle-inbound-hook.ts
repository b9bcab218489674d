import { createHash } from 'node:crypto';
import type { FailoverConfig, InboundSourceConfig } from '../../config/model.ts';
import { describePosition } from '../../domain/explain.ts';
import { ticketWindowId, type MaintenanceStore } from '../../ports/maintenance-store.ts';
import type { TransitionKind } from '../../domain/model.ts';
import type { Clock } from '../../ports/clock.ts';
import type { ReplayGuard } from '../../ports/replay-guard.ts';
import {
  normalizeHeaders,
  readCommand,
  SignatureCheckError,
  verifyWithScheme,
  type InboundCommand,
} from '../../webhooks/inbound.ts';
import type { SecretResolver } from '../../webhooks/secrets.ts';
import type { DecideSiteDeps, DecideSiteOutput } from '../decide-site.ts';
import { commandSite, type OperatorDeps, type OperatorRequest } from '../operator/command-site.ts';
import {
  ClosedWindowError,
  ConfiguredWindowError,
  InvalidOperatorRequestError,
  UnknownWindowError,
} from '../operator/errors.ts';
import { cancelMaintenanceWindow, openMaintenanceWindow } from '../operator/maintenance-windows.ts';
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
  /** Where maintenance.open and maintenance.close keep their windows. */
  readonly maintenanceStore: MaintenanceStore;
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
  const operator = operatorDepsOf(deps);
  const acted = await asHookErrors(
    async (): Promise<Pick<InboundHookResult, 'detail' | 'transitions' | 'windowId'>> => {
      switch (command.action) {
        case 'failover':
        case 'failback': {
          const reason = command.reason ?? (command.ticket ? `ticket ${command.ticket}` : `asked by ${source.source}`);
          const request: OperatorRequest =
            command.action === 'failover'
              ? { type: 'failover', reason, by, until: command.end }
              : { type: 'failback', reason, by };
          const out = refusedOrOut(await commandSite(operator, site, request));
          return { detail: `${command.action} on ${site}`, transitions: kinds(out) };
        }
        case 'incident.acknowledge': {
          if (command.incident) {
            const state = await deps.decide.store.load(site);
            if (state?.incident?.id !== command.incident)
              throw new HookRejectedError(`incident ${command.incident} is not the open incident of site ${site}`);
          }
          const out = refusedOrOut(await commandSite(operator, site, { type: 'acknowledge', by }));
          return { detail: `acknowledged the incident of ${site}`, transitions: kinds(out) };
        }
        case 'maintenance.open': {
          if (!command.ticket) throw new HookPayloadError('maintenance.open needs the change ticket');
          if (!command.end) throw new HookPayloadError('maintenance.open needs the end of the window');
          const { window, created, decision } = await openMaintenanceWindow(operator, {
            site,
            id: ticketWindowId(source.source, site, command.ticket),
            start: command.start,
            end: command.end,
            timezone: 'UTC',
            reason: command.reason ?? `change ${command.ticket}`,
            ticket: command.ticket,
            by,
          });
          const opened = created ? 'opened maintenance window' : 'maintenance window already open';
          return {
            detail: `${opened} ${window.id} for ticket ${command.ticket}`,
            transitions: kinds(decision),
            windowId: window.id,
          };
        }
        case 'maintenance.close': {
          const id =
            command.window ?? (command.ticket ? ticketWindowId(source.source, site, command.ticket) : undefined);
          if (!id) throw new HookPayloadError('maintenance.close needs the change ticket or the window id');
          const { cancelled, decision } = await cancelMaintenanceWindow(operator, { id, site, by });
          return {
            detail: cancelled ? `closed maintenance window ${id}` : `maintenance window ${id} was closed already`,
            transitions: decision ? kinds(decision) : [],
            windowId: id,
          };
        }
      }
    },
  );
  return { ...base, ...acted };
}

const kinds = (out: DecideSiteOutput): TransitionKind[] => out.transitions.map((t) => t.kind);

/** The decision, or HookRejectedError when the engine refused the command. */
function refusedOrOut(out: DecideSiteOutput): DecideSiteOutput {
  const rejected = out.rejected[0];
  if (!rejected) return out;
  // A conflict's reason names the state it met already.
  const now = rejected.code === 'conflict' ? '' : ` (${describePosition(out.state)})`;
  throw new HookRejectedError(`${rejected.command.type} refused: ${rejected.reason}${now}`);
}

/**
 * The operator use cases' refusals in the hooks' terms: a request that breaks a rule is a bad payload (the hook's
 * `end` is the use case's `until`), a window that cannot be opened or closed a refusal.
 */
async function asHookErrors<T>(act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (error) {
    if (error instanceof InvalidOperatorRequestError) {
      const detail = error.issues.map((i) => `${i.field === 'until' ? 'end' : i.field}: ${i.message}`).join('; ');
      throw new HookPayloadError(detail);
    }
    if (
      error instanceof ClosedWindowError ||
      error instanceof UnknownWindowError ||
      error instanceof ConfiguredWindowError
    )
      throw new HookRejectedError(error.message);
    throw error;
  }
}

function operatorDepsOf(deps: InboundHookDeps): OperatorDeps {
  const { decide, maintenanceStore: maintenance, onDecided } = deps;
  return { decide, maintenance, ...(onDecided ? { onDecided } : {}) };
}

/** The replay key of a message; long ids are hashed to keep keys short. */
function replayKey(source: string, id: string): string {
  const key = id.length <= 128 ? id : createHash('sha256').update(id).digest('hex');
  return `hook:${source}:${key}`;
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
