import type { ResolvedPolicy } from '../config/model.ts';
import type { SiteState } from './model.ts';

type Damping = ResolvedPolicy['damping'];

/** The penalty `state` holds at `now`: it halves every `halfLifeSeconds`. */
export function decayedPenalty(state: SiteState['damping'], damping: Damping, now: number): number {
  if (state.penalty <= 0) return 0;
  const elapsed = Math.max(0, now - state.at) / 1000;
  return state.penalty * 2 ** (-elapsed / damping.halfLifeSeconds);
}

/** The penalty after one more failover at `now`, capped at `maxPenalty`; a new hold is announced afresh. */
export function penalize(state: SiteState['damping'], damping: Damping, now: number): SiteState['damping'] {
  if (!damping.enabled) return state;
  const penalty = Math.min(damping.maxPenalty, decayedPenalty(state, damping, now) + damping.penalty);
  return { penalty, at: now, suppressed: state.suppressed || penalty > damping.suppressLimit, announced: false };
}

/**
 * Brings the penalty to `now` and applies the limits with hysteresis: above `suppressLimit` automatic failback is
 * suppressed, and stays so until the penalty decays below `reuseLimit` (RFC 2439's suppress and reuse).
 */
export function refresh(state: SiteState['damping'], damping: Damping, now: number): SiteState['damping'] {
  if (!damping.enabled) return state.suppressed ? { ...state, suppressed: false } : state;
  const penalty = decayedPenalty(state, damping, now);
  const suppressed = state.suppressed ? penalty >= damping.reuseLimit : penalty > damping.suppressLimit;
  return suppressed === state.suppressed ? state : { ...state, suppressed };
}

/** Seconds from `now` until the penalty decays below `reuseLimit`, or null when it already is. */
export function secondsUntilReuse(state: SiteState['damping'], damping: Damping, now: number): number | null {
  const penalty = decayedPenalty(state, damping, now);
  if (penalty < damping.reuseLimit) return null;
  return Math.ceil(damping.halfLifeSeconds * Math.log2(penalty / damping.reuseLimit));
}
