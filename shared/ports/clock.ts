/** The time, injected so that domain logic and tests never read the wall clock themselves. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
