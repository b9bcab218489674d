/**
 * The local runtime's clock for resending agent commands whose ack has not come (AgentChannelDeps.resendAt): one
 * timer per site, set for the earliest resend due; when it fires, `resend(site)` runs (deliverPending, which sets the
 * next one). In the cloud, heartbeats, polls and the minute's sweep do this instead.
 */
export class ResendTimers {
  readonly #resend: (site: string) => Promise<unknown>;
  readonly #now: () => number;
  readonly #onError: (error: unknown, site: string) => void;
  readonly #timers = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: {
    readonly resend: (site: string) => Promise<unknown>;
    readonly now: () => number;
    readonly onError: (error: unknown, site: string) => void;
  }) {
    this.#resend = options.resend;
    this.#now = options.now;
    this.#onError = options.onError;
  }

  /** Resend the site's due commands at `at` (epoch ms), unless a timer for an earlier time is set already. */
  at(site: string, at: number): void {
    const current = this.#timers.get(site);
    if (this.#closed || (current && current.at <= at)) return;
    if (current) clearTimeout(current.timer);
    // A little late rather than early: fired before the due time, the resend would find nothing due.
    const delay = Math.max(0, at - this.#now()) + 20;
    const timer = setTimeout(() => {
      this.#timers.delete(site);
      const running = this.#resend(site)
        .catch((error: unknown) => this.#onError(error, site))
        .finally(() => this.#running.delete(running));
      this.#running.add(running);
    }, delay);
    timer.unref();
    this.#timers.set(site, { at, timer });
  }

  /** Clears the timers and waits for resends in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#running);
  }
}
