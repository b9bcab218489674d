import type { FailoverConfig, PlannedCheck } from '../config/model.ts';
import { roundIdFor } from './round.ts';

/** A round one region is due to run: when, its id, and the checks due then (control checks included). */
export interface PlannedRound {
  readonly atMs: number;
  readonly roundId: string;
  readonly checks: readonly PlannedCheck[];
}

/**
 * Rounds of `region` that start in [fromMs, toMs). A site's rounds fall every `intervalSeconds` on the epoch grid,
 * and region i of n starts i/n of an interval later than region 0, so that the regions of a quorum see a fault at
 * different moments and the earliest one is as early as possible. Sites due at the same instant share a round.
 */
export function planRounds(config: FailoverConfig, region: string, fromMs: number, toMs: number): PlannedRound[] {
  const index = config.regions.probe.indexOf(region);
  if (index < 0) throw new Error(`"${region}" is not a probe region of this configuration`);
  const count = config.regions.probe.length;
  const due = new Map<number, PlannedCheck[]>();
  for (const site of config.sites) {
    const intervalMs = site.policy.intervalSeconds * 1000;
    const offset = Math.floor((intervalMs * index) / count);
    for (let t = Math.ceil((fromMs - offset) / intervalMs) * intervalMs + offset; t < toMs; t += intervalMs) {
      const list = due.get(t) ?? [];
      list.push(...site.checks);
      due.set(t, list);
    }
  }
  return [...due.keys()]
    .sort((a, b) => a - b)
    .map((atMs) => ({ atMs, roundId: roundIdFor(atMs), checks: [...config.controlChecks, ...due.get(atMs)!] }));
}
