import type { ProbeResult } from '../contracts/observation.ts';

/** What a probe gets besides its settings. */
export interface ProbeContext {
  /** Deadline of this attempt in milliseconds: the probe answers by then, whatever the network does. */
  readonly timeoutMs: number;
  /** Aborts the attempt early (round budget, shutdown). */
  readonly signal?: AbortSignal;
  /** Source address to bind outgoing connections to, so that a check goes out through one WAN link. */
  readonly localAddress?: string;
}

/** A probe turns settings into one result and never throws. */
export type Probe<Spec> = (spec: Spec, ctx: ProbeContext) => Promise<ProbeResult>;
