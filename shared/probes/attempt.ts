import type { ErrorClass, ProbeFields, ProbeResult, Timings } from '../contracts/observation.ts';
import { classifyError, describeError, down } from './result.ts';
import type { ProbeContext } from './types.ts';

/** A failure that already knows its layer and its human detail; probes turn it into a `down` result. */
export class ProbeFailure extends Error {
  override readonly name = 'ProbeFailure';

  constructor(
    readonly errorClass: ErrorClass,
    detail: string,
    readonly fields: ProbeFields = {},
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

/** The running state of one probe attempt, shared by the connection helpers. */
export interface Attempt {
  /** Aborted at the deadline or when the caller's signal aborts: stop and release every socket. */
  readonly signal: AttemptSignal;
  /** performance.now() when the attempt began. */
  readonly start: number;
  /** What the attempt waits for now, named in the detail of a timeout. */
  phase: string;
  /** Phase durations measured so far. */
  timings: Timings;
}

/**
 * Runs `body` under the deadline of `ctx`: answers by `ctx.timeoutMs` (errorClass `timeout`) or as soon as
 * `ctx.signal` aborts, and aborts the attempt's signal so that `body` releases its sockets. Never throws: an error
 * escaping `body` becomes a `down` result.
 */
export async function runAttempt(
  ctx: ProbeContext,
  body: (attempt: Attempt) => Promise<ProbeResult>,
): Promise<ProbeResult> {
  const controller = new AttemptSignal();
  const attempt: Attempt = { signal: controller, start: performance.now(), phase: 'starting', timings: {} };
  const timeoutMs = Number.isFinite(ctx.timeoutMs) && ctx.timeoutMs > 0 ? ctx.timeoutMs : 1;
  if (ctx.signal?.aborted) return down('timeout', 'aborted before the start', null);

  let answer!: (result: ProbeResult) => void;
  const stopped = new Promise<ProbeResult>((resolve) => (answer = resolve));
  const stop = (why: string): void => {
    if (controller.aborted) return;
    const phase = attempt.phase;
    controller.abort(new DOMException(why, 'AbortError'));
    answer(down('timeout', `${why} (${phase})`, null, {}, { ...attempt.timings }));
  };
  const timer = setTimeout(() => stop(`no answer within ${timeoutMs} ms`), timeoutMs);
  const onAbort = (): void => stop('aborted');
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const finished = Promise.resolve()
      .then(() => body(attempt))
      .catch((error: unknown) => failureResult(error, attempt));
    return await Promise.race([stopped, finished]);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}

function failureResult(error: unknown, attempt: Attempt): ProbeResult {
  const timings = { ...attempt.timings };
  if (error instanceof ProbeFailure) return down(error.errorClass, error.message, null, error.fields, timings);
  return down(classifyError(error), describeError(error), null, {}, timings);
}

/**
 * The abort side of one attempt: the part of AbortSignal the probes use, without the cost of an AbortController and
 * EventTarget on every attempt of every round (it shows in the probe benchmark).
 */
export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] = [];

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const listener of this.listeners.splice(0)) listener();
  }
}

/** The error to reject with once an attempt's signal has aborted. */
export function abortError(signal: AbortSignal | AttemptSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

/** The degraded reason when `latencyMs` is over `budgetMs`, else null. */
export function budgetWarning(latencyMs: number, budgetMs: number | undefined): string | null {
  return budgetMs !== undefined && latencyMs > budgetMs ? `took ${latencyMs} ms, over the ${budgetMs} ms budget` : null;
}
