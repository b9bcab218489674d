import { setTimeout as sleep } from 'node:timers/promises';
import type { DnsRecordConfig, FailoverConfig, SiteConfig } from '../config/model.ts';
import { listingKey } from '../domain/dns-batch.ts';
import type { DnsDrift } from '../domain/decide.ts';
import { sameRecordValues } from '../domain/dns-values.ts';
import type { Clock } from '../ports/clock.ts';
import type { DnsZoneWriter, RateBudget, ReconcileCursor, ReconcileCursorStore } from '../ports/dns-writer.ts';
import type { StateStore } from '../ports/state-store.ts';
import { commitDrift, type ReconcileDnsOutput } from './reconcile-dns.ts';

export interface ReconcileZonesDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly clock: Clock;
  /** Lists the zones' pages (ListResourceRecordSets). */
  readonly zones: Pick<DnsZoneWriter, 'listPage'>;
  /** The account's Route 53 budget: one read token per page, taken at low priority. */
  readonly budget: RateBudget;
  /** Where the sweep stopped, kept between sweeps. */
  readonly cursor: ReconcileCursorStore;
  /** At most one page per this many ms, whatever the budget holds: the reconciler's own share. @default 1000 */
  readonly minPageIntervalMs?: number;
  /** @default 300 */
  readonly pageSize?: number;
  /**
   * Records of a site whose mode changed less than this ago are left alone: their wanted state may still wait in
   * the DNS writer's queue (the dispatcher has handed it on). @default 5 minutes, the writer's age alarm
   */
  readonly driftGraceMs?: number;
  readonly wait?: (ms: number) => Promise<void>;
}

export interface ReconcileZonesOutput extends ReconcileDnsOutput {
  /** ListResourceRecordSets pages read. */
  readonly pages: number;
  /** Zones listed to their end in this sweep. */
  readonly zonesCompleted: number;
  /** Where the sweep started (null: at the first zone's first record). */
  readonly resumedFrom: ReconcileCursor | null;
  /** Zones whose listing failed; the next sweep resumes there. */
  readonly failedZones: readonly { readonly hostedZoneId: string; readonly error: unknown }[];
  /** The sweep was left to another reconciler, which saved the cursor within `deferToSweepsWithinMs`. */
  readonly deferred: boolean;
}

/** What one sweep is asked to do. */
export interface ReconcileZonesInput {
  /** When the sweep stops, ms. */
  readonly deadline: number;
  /**
   * Leave the sweep (read no page) when another sweep saved the cursor less than this long ago: the standby control
   * region's reconciler defers to the primary's while that one is sweeping. @default - never defer
   */
  readonly deferToSweepsWithinMs?: number;
}

/**
 * How long the standby's reconciler leaves the sweeps to the primary's after the primary last saved the cursor: two
 * sweep periods (a sweep saves the cursor after every page), so one failed or empty sweep of the primary is not
 * taken for an outage.
 */
export const STANDBY_DEFERS_MS = 10 * 60_000;

/** How long after a site's change of mode its records may still answer the old values without being drift. */
export const DRIFT_GRACE_MS = 5 * 60_000;

interface Managed {
  readonly site: SiteConfig;
  readonly record: DnsRecordConfig;
  readonly key: string;
}

/**
 * Reconciles record-swap records by listing their hosted zones page by page (ListResourceRecordSets, 300 record
 * sets a call) instead of one read per record: every managed record a page covers is compared with its site's
 * state, and drift becomes a `dns-drift` transition with a repair action, as in reconcileDns. The sweep resumes
 * where the previous one stopped (the cursor is saved after every page), goes through every zone at most once,
 * takes one low-priority token of the shared budget per page, and stops at the deadline. With
 * `deferToSweepsWithinMs`, a sweep that finds the cursor saved more recently than that does nothing (`deferred`).
 */
export async function reconcileZones(
  deps: ReconcileZonesDeps,
  input: ReconcileZonesInput,
): Promise<ReconcileZonesOutput> {
  const wait = deps.wait ?? ((ms: number) => sleep(ms));
  const minInterval = deps.minPageIntervalMs ?? 1000;
  const byZone = new Map<string, Managed[]>();
  for (const site of deps.config.sites)
    for (const record of site.dns) {
      if (record.strategy !== 'record-swap') continue;
      const list = byZone.get(record.hostedZoneId) ?? [];
      list.push({ site, record, key: listingKey(record.name, record.type) });
      byZone.set(record.hostedZoneId, list);
    }
  const zones = [...byZone.keys()];
  const out = {
    checked: 0,
    reapplied: 0,
    pages: 0,
    zonesCompleted: 0,
    drifted: [] as { site: string; name: string; type: string }[],
    failed: [] as { site: string; error: unknown }[],
    failedZones: [] as { hostedZoneId: string; error: unknown }[],
  };
  if (zones.length === 0) return { ...out, resumedFrom: null, deferred: false };
  const stored = await deps.cursor.load();
  const within = input.deferToSweepsWithinMs;
  if (within !== undefined && stored?.savedAtMs !== undefined && deps.clock.now() - stored.savedAtMs < within)
    return { ...out, resumedFrom: null, deferred: true };
  const resumedFrom =
    stored && byZone.has(stored.hostedZoneId) ? { hostedZoneId: stored.hostedZoneId, next: stored.next } : null;
  let cursor: ReconcileCursor = resumedFrom ?? { hostedZoneId: zones[0]!, next: null };
  let lastPageAt = -Infinity;

  while (out.zonesCompleted < zones.length) {
    const now = deps.clock.now();
    if (now >= input.deadline) break;
    const paced = lastPageAt + minInterval - now;
    if (paced > 0) {
      await wait(Math.min(paced, input.deadline - now));
      continue;
    }
    const token = await deps.budget.take('read');
    if (!token.granted) {
      await wait(Math.min(token.waitMs, input.deadline - now));
      continue;
    }
    lastPageAt = deps.clock.now();
    const zone = cursor.hostedZoneId;
    let page;
    try {
      page = await deps.zones.listPage(zone, cursor.next ?? undefined, deps.pageSize ?? 300);
    } catch (error) {
      out.failedZones.push({ hostedZoneId: zone, error });
      break;
    }
    out.pages++;
    const from = cursor.next ? listingKey(cursor.next.name, cursor.next.type) : '';
    const to = page.next ? listingKey(page.next.name, page.next.type) : undefined;
    const covered = byZone.get(zone)!.filter((m) => m.key >= from && (to === undefined || m.key < to));
    const listed = new Map(page.records.map((r) => [listingKey(r.name, r.type), r]));
    await compare(deps, covered, listed, out);
    if (page.next) cursor = { hostedZoneId: zone, next: page.next };
    else {
      out.zonesCompleted++;
      cursor = { hostedZoneId: zones[(zones.indexOf(zone) + 1) % zones.length]!, next: null };
    }
    await deps.cursor.save(cursor, deps.clock.now());
  }
  return { ...out, resumedFrom, deferred: false };
}

async function compare(
  deps: ReconcileZonesDeps,
  covered: readonly Managed[],
  listed: ReadonlyMap<string, { readonly values: readonly string[] }>,
  out: {
    checked: number;
    drifted: { site: string; name: string; type: string }[];
    failed: { site: string; error: unknown }[];
  },
): Promise<void> {
  const bySite = new Map<SiteConfig, Managed[]>();
  for (const m of covered) bySite.set(m.site, [...(bySite.get(m.site) ?? []), m]);
  for (const [site, records] of bySite) {
    try {
      const state = await deps.store.load(site.id);
      if (!state || deps.clock.now() - state.modeSince < (deps.driftGraceMs ?? DRIFT_GRACE_MS)) continue;
      const drifts: DnsDrift[] = [];
      for (const { record, key } of records) {
        const pending = state.outbox.some((a) => a.kind === 'dns' && a.name === record.name && a.type === record.type);
        if (pending) continue;
        out.checked++;
        const actual = listed.get(key);
        const desired = record.values[state.activeLink] ?? [];
        if (!actual || !sameRecordValues(record.type, actual.values, desired))
          drifts.push({ record, actual: actual ? [...actual.values] : null });
      }
      if (drifts.length > 0) {
        await commitDrift(deps, site, drifts);
        out.drifted.push(...drifts.map((d) => ({ site: site.id, name: d.record.name, type: d.record.type })));
      }
    } catch (error) {
      // One site's trouble (a throttled store) must not stop the sweep of the others.
      out.failed.push({ site: site.id, error });
    }
  }
}
