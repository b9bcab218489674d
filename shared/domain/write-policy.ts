import type { ResolvedPolicy } from '../config/model.ts';
import type { SiteState } from './model.ts';

/**
 * When a decided state must be written, and when the stored one may stand in for it (docs/state.md, "Writes").
 *
 * A decision reads the counters only against the thresholds, so counters at or above the larger threshold are alike;
 * it reads `lastRound` only to drop repeats, and `lastAt` only for staleness. `lastAt` moves in steps
 * (`freshnessStepMs`), so that a round which only confirms what the state says leaves nothing a decision reads
 * changed: such a state is "only fresher" (`onlyFresher`), and the stored state decides every later batch alike.
 */

type Timing = Pick<ResolvedPolicy, 'intervalSeconds' | 'staleAfterIntervals'>;

/** `lastAt` (of a vantage, of a check's streak) moves on only when the new time is this much later: 1.25 intervals. */
export function freshnessStepMs(policy: Pick<ResolvedPolicy, 'intervalSeconds'>): number {
  return policy.intervalSeconds * 1250;
}

/** The next recorded `lastAt` for an observation made `at`: unchanged while within a step of the recorded one. */
export function nextLastAt(recorded: number | undefined, at: number, policy: Pick<ResolvedPolicy, 'intervalSeconds'>) {
  if (recorded === undefined || at < recorded || at - recorded >= freshnessStepMs(policy)) return at;
  return recorded;
}

/**
 * How old a recorded `lastAt` may be before its vantage (or check) abstains as stale: `staleAfterIntervals`, plus the
 * step by which the record may lag the last round. So a vantage is stale after at least `staleAfterIntervals` of
 * silence, and at most 1.25 intervals more.
 */
export function staleAfterMs(policy: Timing): number {
  return policy.staleAfterIntervals * policy.intervalSeconds * 1000 + freshnessStepMs(policy);
}

/** The state with what only freshness is made of taken out, counters clamped at the larger threshold. */
function decisive(state: SiteState, policy: Pick<ResolvedPolicy, 'failureThreshold' | 'recoveryThreshold'>): string {
  const cap = Math.max(policy.failureThreshold, policy.recoveryThreshold);
  const streaks = Object.fromEntries(
    Object.entries(state.streaks).map(([key, s]) => {
      const { lastRound: _round, ...rest } = s;
      return [key, { ...rest, down: Math.min(s.down, cap), notUp: Math.min(s.notUp, cap), up: Math.min(s.up, cap) }];
    }),
  );
  const vantages = Object.fromEntries(
    Object.entries(state.vantages).map(([key, v]) => {
      const { lastRound: _round, ...rest } = v;
      return [key, rest];
    }),
  );
  const { updatedAt: _updated, version: _version, ...rest } = state;
  return JSON.stringify({ ...rest, streaks, vantages });
}

/**
 * Whether `next` differs from `stored` only in what no decision reads: round ids and counters past the larger
 * threshold. Then the caller may keep `stored` and skip the write. False when anything else moved: a verdict, a
 * counter below its cap, an outcome or its detail, a `lastAt` step, the outbox, an incident, the quorum watch...
 */
export function onlyFresher(stored: SiteState | null, next: SiteState, policy: ResolvedPolicy): boolean {
  return stored !== null && decisive(stored, policy) === decisive(next, policy);
}
