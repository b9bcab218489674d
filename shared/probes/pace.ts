import type { PlannedCheck } from '../config/model.ts';

/**
 * Open checks (sockets) a round never exceeds, however many targets hang: under Lambda's 1,024 file descriptors,
 * with room for the runtime and the SDK's own connections. Never below the configured concurrency.
 */
export const MAX_OPEN_CHECKS = 768;
/** The shortest time a check holds its slot before a silent peer lets the next check start. */
const MIN_STALL_MS = 20;
/** What a confirming attempt leaves of the budget, for the timers' own lateness, so that the round ends inside it. */
export const TAIL_MS = 50;
/** The longest budget a confirming attempt needs: a healthy peer answers well within it. */
const MAX_CONFIRM_FLOOR_MS = 1000;

/** How a round paces its checks, derived from its budget, its checks' timeouts and its concurrency. */
export interface RoundPace {
  /**
   * Every check's first attempt should start within this window, so that a timeout can still be confirmed; at its
   * end the checks still queued start regardless of the slots.
   */
  readonly startWindowMs: number;
  /** The jitter actually applied: the configured one, never wider than the start window. */
  readonly jitterMs: number;
  /**
   * A check in flight this long gives its slot back (it keeps its socket): a silent peer costs a socket, not CPU.
   * Sized so that the slots start every check within the start window even when every peer is silent.
   */
  readonly stallMs: number;
  /** Checks in flight at once that still hold a slot. */
  readonly concurrency: number;
  /** Checks in flight at once, stalled ones included. */
  readonly maxOpen: number;
}

/** The least time a confirming attempt may be given: a fifth of the check's timeout, at most 1 s. */
export function confirmFloorMs(timeoutMs: number): number {
  return Math.min(MAX_CONFIRM_FLOOR_MS, Math.ceil(timeoutMs / 5));
}

/**
 * Paces a round so that no check waits behind hanging ones. Every first attempt should start within the start
 * window (budget - longest timeout - twice its confirm floor), so that a timeout can still be confirmed after it.
 * The slots turn over at least every `stallMs` = `concurrency x window / (2 x checks)`, which starts every check
 * within half the window even when every peer is silent; what a slow machine leaves queued at the window's end
 * starts then regardless of the slots (runRound), within `maxOpen`.
 */
export function paceRound(
  checks: readonly PlannedCheck[],
  options: { readonly concurrency: number; readonly budgetMs: number; readonly jitterMs: number; maxOpen?: number },
): RoundPace {
  const concurrency = Math.max(1, options.concurrency);
  const longest = Math.max(0, ...checks.map((c) => c.timeoutMs));
  const startWindowMs = Math.max(1, options.budgetMs - longest - 2 * confirmFloorMs(longest));
  const turnover = Math.floor((concurrency * startWindowMs) / (2 * Math.max(1, checks.length)));
  return {
    startWindowMs,
    jitterMs: Math.max(0, Math.min(options.jitterMs, startWindowMs)),
    stallMs: Math.max(MIN_STALL_MS, Math.min(turnover, longest)),
    concurrency,
    maxOpen: Math.max(concurrency, options.maxOpen ?? MAX_OPEN_CHECKS),
  };
}
