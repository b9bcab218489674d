import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverConfig } from '../config/model.ts';
import type { Clock } from '../ports/clock.ts';
import type { ObservationSink } from '../ports/observation-sink.ts';
import { runRound, toSiteBatches, type RoundResult } from '../probes/round.ts';
import { planRounds } from '../probes/schedule.ts';

export interface ProbeRegionDeps {
  readonly config: FailoverConfig;
  readonly sink: ObservationSink;
  readonly clock: Clock;
  /** Waits until a round's start; injectable so that tests need not wait. */
  readonly wait?: (ms: number) => Promise<void>;
  /** Told about each finished round and each failure to hand observations on. */
  readonly log?: (event: ProbeRegionEvent) => void;
}

export type ProbeRegionEvent =
  | { readonly type: 'round'; readonly round: RoundResult }
  | { readonly type: 'publish-failed'; readonly roundId: string; readonly error: unknown };

export interface ProbeRegionInput {
  readonly region: string;
  /** Start of the window whose rounds this call runs (the schedule's minute). */
  readonly windowStartMs: number;
  readonly windowMs: number;
}

export interface ProbeRegionOutput {
  readonly rounds: number;
  readonly observations: number;
  readonly published: number;
  readonly failedRounds: readonly string[];
}

/**
 * Runs the rounds a probe region owes in one window, each at its own offset (several per window for intervals under
 * the window), and hands each round's observations on as soon as it ends. A round whose observations cannot be
 * handed on is reported and left out: the decider sees that vantage as stale, never as a false verdict.
 */
export async function probeRegion(deps: ProbeRegionDeps, input: ProbeRegionInput): Promise<ProbeRegionOutput> {
  const wait = deps.wait ?? ((ms: number) => sleep(ms));
  const plan = planRounds(deps.config, input.region, input.windowStartMs, input.windowStartMs + input.windowMs);
  let observations = 0;
  let published = 0;
  const failedRounds: string[] = [];
  await Promise.all(
    plan.map(async (planned) => {
      const delay = planned.atMs - deps.clock.now();
      if (delay > 0) await wait(delay);
      const round = await runRound({
        vantage: `region:${input.region}`,
        roundId: planned.roundId,
        checks: planned.checks,
        concurrency: deps.config.probing.concurrency,
        jitterMs: deps.config.probing.jitterMs,
        budgetMs: deps.config.probing.roundBudgetMs,
        clock: deps.clock,
      });
      observations += round.observations.length;
      deps.log?.({ type: 'round', round });
      const batches = toSiteBatches(round);
      try {
        await deps.sink.publish(batches);
        published += batches.length;
      } catch (error) {
        failedRounds.push(planned.roundId);
        deps.log?.({ type: 'publish-failed', roundId: planned.roundId, error });
      }
    }),
  );
  return { rounds: plan.length, observations, published, failedRounds };
}
