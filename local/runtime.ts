import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { Clock } from '../shared/ports/clock.ts';
import { runRound, toSiteBatches, type RoundResult } from '../shared/probes/round.ts';
import { planRounds } from '../shared/probes/schedule.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { startDemoTargets, type DemoTarget } from './demo-targets.ts';

export interface LocalRuntimeOptions {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  /** Stop each region after this many rounds; run until stopped when absent. */
  readonly rounds?: number;
  /** Told about every finished round. */
  readonly onRound: (round: RoundResult) => void;
  /** Told about a failure in one round or one site's decision; the rest carries on. */
  readonly onError: (error: unknown, where: string) => void;
  /** The decider, the dispatcher and the DNS server; without it, the runtime only probes. */
  readonly control?: Omit<ControlPlaneOptions, 'config' | 'clock' | 'onError'>;
}

/** The system on one machine: demo targets and one probe worker per configured region. */
export interface LocalRuntime {
  readonly targets: readonly DemoTarget[];
  readonly control: ControlPlane | undefined;
  /** Resolves when every worker has finished (after `rounds`, or after stop()). */
  readonly done: Promise<void>;
  /** Stops the workers (in-flight rounds are aborted) and closes the demo targets. */
  stop(): Promise<void>;
}

/** Starts demo targets, then a worker per probe region that runs its rounds at their scheduled, staggered times. */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config, clock } = options;
  const targets = await startDemoTargets(config.local.demoTargets);
  let control: ControlPlane | undefined;
  try {
    if (options.control)
      control = await startControlPlane({ ...options.control, config, clock, onError: options.onError });
  } catch (error) {
    await Promise.all(targets.map((t) => t.close()));
    throw error;
  }
  const controller = new AbortController();
  const signal = controller.signal;
  // Every in-flight check of every region listens on this one signal (and lets go when done): not a leak.
  setMaxListeners(0, signal);
  const horizonMs = Math.max(...config.sites.map((s) => s.policy.intervalSeconds)) * 1000 + 1;

  const worker = async (region: string): Promise<void> => {
    const inFlight = new Set<Promise<void>>();
    let from = clock.now();
    for (let n = 0; options.rounds === undefined || n < options.rounds; n++) {
      const next = planRounds(config, region, from, from + horizonMs)[0];
      if (!next || signal.aborted) break;
      const delay = next.atMs - clock.now();
      if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      from = next.atMs + 1;
      const running = runRound({
        vantage: `region:${region}`,
        roundId: next.roundId,
        checks: next.checks,
        concurrency: config.probing.concurrency,
        jitterMs: config.probing.jitterMs,
        budgetMs: config.probing.roundBudgetMs,
        clock,
        signal,
      })
        .then((round) => {
          if (signal.aborted) return;
          options.onRound(round);
          control?.submit(toSiteBatches(round));
        })
        .catch((error: unknown) => options.onError(error, region));
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }
    await Promise.all(inFlight);
  };

  const done = Promise.all(config.regions.probe.map(worker)).then(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    targets,
    control,
    done,
    stop: () =>
      (stopping ??= (async () => {
        controller.abort();
        await done;
        await control?.close();
        await Promise.all(targets.map((t) => t.close()));
      })()),
  };
}
