import type { Attempt, ControlSummary, Observation, ObservationBatch, ProbeResult } from '../contracts/observation.ts';
import type { ProbeSpec } from '../config/checks.ts';
import type { PlannedCheck } from '../config/model.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { runProbe } from './index.ts';
import type { ProbeContext } from './types.ts';

/** How one vantage runs one round. */
export interface RoundOptions {
  /** `region:<name>` for a probe region, `site:<id>/<link>` for an agent. */
  readonly vantage: string;
  /** Unique per vantage; by convention the ISO time the round was scheduled for (see roundIdFor). */
  readonly roundId: string;
  /** Site checks, and control checks (site `null`) that judge the vantage itself. */
  readonly checks: readonly PlannedCheck[];
  /** Checks in flight at once. */
  readonly concurrency: number;
  /** Each check starts at a random offset in [0, jitterMs) so that targets are not hit all at once. */
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
 * Runs every check once from one vantage: bounded concurrency, jittered starts, a total budget, and one confirming
 * retry of a failed attempt after the site's confirmRetryMs, so that a single lost packet never counts as a failure.
 */
export async function runRound(options: RoundOptions): Promise<RoundResult> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const probe = options.probe ?? runProbe;
  const { signal } = options;
  const startedAt = clock.now();
  const deadline = startedAt + options.budgetMs;
  const observations: Observation[] = [];
  const controlResults: ControlResult[] = [];
  const skipped: SkippedCheck[] = [];

  // Workers take jobs from `ready`; jittered starts and confirming retries wait on timers outside the pool, so a
  // waiting check never holds a slot.
  const ready: Job[] = [];
  const delayed = new Map<Job, NodeJS.Timeout>();
  const idle: (() => void)[] = [];
  let unfinished = options.checks.length;

  const enqueue = (job: Job): void => {
    ready.push(job);
    idle.shift()?.();
  };
  const later = (job: Job, ms: number): void => {
    delayed.set(
      job,
      setTimeout(() => {
        delayed.delete(job);
        enqueue(job);
      }, ms),
    );
  };
  const finish = (job: Job): void => {
    unfinished--;
    if (job.attempts.length === 0)
      skipped.push({ site: job.check.site, check: job.check.id, reason: skipReason(signal) });
    else record(job);
    if (unfinished === 0) for (const wake of idle.splice(0)) wake();
  };
  const onAbort = (): void => {
    for (const [job, timer] of delayed) {
      clearTimeout(timer);
      finish(job);
    }
    delayed.clear();
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

  const worker = async (): Promise<void> => {
    for (;;) {
      const job = ready.shift();
      if (!job) {
        if (unfinished === 0) return;
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      const { check } = job;
      const at = clock.now();
      if (signal?.aborted || at + check.timeoutMs > deadline) {
        finish(job);
        continue;
      }
      const ctx: ProbeContext = {
        timeoutMs: check.timeoutMs,
        ...(signal ? { signal } : {}),
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      };
      const result = await probe(check.probe, ctx);
      if (signal?.aborted) {
        finish(job); // cut short by the abort: this attempt says nothing about the target
        continue;
      }
      job.attempts.push({ result, at });
      const retry =
        result.outcome === 'down' &&
        job.attempts.length === 1 &&
        clock.now() + check.confirmRetryMs + check.timeoutMs <= deadline;
      if (retry) later(job, check.confirmRetryMs);
      else finish(job);
    }
  };

  for (const check of options.checks) {
    const job: Job = { check, attempts: [] };
    const offset = Math.floor(random() * options.jitterMs);
    if (offset > 0 && !signal?.aborted) later(job, offset);
    else enqueue(job);
  }
  const workers = Math.max(1, Math.min(options.concurrency, options.checks.length));
  await Promise.all(Array.from({ length: workers }, worker));
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

/** Splits a round into one batch per site: the unit that travels to the decider. */
export function toSiteBatches(round: RoundResult): ObservationBatch[] {
  const bySite = new Map<string, Observation[]>();
  for (const o of round.observations) {
    const list = bySite.get(o.site) ?? [];
    list.push(o);
    bySite.set(o.site, list);
  }
  const control = round.control && {
    ok: round.control.ok,
    passed: round.control.passed,
    total: round.control.total,
    detail: round.control.detail,
  };
  return [...bySite].map(([site, observations]) => ({
    v: 1,
    site,
    vantage: round.vantage,
    roundId: round.roundId,
    startedAt: round.startedAt,
    control,
    observations,
  }));
}

function skipReason(signal: AbortSignal | undefined): string {
  return signal?.aborted ? 'round aborted' : 'round budget exhausted before the check could run';
}
