import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ProbeContext } from './types.ts';

/** The deadline of one attempt: one timer and one signal, aborted at the deadline or by the caller's signal. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Whether the caller's signal (rather than the deadline) ended the attempt. */
  aborted(): boolean;
  dispose(): void;
}

/** Starts the deadline of an attempt from `ctx`; call dispose() when the attempt ends. */
export function startDeadline(ctx: ProbeContext): Deadline {
  const controller = new AbortController();
  let byCaller = false;
  const timer = setTimeout(() => controller.abort(), ctx.timeoutMs);
  const onAbort = (): void => {
    byCaller = true;
    controller.abort();
  };
  if (ctx.signal?.aborted) onAbort();
  else ctx.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    aborted: () => byCaller,
    dispose() {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** The address to reach `host` at, of the family of `localAddress` when one is bound; abandoned when `signal` aborts. */
export async function resolveHost(
  host: string,
  localAddress: string | undefined,
  signal: AbortSignal,
): Promise<{ address: string; family: 4 | 6 }> {
  const literal = isIP(host);
  if (literal !== 0) return { address: host, family: literal as 4 | 6 };
  const wanted = localAddress === undefined ? 0 : isIP(localAddress);
  const found = await untilAborted(lookup(host, { family: wanted }), signal);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/** `promise`, or an AbortError as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
