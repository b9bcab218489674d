import type { DnsRecordConfig, FailoverConfig, SiteConfig } from '../config/model.ts';
import { recordDrift, type DnsDrift } from '../domain/decide.ts';
import { sameRecordValues } from '../domain/dns-values.ts';
import type { Clock } from '../ports/clock.ts';
import type { DnsRouter } from '../ports/dns-router.ts';
import type { StateStore } from '../ports/state-store.ts';
import { commitEvent } from './commit-event.ts';

export interface ReconcileDnsDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly dns: DnsRouter;
  readonly clock: Clock;
}

export interface ReconcileDnsOutput {
  /** Records compared with what they answer. */
  readonly checked: number;
  /** Records found answering something else, now being set right (with a warning alert). */
  readonly drifted: readonly { readonly site: string; readonly name: string; readonly type: string }[];
  /** Records whose router cannot read them back, re-applied as they should be. */
  readonly reapplied: number;
  /** Sites whose records could not be checked this time (the others were); the next sweep tries again. */
  readonly failed: readonly { readonly site: string; readonly error: unknown }[];
}

/**
 * Compares every managed record with the state of its site, and repairs drift: a record someone changed by hand
 * gets a `dns-drift` transition, a DNS action putting it back, and a warning alert, all through the outbox. Records
 * with a DNS action still pending are left alone (the dispatcher is about to change them). Records that cannot be
 * read back are re-applied.
 */
export async function reconcileDns(
  deps: ReconcileDnsDeps,
  input: {
    readonly sites?: readonly string[];
    /** Only records of these strategies are swept. @default every strategy */
    readonly strategies?: readonly DnsRecordConfig['strategy'][];
  } = {},
): Promise<ReconcileDnsOutput> {
  let checked = 0;
  let reapplied = 0;
  const drifted: { site: string; name: string; type: string }[] = [];
  const failed: { site: string; error: unknown }[] = [];
  const sites = deps.config.sites.filter((s) => !input.sites || input.sites.includes(s.id));
  for (const site of sites) {
    try {
      const state = await deps.store.load(site.id);
      if (!state || site.dns.length === 0) continue;
      const drifts: DnsDrift[] = [];
      for (const record of site.dns) {
        if (input.strategies && !input.strategies.includes(record.strategy)) continue;
        const pending = state.outbox.some((a) => a.kind === 'dns' && a.name === record.name && a.type === record.type);
        if (pending) continue;
        checked++;
        const desired = record.values[state.activeLink] ?? [];
        const actual = await deps.dns.read(record);
        if (actual === undefined) {
          await deps.dns.apply({
            kind: 'dns',
            id: `${site.id}:reconcile:${record.name}:${record.type}`,
            site: site.id,
            seq: state.seq,
            at: deps.clock.now(),
            zone: record.zone,
            hostedZoneId: record.hostedZoneId,
            name: record.name,
            type: record.type,
            ttl: record.ttl,
            strategy: record.strategy,
            link: state.activeLink,
            values: [...desired],
          });
          reapplied++;
        } else if (actual === null || !sameRecordValues(record.type, actual.values, desired)) {
          drifts.push({ record, actual: actual?.values ?? null });
        }
      }
      if (drifts.length > 0) {
        await commitDrift(deps, site, drifts);
        drifted.push(...drifts.map((d) => ({ site: site.id, name: d.record.name, type: d.record.type })));
      }
    } catch (error) {
      // One site's trouble (a refused read, a throttled store) must not stop the sweep of the others.
      failed.push({ site: site.id, error });
    }
  }
  return { checked, drifted, reapplied, failed };
}

/** Commits the drifts of one site's records, keeping only those still against the latest state's active link. */
export function commitDrift(
  deps: Pick<ReconcileDnsDeps, 'config' | 'store' | 'clock'>,
  site: SiteConfig,
  drifts: readonly DnsDrift[],
) {
  return commitEvent(deps, site.id, (state) => {
    // The state may have moved on since the records were read: keep only drifts still against its active link.
    const still = drifts.filter(
      (d) => !sameRecordValues(d.record.type, d.actual ?? [], d.record.values[state.activeLink] ?? []),
    );
    if (still.length === 0) return null;
    return recordDrift({ site, regions: deps.config.regions.probe, state, drifts: still, now: deps.clock.now() });
  });
}
