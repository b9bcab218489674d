/** Reconnect delays: exponential growth from `minMs` up to `maxMs`, with full jitter. */
export class Backoff {
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.#minMs = minMs;
    this.#maxMs = Math.max(minMs, maxMs);
    this.#random = random;
  }

  /**
   * The delay before the next attempt: uniform in [minMs, min(maxMs, minMs * 2^n)] for the n-th failure in a row,
   * so that agents cut off together do not all come back in the same instant.
   */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(this.#minMs + this.#random() * (ceiling - this.#minMs));
  }

  /** Failures in a row so far. */
  get attempts(): number {
    return this.#attempt;
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Sleeps that `wake()` or `cancel()` can cut short; a wake while none is under way makes the next one return at once. */
export class Sleeper {
  readonly #wakers = new Set<() => void>();
  #woken = false;
  #cancelled = false;

  /** Resolves after `ms`, or earlier on wake/cancel; true when it slept the whole time. */
  sleep(ms: number): Promise<boolean> {
    if (this.#cancelled || this.#woken) {
      this.#woken = false;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const done = (full: boolean) => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve(full);
      };
      const wake = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      this.#wakers.add(wake);
    });
  }

  /** Ends the sleeps under way, or the next one if none is. */
  wake(): void {
    if (this.#wakers.size === 0) this.#woken = true;
    for (const wake of [...this.#wakers]) wake();
  }

  /** Ends the sleeps under way and every later one at once. */
  cancel(): void {
    this.#cancelled = true;
    this.wake();
  }
}
