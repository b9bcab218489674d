import type { DispatchLease } from '../ports/dispatch-lease.ts';
import { dispatchSite, type DispatchDeps, type DispatchOutput } from './dispatch.ts';

export interface DispatchExclusivelyDeps extends DispatchDeps {
  readonly lease: DispatchLease;
  /** This dispatcher's name in the lease: its control region. */
  readonly holder: string;
  /** How long a lease lasts; longer than one dispatch can run (the function's timeout), so it never outlives one. */
  readonly leaseMs: number;
}

export interface DispatchExclusivelyOutput extends DispatchOutput {
  /** Another dispatcher held the site's lease: it applies what is pending, this one did nothing. */
  readonly heldElsewhere: boolean;
}

const MAX_PASSES = 5;

/** A dispatch lease: longer than the dispatch function may run (3 minutes), so a live holder never loses it. */
export const DISPATCH_LEASE_MS = 4 * 60_000;

/** What the standby control region's dispatcher leaves to the primary's: it has no agent channel or webhook queue. */
export const STANDBY_LEAVES: ReadonlySet<'agent-command' | 'webhook'> = new Set(['agent-command', 'webhook']);

/**
 * dispatchSite under the site's lease, for two control regions that both read every write of the table: only the
 * holder applies the actions, so each is applied once even though both dispatchers are woken by the same records.
 * A write committed while the lease was held wakes the other dispatcher, which finds it taken and leaves; so after
 * giving the lease up the holder reads the state again and takes another pass while actions of its own are pending.
 */
export async function dispatchExclusively(
  deps: DispatchExclusivelyDeps,
  input: { readonly site: string },
): Promise<DispatchExclusivelyOutput> {
  const out = { applied: [], skipped: [], failed: [] } as {
    applied: DispatchOutput['applied'][number][];
    skipped: DispatchOutput['skipped'][number][];
    failed: DispatchOutput['failed'][number][];
  };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const now = deps.clock.now();
    if (!(await deps.lease.acquire(input.site, deps.holder, now, now + deps.leaseMs)))
      return { ...out, heldElsewhere: pass === 0 };
    try {
      const done = await dispatchSite(deps, input);
      out.applied.push(...done.applied);
      out.skipped.push(...done.skipped);
      out.failed.push(...done.failed);
    } finally {
      await deps.lease.release(input.site, deps.holder);
    }
    const state = await deps.store.load(input.site);
    const mine = state?.outbox.filter((a) => a.kind !== 'history' && !deps.leave?.has(a.kind)) ?? [];
    if (mine.length === 0) break;
  }
  return { ...out, heldElsewhere: false };
}
