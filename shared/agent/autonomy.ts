import type { PlannedCheck } from '../config/model.ts';
import type { ProbeResult } from '../contracts/observation.ts';
import { runProbe } from '../probes/index.ts';

/** A link as the agent's own tracking sees it, mwan3-style: unknown until `down` or `up` intervals in a row. */
export type LinkVerdict = 'up' | 'down' | 'unknown';

/** Consecutive good and failed intervals per link, and the verdict they lead to. */
export class LinkHealth {
  readonly #down: number;
  readonly #up: number;
  readonly #links = new Map<string, { failures: number; successes: number; verdict: LinkVerdict }>();

  constructor(links: readonly string[], thresholds: { readonly down: number; readonly up: number }) {
    this.#down = thresholds.down;
    this.#up = thresholds.up;
    for (const link of links) this.#links.set(link, { failures: 0, successes: 0, verdict: 'unknown' });
  }

  /** Counts one interval of `link`; returns its verdict after it. */
  record(link: string, passed: boolean): LinkVerdict {
    const s = this.#links.get(link);
    if (!s) return 'unknown';
    if (passed) {
      s.successes++;
      s.failures = 0;
      if (s.successes >= this.#up) s.verdict = 'up';
    } else {
      s.failures++;
      s.successes = 0;
      if (s.failures >= this.#down) s.verdict = 'down';
    }
    return s.verdict;
  }

  verdict(link: string): LinkVerdict {
    return this.#links.get(link)?.verdict ?? 'unknown';
  }

  counters(link: string): { failures: number; successes: number } {
    const s = this.#links.get(link);
    return { failures: s?.failures ?? 0, successes: s?.successes ?? 0 };
  }

  /** Forgets a link's history (after a switch attempt: it must prove itself down again before another). */
  forget(link: string): void {
    const s = this.#links.get(link);
    if (s) Object.assign(s, { failures: 0, successes: 0, verdict: 'unknown' });
  }

  /** Forgets everything (the control plane is back and decides). */
  reset(): void {
    for (const link of this.#links.keys()) this.forget(link);
  }
}

/** What local autonomy should do now. */
export type AutonomyDecision =
  | { readonly kind: 'stay' }
  | { readonly kind: 'switch'; readonly to: string; readonly reason: string }
  | { readonly kind: 'stuck'; readonly reason: string };

/**
 * Switch when the active link is down and another link is up (the first in configured order); `stuck` when the
 * active link is down and no other link has proved itself up.
 */
export function decideAutonomy(health: LinkHealth, active: string, links: readonly string[]): AutonomyDecision {
  if (health.verdict(active) !== 'down') return { kind: 'stay' };
  const { failures } = health.counters(active);
  const to = links.find((l) => l !== active && health.verdict(l) === 'up');
  if (!to)
    return {
      kind: 'stuck',
      reason: `active link ${active} failed ${failures} interval(s) in a row and no other link is up`,
    };
  const { successes } = health.counters(to);
  return {
    kind: 'switch',
    to,
    reason: `control plane unreachable; active link ${active} failed ${failures} interval(s) in a row, ${to} passed ${successes}`,
  };
}

export interface LinkTestOptions {
  readonly targets: readonly PlannedCheck[];
  /** Tries of each target; a target answers if one try is not down. */
  readonly count: number;
  /** Targets that must answer for a good interval. */
  readonly reliability: number;
  readonly localAddress: string;
  readonly signal?: AbortSignal;
}

/** One interval of one link: every target tried up to `count` times through the link's address. */
export async function testLink(options: LinkTestOptions): Promise<{ passed: boolean; detail: string }> {
  const results = await Promise.all(
    options.targets.map(async (target) => {
      let last: ProbeResult | undefined;
      for (let i = 0; i < options.count && !options.signal?.aborted; i++) {
        last = await runProbe(target.probe, {
          timeoutMs: target.timeoutMs,
          localAddress: options.localAddress,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (last.outcome !== 'down') return { target: target.id, ok: true, detail: last.detail };
      }
      return { target: target.id, ok: false, detail: last?.detail ?? 'not run' };
    }),
  );
  const answered = results.filter((r) => r.ok).length;
  const failed = results.filter((r) => !r.ok).map((r) => `${r.target} (${r.detail})`);
  const passed = answered >= options.reliability;
  return {
    passed,
    detail: `${answered}/${results.length} target(s) answered${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
  };
}
