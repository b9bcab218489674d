import type { FailoverConfig, SiteConfig } from '../config/model.ts';
import type { ObservationBatch } from '../contracts/observation.ts';
import { decide } from '../domain/decide.ts';
import { describePosition } from '../domain/explain.ts';
import { onlyFresher } from '../domain/write-policy.ts';
import type {
  Action,
  HistoryAction,
  MaintenanceWindow,
  OperatorCommand,
  Rejection,
  SiteState,
  Transition,
} from '../domain/model.ts';
import { FailoverError, TransientError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { HistoryStore } from '../ports/history-store.ts';
import { VersionConflictError, type StateStore } from '../ports/state-store.ts';
import { admitFailover } from './admit-failover.ts';
import { recordHistory } from './history/record-history.ts';

/** Observations or commands for a site the configuration does not know. */
export class UnknownSiteError extends FailoverError {
  constructor(site: string) {
    super('UNKNOWN_SITE', `unknown site "${site}"`);
    this.name = 'UnknownSiteError';
  }
}

/** Too many deciders changed the same site at once; the caller retries later (the batch is not lost). */
export class ContentionError extends FailoverError {
  constructor(site: string, attempts: number) {
    super('CONTENTION', `state of site ${site} kept changing under ${attempts} attempts`);
    this.name = 'ContentionError';
  }
}

export interface DecideSiteDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly clock: Clock;
  /** Maintenance windows beyond sites.yaml (from the API); default none. */
  readonly maintenance?: (site: SiteConfig) => Promise<readonly MaintenanceWindow[]>;
  /** Attempts at the conditional write before giving up; default 20. */
  readonly maxAttempts?: number;
  /** Keep the stored state when the decided one is only fresher (shared/domain/write-policy.ts); default true. */
  readonly skipFreshOnly?: boolean;
  /** Where each decision's observations are added up (docs/state.md, "History"); default nowhere. */
  readonly history?: HistoryStore;
  /** Told when adding to the history failed: the decision stands, the history misses those rounds. */
  readonly onHistoryError?: (error: unknown, site: string) => void;
  /**
   * Told when the brake's fleet item failed in a way retrying will not fix (permissions, a bad request): the failover
   * goes ahead unbraked rather than be lost. A transient failure is thrown instead (the batch comes back).
   */
  readonly onBrakeError?: (error: unknown, site: string) => void;
}

export interface DecideSiteInput {
  readonly site: string;
  readonly batches?: readonly ObservationBatch[];
  readonly commands?: readonly OperatorCommand[];
}

export interface DecideSiteOutput {
  readonly transitions: readonly Transition[];
  readonly actions: readonly Action[];
  /** Commands not taken: by the engine's rules, or (`conflict`) because the site moved after this call read it. */
  readonly rejected: readonly Rejection[];
  /** The state as committed (or as it was, when nothing changed). */
  readonly state: SiteState;
  /** Whether this call wrote the state. */
  readonly written: boolean;
  /** The decided state was only fresher than the stored one, which was kept (no write): `state` is the stored one. */
  readonly skipped: boolean;
  readonly attempts: number;
}

/** Commands that move traffic or pin it: they are decided against the state they were read with, or not at all. */
const TRAFFIC_COMMANDS: ReadonlySet<OperatorCommand['type']> = new Set([
  'failover',
  'failback',
  'override',
  'clear-override',
]);

/** What traffic commands depend on: where traffic is, and who holds it there. */
function position(state: SiteState | null): string {
  if (!state) return 'none';
  return JSON.stringify([state.mode, state.activeLink, state.override, state.operatorFailover ?? null]);
}

/**
 * Decides for one site: reads its state, folds in the batches and commands, and commits the result with one
 * conditional write. An automatic failover first asks the mass-failover brake (`admitFailover`, the fleet item);
 * held, the site stays where it is and the decision records why. Racing deciders re-read and decide again; since applying an observation twice changes nothing,
 * exactly one of them commits a given transition. A traffic command (failover, failback, pins) is re-applied only
 * while the site's traffic and pins are as this call first read them: when another decision moved them in between,
 * the command is refused (`conflict`), so that racing operators get one winner, not a flip series. History records
 * waiting in the outbox are then written and dropped from it; a crash in between leaves them there, and the next
 * decision that writes flushes them again (idempotently).
 */
export async function decideSite(deps: DecideSiteDeps, input: DecideSiteInput): Promise<DecideSiteOutput> {
  const site = deps.config.sites.find((s) => s.id === input.site);
  if (!site) throw new UnknownSiteError(input.site);
  const extraWindows = deps.maintenance ? await deps.maintenance(site) : [];
  const maxAttempts = deps.maxAttempts ?? 20;
  let basis: string | undefined;
  let moved = false;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const previous = await deps.store.load(site.id);
    basis ??= position(previous);
    moved ||= position(previous) !== basis;
    const commands = input.commands ?? [];
    const conflicts: Rejection[] = moved
      ? commands
          .filter((c) => TRAFFIC_COMMANDS.has(c.type))
          .map((command) => ({
            command,
            code: 'conflict',
            reason: `the site changed while this ${command.type} was decided: ${describePosition(previous)}; nothing was done`,
          }))
      : [];
    const decideInput = {
      site,
      regions: deps.config.regions.probe,
      state: previous,
      batches: input.batches ?? [],
      commands: moved ? commands.filter((c) => !TRAFFIC_COMMANDS.has(c.type)) : commands,
      maintenance: [...site.maintenance, ...extraWindows],
      now: deps.clock.now(),
    };
    let decided = decide(decideInput);
    // An automatic failover takes a slot of the fleet's window first; refused, the same decision is made held.
    if (decided.wantedFailover && deps.config.brake.enabled) {
      const request = { site: site.id, now: decideInput.now, probesRuledOut: decided.wantedFailover.evidence.ruledOut };
      const admission = await admitFailover(deps, request).catch((error: unknown) => {
        if (error instanceof TransientError) throw error;
        (deps.onBrakeError ?? ((e) => console.error(`brake of ${site.id} not consulted:`, e)))(error, site.id);
        return null;
      });
      if (admission && !admission.admitted) decided = decide({ ...decideInput, brake: admission.hold });
    }
    const out = { ...decided, rejected: [...conflicts, ...decided.rejected] };
    let state = out.state;
    if (out.changed && deps.skipFreshOnly !== false && onlyFresher(previous, out.state, site.policy)) {
      await addHistory(deps, site.id, input.batches, previous, out.state);
      return { ...out, state: previous!, written: false, skipped: true, attempts: attempt };
    }
    if (out.changed) {
      state = { ...out.state, version: (previous?.version ?? 0) + 1 };
      try {
        await deps.store.save(state, previous?.version ?? null);
      } catch (error) {
        if (error instanceof VersionConflictError) continue;
        throw error;
      }
    }
    // Only a decider that wrote flushes: it holds the latest state, and racing losers add no writes.
    if (out.changed) state = await flushHistory(deps.store, state);
    await addHistory(deps, site.id, input.batches, previous, out.state);
    return { ...out, state, written: out.changed, skipped: false, attempts: attempt };
  }
  throw new ContentionError(site.id, maxAttempts);
}

/** Adds the decided batches to the history, after the state was committed (or kept); a failure leaves the decision be. */
async function addHistory(
  deps: DecideSiteDeps,
  site: string,
  batches: readonly ObservationBatch[] | undefined,
  previous: SiteState | null,
  decided: SiteState,
): Promise<void> {
  if (!deps.history || !batches || batches.length === 0) return;
  try {
    await recordHistory(deps.history, { site, batches, previous, decided });
  } catch (error) {
    (deps.onHistoryError ?? ((e) => console.error(`history of ${site} not recorded:`, e)))(error, site);
  }
}

/** Writes the history records waiting in the outbox, then drops them from it; a lost race leaves them for later. */
async function flushHistory(store: StateStore, state: SiteState): Promise<SiteState> {
  const pending = state.outbox.filter((a): a is HistoryAction => a.kind === 'history');
  if (pending.length === 0) return state;
  await store.putHistory(pending.map((a) => a.record));
  const done = new Set(pending.map((a) => a.id));
  const next = { ...state, version: state.version + 1, outbox: state.outbox.filter((a) => !done.has(a.id)) };
  try {
    await store.save(next, state.version);
    return next;
  } catch (error) {
    if (error instanceof VersionConflictError) return state;
    throw error;
  }
}
