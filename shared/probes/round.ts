import type {
  Attempt,
  ControlSummary,
  Observation,
  ObservationBatch,
  ProbeResult,
  SkippedCheckRef,
} from '../contracts/observation.ts';
import type { ProbeSpec } from '../config/checks.ts';
import type { PlannedCheck } from '../config/model.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { runProbe } from './index.ts';
import { confirmFloorMs, paceRound, TAIL_MS } from './pace.ts';
import { describeError, down } from './result.ts';
import type { ProbeContext } from './types.ts';

/** How one vantage runs one round. */
export interface RoundOptions {
  /** `region:<name>` for a probe region, `site:<id>/<link>` for an agent. */
  readonly vantage: string;
  /** Unique per vantage; by convention the ISO time the round was scheduled for (see roundIdFor). */
  readonly roundId: string;
  /** Site checks, and control checks (site `null`) that judge the vantage itself. */
  readonly checks: readonly PlannedCheck[];
  /** Checks in flight at once that hold a slot; a check whose peer is silent gives its slot back (paceRound). */
  readonly concurrency: number;
  /** Checks in flight at once, silent ones included. @default max(concurrency, MAX_OPEN_CHECKS) */
  readonly maxOpen?: number;
  /**
   * Each check starts at a random offset in [0, jitterMs) so that targets are not hit all at once; never wider than
   * the round's start window (paceRound).
   */
  readonly jitterMs: number;
  /** Wall time the whole round may take; checks that cannot finish inside it are skipped, never half-judged. */
  readonly budgetMs: number;
  readonly localAddress?: string;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** The probe to run; the local runtime wraps it to impair a simulated region. */
  readonly probe?: (spec: ProbeSpec, ctx: ProbeContext) => Promise<ProbeResult>;
  /** Called as each observation is final, before the round ends. */
  readonly onObservation?: (observation: Observation) => void;
}

/** A check that did not run because the round's budget could not fit it. */
export interface SkippedCheck {
  readonly site: string | null;
  readonly check: string;
  readonly link: string | null;
  readonly dependency: string | null;
  readonly reason: string;
}

export interface ControlResult {
  readonly check: string;
  readonly outcome: Observation['outcome'];
  readonly latencyMs: number | null;
  readonly detail: string;
}

export interface RoundResult {
  readonly vantage: string;
  readonly roundId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Observations of site checks, in the order they completed. */
  readonly observations: readonly Observation[];
  /** Null when the round had no control checks. */
  readonly control: (ControlSummary & { readonly results: readonly ControlResult[] }) | null;
  readonly skipped: readonly SkippedCheck[];
}

/** The round id of a round scheduled at `epochMs`: its ISO time, unique per vantage and sortable. */
export function roundIdFor(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Runs every check once from one vantage: jittered starts, a total budget, and one confirming retry of a failed
 * attempt, so that a single lost packet never counts as a failure. `concurrency` slots bound the checks doing work;
 * a check whose peer has been silent for the pace's `stallMs` gives its slot back (see paceRound), so that hanging
 * targets never starve the healthy ones. The confirming attempt starts `confirmRetryMs` after the failed one began
 * (at once after a timeout that long) and gets what is left of the budget, up to the check's timeout.
 */
export async function runRound(options: RoundOptions): Promise<RoundResult> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const probe = options.probe ?? runProbe;
  const { signal } = options;
  const pace = paceRound(options.checks, options);
  const startedAt = clock.now();
  const deadline = startedAt + options.budgetMs;
  const observations: Observation[] = [];
  const controlResults: ControlResult[] = [];
  const skipped: SkippedCheck[] = [];

  // Jittered starts and confirming retries wait on timers outside the slots; retries go to the front of the queue.
  const queue: Job[] = [];
  const delayed = new Map<Job, NodeJS.Timeout>();
  let active = 0;
  let open = 0;
  let unfinished = options.checks.length;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));

  const later = (job: Job, ms: number): void => {
    delayed.set(
      job,
      setTimeout(() => {
        delayed.delete(job);
        if (job.attempts.length > 0) queue.unshift(job);
        else queue.push(job);
        pump();
      }, ms),
    );
  };
  const finish = (job: Job): void => {
    unfinished--;
    if (job.attempts.length === 0)
      skipped.push({
        site: job.check.site,
        check: job.check.id,
        link: job.check.link,
        dependency: job.check.dependency,
        reason: skipReason(signal),
      });
    else record(job);
    if (unfinished === 0) allDone();
  };
  const onAbort = (): void => {
    for (const [job, timer] of delayed) {
      clearTimeout(timer);
      finish(job);
    }
    delayed.clear();
    for (const job of queue.splice(0)) finish(job);
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const record = ({ check, attempts }: Job): void => {
    const final = attempts[attempts.length - 1]!;
    if (check.site === null) {
      controlResults.push({
        check: check.id,
        outcome: final.result.outcome,
        latencyMs: final.result.latencyMs,
        detail: final.result.detail,
      });
      return;
    }
    const observation: Observation = {
      v: 1,
      site: check.site,
      check: check.id,
      link: check.link,
      dependency: check.dependency,
      kind: check.probe.kind,
      vantage: options.vantage,
      roundId: options.roundId,
      ...final.result,
      at: new Date(final.at).toISOString(),
      attempts: attempts.map(({ result, at }): Attempt => ({
        at: new Date(at).toISOString(),
        outcome: result.outcome,
        latencyMs: result.latencyMs,
        errorClass: result.errorClass,
        detail: result.detail,
      })),
    };
    observations.push(observation);
    options.onObservation?.(observation);
  };

  const settle = (job: Job, result: ProbeResult, at: number): void => {
    if (signal?.aborted) return finish(job); // cut short by the abort: this attempt says nothing about the target
    job.attempts.push({ result, at });
    if (result.outcome !== 'down' || job.attempts.length > 1) return finish(job);
    const { confirmRetryMs, timeoutMs } = job.check;
    const delayMs = Math.max(0, at + confirmRetryMs - clock.now());
    if (clock.now() + delayMs + confirmFloorMs(timeoutMs) > deadline - TAIL_MS) return finish(job);
    // A timer can fire a millisecond early against the wall clock: never confirm sooner than confirmRetryMs.
    later(job, delayMs > 0 ? delayMs + 1 : 0);
  };

  const start = (job: Job): boolean => {
    const at = clock.now();
    const confirming = job.attempts.length > 0;
    const timeoutMs = confirming ? Math.min(job.check.timeoutMs, deadline - TAIL_MS - at) : job.check.timeoutMs;
    const fits = confirming ? timeoutMs >= confirmFloorMs(job.check.timeoutMs) : at + timeoutMs <= deadline;
    if (signal?.aborted || !fits) {
      finish(job);
      return false;
    }
    active++;
    open++;
    let holding = true;
    const stall = setTimeout(() => {
      holding = false;
      active--;
      pump();
    }, pace.stallMs);
    const ctx: ProbeContext = {
      timeoutMs,
      ...(signal ? { signal } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    };
    void probe(job.check.probe, ctx)
      .catch((error: unknown) => down('protocol', `probe failed unexpectedly: ${describeError(error)}`))
      .then((result) => {
        clearTimeout(stall);
        open--;
        if (holding) active--;
        settle(job, result, at);
        pump();
      });
    return true;
  };

  // At the start window's end whatever is still queued must start now or not at all: the slots stop gating.
  let windowOver = false;
  const windowEnd = setTimeout(() => {
    windowOver = true;
    pump();
  }, pace.startWindowMs);
  const pump = (): void => {
    while (queue.length > 0 && (windowOver || active < pace.concurrency) && open < pace.maxOpen) start(queue.shift()!);
  };

  for (const check of options.checks) {
    const job: Job = { check, attempts: [] };
    const offset = Math.floor(random() * pace.jitterMs);
    if (offset > 0 && !signal?.aborted) later(job, offset);
    else queue.push(job);
  }
  if (signal?.aborted) onAbort();
  pump();
  if (unfinished > 0) await done;
  clearTimeout(windowEnd);
  signal?.removeEventListener('abort', onAbort);

  return {
    vantage: options.vantage,
    roundId: options.roundId,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(clock.now()).toISOString(),
    observations,
    control: summarizeControl(controlResults),
    skipped,
  };
}

interface Job {
  readonly check: PlannedCheck;
  readonly attempts: { result: ProbeResult; at: number }[];
}

/** A vantage is healthy when a majority of its control checks are not down. */
function summarizeControl(results: ControlResult[]): RoundResult['control'] {
  if (results.length === 0) return null;
  const failed = results.filter((r) => r.outcome === 'down');
  const passed = results.length - failed.length;
  const ok = passed * 2 > results.length;
  const detail = ok
    ? `${passed}/${results.length} control checks passed`
    : `vantage impaired: ${failed.map((r) => `${r.check} (${r.detail})`).join('; ')}`;
  return { ok, passed, total: results.length, detail, results };
}

/**
 * Splits a round into one batch per site: the unit that travels to the decider. A site whose checks were all skipped
 * still gets its batch, so that the decider hears that this vantage has nothing to say about it this round.
 */
export function toSiteBatches(round: RoundResult): ObservationBatch[] {
  const bySite = new Map<string, { observations: Observation[]; skipped: SkippedCheckRef[] }>();
  const of = (site: string) => {
    let entry = bySite.get(site);
    if (!entry) bySite.set(site, (entry = { observations: [], skipped: [] }));
    return entry;
  };
  for (const o of round.observations) of(o.site).observations.push(o);
  for (const { site, check, link, dependency, reason } of round.skipped)
    if (site !== null) of(site).skipped.push({ check, link, dependency, reason });
  const control = round.control && {
    ok: round.control.ok,
    passed: round.control.passed,
    total: round.control.total,
    detail: round.control.detail,
  };
  return [...bySite].map(([site, { observations, skipped }]) => ({
    v: 1,
    site,
    vantage: round.vantage,
    roundId: round.roundId,
    startedAt: round.startedAt,
    control,
    observations,
    ...(skipped.length > 0 ? { skipped } : {}),
  }));
}

function skipReason(signal: AbortSignal | undefined): string {
  return signal?.aborted ? 'round aborted' : 'round budget exhausted before the check could run';
}
