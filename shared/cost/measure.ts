import type { FailoverConfig } from '../config/model.ts';
import { runRound } from '../probes/round.ts';
import { planRounds } from '../probes/schedule.ts';
import type { MeasuredRounds } from './model.ts';
import { regionVantage } from '../contracts/ids.ts';

const HOUR_MS = 3_600_000;

/**
 * Runs the real rounds of the first probe region's plan from this machine, each distinct round once and one after
 * the other, with the configuration's concurrency, jitter and budget, and returns their mean wall time weighted by
 * how often each round recurs in an hour. Network I/O: the probes reach the configured targets.
 */
export async function measureRounds(
  config: FailoverConfig,
  now: () => number = performance.now.bind(performance),
): Promise<MeasuredRounds> {
  const region = config.regions.probe[0]!;
  const start = Date.UTC(2026, 0, 1);
  const distinct = new Map<string, { checks: (typeof plan)[number]['checks']; weight: number }>();
  const plan = planRounds(config, region, start, start + HOUR_MS);
  for (const round of plan) {
    const key = round.checks.map((c) => `${c.site}|${c.id}`).join(',');
    const entry = distinct.get(key);
    if (entry) entry.weight++;
    else distinct.set(key, { checks: round.checks, weight: 1 });
  }
  let weighted = 0;
  let weights = 0;
  let maxRoundMs = 0;
  for (const { checks, weight } of distinct.values()) {
    const started = now();
    await runRound({
      vantage: regionVantage(region),
      roundId: `measure-${weights}`,
      checks,
      concurrency: config.probing.concurrency,
      jitterMs: config.probing.jitterMs,
      budgetMs: config.probing.roundBudgetMs,
    });
    const ms = now() - started;
    maxRoundMs = Math.max(maxRoundMs, ms);
    weighted += ms * weight;
    weights += weight;
  }
  return { roundMs: weights === 0 ? 0 : weighted / weights, rounds: distinct.size, maxRoundMs };
}
