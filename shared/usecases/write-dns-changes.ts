import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverConfig } from '../config/model.ts';
import { recordFailures } from '../domain/decide.ts';
import {
  coalesceChanges,
  planChangeBatches,
  recordKey,
  ROUTE53_CHANGE_LIMITS,
  type ChangeBatchLimits,
  type WantedDnsChange,
} from '../domain/dns-batch.ts';
import { TransientError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { DnsZoneWriter, RateBudget } from '../ports/dns-writer.ts';
import type { StateStore } from '../ports/state-store.ts';
import { commitEvent } from './commit-event.ts';

export interface WriteDnsChangesDeps {
  readonly writer: DnsZoneWriter;
  readonly budget: RateBudget;
  readonly clock: Clock;
  /** Where a change Route 53 refuses for good is recorded (an `action-failed` transition and its alert). */
  readonly store: StateStore;
  readonly config: FailoverConfig;
  /** @default ROUTE53_CHANGE_LIMITS */
  readonly limits?: ChangeBatchLimits;
  /** Backoff after a transient error, full jitter, doubling from base to max. @default 250 ms to 5 s */
  readonly backoff?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  /** Injectable so that a virtual clock can drive it. */
  readonly wait?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly log?: (event: DnsWriteEvent) => void;
}

export type DnsWriteEvent =
  | {
      readonly type: 'written';
      readonly hostedZoneId: string;
      readonly changes: readonly WantedDnsChange[];
      readonly changeId: string;
      readonly status: string;
      readonly attempts: number;
    }
  | { readonly type: 'retry'; readonly hostedZoneId: string; readonly size: number; readonly error: string }
  | { readonly type: 'rejected'; readonly change: WantedDnsChange; readonly error: string };

/** What became of each change handed in. */
export interface WriteDnsChangesOutput {
  /** Written to Route 53 (their record's latest wanted state is in a change that Route 53 accepted). */
  readonly applied: readonly WantedDnsChange[];
  /** A later wanted state of the same record came with them: nothing to write for these. */
  readonly superseded: readonly WantedDnsChange[];
  /** Not written before the deadline (throttled, Route 53 unavailable): hand them back, to be tried again. */
  readonly pending: readonly WantedDnsChange[];
  /** Refused for good (invalid change, no such zone, not allowed): recorded as `action-failed` on their site. */
  readonly rejected: readonly { readonly change: WantedDnsChange; readonly error: string }[];
  /** ChangeResourceRecordSets requests made, refused ones included. */
  readonly requests: number;
}

/**
 * The DNS writer: writes the wanted states of record-swap records, per hosted zone, in as few requests as Route 53
 * allows. Keeps only the latest wanted change of each record (by site-state seq), batches them up to the API's
 * limits, takes one token of the account's shared budget per request, and retries a transient error (throttling,
 * a change still in progress) until the deadline; it never gives a wanted state up for that. Changes not written
 * by then come back as `pending`. A batch Route 53 refuses for good is split in halves until the refused change
 * is alone; that change is recorded as `action-failed` on its site. Writing is an UPSERT of the latest wanted
 * values, so writing a change twice (a redelivered message) is harmless.
 */
export async function writeDnsChanges(
  deps: WriteDnsChangesDeps,
  input: { readonly changes: readonly WantedDnsChange[]; readonly deadline: number },
): Promise<WriteDnsChangesOutput> {
  const zones = new Map<string, WantedDnsChange[]>();
  for (const change of input.changes)
    zones.set(change.hostedZoneId, [...(zones.get(change.hostedZoneId) ?? []), change]);
  const written = new Set<string>();
  const refused = new Map<string, string>();
  const unwritten = new Set<string>();
  let requests = 0;

  await Promise.all(
    [...zones].map(async ([zone, changes]) => {
      const { batches, oversized } = planChangeBatches(coalesceChanges(changes), deps.limits ?? ROUTE53_CHANGE_LIMITS);
      for (const o of oversized) refused.set(o.change.id, o.reason);
      const queue = [...batches];
      while (queue.length > 0) {
        const batch = queue.shift()!;
        const outcome = await writeBatch(deps, zone, batch, input.deadline, () => requests++);
        if (outcome.type === 'written') for (const c of batch) written.add(c.id);
        else if (outcome.type === 'late') {
          for (const c of [batch, ...queue].flat()) unwritten.add(c.id);
          return;
        } else if (batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
        } else refused.set(batch[0]!.id, outcome.error);
      }
    }),
  );

  // Every change handed in is accounted for by the outcome of its record's latest wanted state.
  const latest = new Map(coalesceChanges(input.changes).map((c) => [recordKey(c), c]));
  const applied: WantedDnsChange[] = [];
  const superseded: WantedDnsChange[] = [];
  const pending: WantedDnsChange[] = [];
  const rejected: { change: WantedDnsChange; error: string }[] = [];
  for (const change of input.changes) {
    const head = latest.get(recordKey(change))!;
    if (head !== change) superseded.push(change);
    else if (written.has(change.id)) applied.push(change);
    else if (unwritten.has(change.id)) pending.push(change);
    else rejected.push({ change, error: refused.get(change.id) ?? 'not written' });
  }
  for (const r of rejected) {
    deps.log?.({ type: 'rejected', change: r.change, error: r.error });
    await recordRejection(deps, r.change, r.error);
  }
  return { applied, superseded, pending, rejected, requests };
}

type BatchOutcome = { type: 'written' } | { type: 'late' } | { type: 'refused'; error: string };

async function writeBatch(
  deps: WriteDnsChangesDeps,
  zone: string,
  batch: readonly WantedDnsChange[],
  deadline: number,
  counted: () => void,
): Promise<BatchOutcome> {
  const wait = deps.wait ?? ((ms: number) => sleep(ms));
  const random = deps.random ?? Math.random;
  const { baseDelayMs, maxDelayMs } = deps.backoff ?? { baseDelayMs: 250, maxDelayMs: 5_000 };
  const backOff = async (attempt: number) => {
    const delay = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    await wait(Math.min(delay, Math.max(0, deadline - deps.clock.now())));
  };
  for (let attempt = 1; ;) {
    const left = deadline - deps.clock.now();
    if (left <= 0) return { type: 'late' };
    let token: Awaited<ReturnType<RateBudget['take']>>;
    try {
      token = await deps.budget.take('write');
    } catch (error) {
      // The budget's table throttled or unreachable: wait and ask again, never write without a token.
      if (!(error instanceof TransientError)) throw error;
      deps.log?.({ type: 'retry', hostedZoneId: zone, size: batch.length, error: error.message });
      await backOff(attempt++);
      continue;
    }
    if (!token.granted) {
      await wait(Math.min(token.waitMs, left));
      continue;
    }
    try {
      counted();
      const result = await deps.writer.upsert(zone, batch);
      deps.log?.({ type: 'written', hostedZoneId: zone, changes: batch, ...result, attempts: attempt });
      return { type: 'written' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof TransientError)) return { type: 'refused', error: message };
      deps.log?.({ type: 'retry', hostedZoneId: zone, size: batch.length, error: message });
      await backOff(attempt++);
    }
  }
}

async function recordRejection(deps: WriteDnsChangesDeps, change: WantedDnsChange, error: string): Promise<void> {
  const site = deps.config.sites.find((s) => s.id === change.site);
  if (!site) return;
  await commitEvent(deps, site.id, (state) =>
    recordFailures({
      site,
      regions: deps.config.regions.probe,
      state,
      failures: [{ action: change, error, attempts: 1 }],
      now: deps.clock.now(),
    }),
  );
}
