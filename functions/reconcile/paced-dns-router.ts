import { setTimeout as sleep } from 'node:timers/promises';
import type { DnsAction } from '../../shared/domain/model.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../shared/ports/dns-router.ts';

/** Reads per second the reconciler leaves itself: Route 53's API allows five per second for the whole account. */
export const RECONCILE_READS_PER_SECOND = 2;

/**
 * A DnsRouter whose reads start at least `minIntervalMs` apart; applies pass straight through. The reconciler reads
 * every managed record through it, so that its sweep never takes the Route 53 request rate the dispatcher needs for
 * a failover in the same account.
 */
export class PacedDnsRouter implements DnsRouter {
  readonly #inner: DnsRouter;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  #nextAt = 0;

  constructor(inner: DnsRouter, options: { readonly minIntervalMs: number; readonly now?: () => number }) {
    this.#inner = inner;
    this.#minIntervalMs = options.minIntervalMs;
    this.#now = options.now ?? Date.now;
  }

  apply(action: DnsAction): Promise<DnsApplyResult> {
    return this.#inner.apply(action);
  }

  async read(record: DnsRecordRef): Promise<{ values: string[]; ttl: number } | null | undefined> {
    const now = this.#now();
    const startAt = Math.max(now, this.#nextAt);
    this.#nextAt = startAt + this.#minIntervalMs;
    if (startAt > now) await sleep(startAt - now);
    return this.#inner.read(record);
  }
}
