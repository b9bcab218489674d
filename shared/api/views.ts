import type { MaintenanceConfig, SiteConfig } from '../config/model.ts';
import type {
  BrakeView,
  CommandResult,
  IncidentView,
  MaintenanceWindowView,
  SiteDetail,
  SiteSummary,
  TransitionView,
} from '../contracts/api.ts';
import type { BrakeEngagement, BrakeStatus } from '../domain/brake.ts';
import { decayedPenalty, secondsUntilReuse } from '../domain/damping.ts';
import { renderExplanation } from '../domain/explain.ts';
import { regionReports } from '../domain/verdicts.ts';
import { staleAfterMs as staleAfterMsOf } from '../domain/write-policy.ts';
import type { IncidentRecord, SiteState, Transition } from '../domain/model.ts';
import type { StoredMaintenanceWindow } from '../ports/maintenance-store.ts';

/** How the API shows times: ISO 8601 in UTC. */
export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

/** A maintenance window of either origin, as the API lists it. */
export type AnyWindow =
  | { readonly source: 'config'; readonly site: string; readonly window: MaintenanceConfig }
  | { readonly source: 'api'; readonly window: StoredMaintenanceWindow };

/** The summary of a site: its mode, override, maintenance and open incident. */
export function siteSummary(
  site: SiteConfig,
  state: SiteState | null,
  windows: readonly AnyWindow[] = [],
): SiteSummary {
  const o = state?.override ?? null;
  const f = state?.operatorFailover ?? null;
  const m = state?.maintenance ?? null;
  const inForce = m ? windows.find((w) => w.window.id === m.id) : undefined;
  const i = state?.incident ?? null;
  return {
    id: site.id,
    name: site.name,
    mode: state?.mode ?? 'PRIMARY_ACTIVE',
    activeLink: state?.activeLink ?? site.primary.id,
    modeSince: isoOrNull(state?.modeSince),
    override: o
      ? { pin: o.pin, link: o.link, reason: o.reason, by: o.by, at: iso(o.at), until: isoOrNull(o.until) }
      : null,
    operatorFailover: f ? { by: f.by, reason: f.reason, at: iso(f.at), until: isoOrNull(f.until) } : null,
    maintenance: m
      ? {
          id: m.id,
          startedAt: iso(m.startedAt),
          endsAt: iso(m.endsAt),
          healthyAtStart: m.healthyAtStart,
          reason: inForce?.window.reason ?? null,
          ticket: inForce?.window.ticket ?? null,
        }
      : null,
    incident: i
      ? { id: i.id, kind: i.kind, openedAt: iso(i.openedAt), summary: i.summary, acknowledged: i.acknowledged }
      : null,
    updatedAt: isoOrNull(state?.updatedAt),
  };
}

/** Everything the decider knows of a site, at `now`: links, each check's latest result per vantage, vantages. */
export function siteDetail(
  site: SiteConfig,
  state: SiteState | null,
  regions: readonly string[],
  now: number,
  windows: readonly AnyWindow[] = [],
): SiteDetail {
  const staleAfterMs = staleAfterMsOf(site.policy);
  const byCheck = new Map<string, SiteDetail['checks'][number]['results']>();
  for (const [key, s] of Object.entries(state?.streaks ?? {})) {
    const [check, link, ...vantage] = key.split('|');
    const results = byCheck.get(check!) ?? [];
    results.push({
      vantage: vantage.join('|'),
      link: link === '-' || link === undefined ? null : link,
      outcome: s.lastOutcome,
      down: s.down,
      notUp: s.notUp,
      up: s.up,
      errorClass: s.lastErrorClass,
      detail: s.lastDetail,
      round: s.lastRound,
      at: iso(s.lastAt),
    });
    byCheck.set(check!, results);
  }
  const damping = state?.damping ?? { penalty: 0, at: now, suppressed: false, announced: false };
  return {
    ...siteSummary(site, state, windows),
    links: site.links.map((l) => {
      const h = state?.links[l.id];
      return {
        id: l.id,
        role: l.role,
        active: (state?.activeLink ?? site.primary.id) === l.id,
        verdict: h?.verdict ?? 'unknown',
        degraded: h?.degraded ?? false,
        since: isoOrNull(h?.since),
      };
    }),
    checks: site.checks.map((c) => ({
      id: c.id,
      name: c.name ?? null,
      kind: c.probe.kind,
      link: c.link,
      dependency: c.dependency,
      results: (byCheck.get(c.id) ?? []).sort((a, b) => a.vantage.localeCompare(b.vantage)),
    })),
    vantages: Object.entries(state?.vantages ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, v]) => ({
        id,
        lastRound: v.lastRound,
        lastAt: iso(v.lastAt),
        impaired: v.impaired,
        stale: now - v.lastAt > staleAfterMs,
        detail: v.detail,
      })),
    dependencies: Object.entries(state?.dependencies ?? {}).map(([id, d]) => ({
      id,
      outage: d.outage,
      since: iso(d.since),
    })),
    primaryUpSince: isoOrNull(state?.primaryUpSince),
    quorum: quorumView(site, state, regions, now),
    damping: {
      penalty: Math.round(decayedPenalty(damping, site.policy.damping, now) * 100) / 100,
      suppressed: damping.suppressed,
      suppressLimit: site.policy.damping.suppressLimit,
      reuseLimit: site.policy.damping.reuseLimit,
      reuseInSeconds: damping.suppressed ? secondsUntilReuse(damping, site.policy.damping, now) : null,
    },
    policy: {
      failback: site.policy.failback,
      holdDownSeconds: site.policy.holdDownSeconds,
      quorum: site.policy.quorum,
      failureThreshold: site.policy.failureThreshold,
      recoveryThreshold: site.policy.recoveryThreshold,
      intervalSeconds: site.policy.intervalSeconds,
    },
    pendingActions: (state?.outbox ?? []).filter((a) => a.kind !== 'history').length,
    seq: state?.seq ?? 0,
  };
}

/** How many probe regions report on the site now, and whether a quorum-lost episode is open. */
function quorumView(
  site: SiteConfig,
  state: SiteState | null,
  regions: readonly string[],
  now: number,
): SiteDetail['quorum'] {
  const { reporting, missing } = state
    ? regionReports(site, state, regions, now)
    : {
        reporting: [],
        missing: regions.map((region) => ({ region, reason: 'no data' as const, lastAt: null, detail: '' })),
      };
  return {
    needed: site.policy.quorum,
    regions: regions.length,
    reporting: reporting.length,
    lost: state?.quorum?.lost ?? false,
    since: state?.quorum?.lost ? iso(state.quorum.since) : null,
    missing: missing.map((m) => ({ ...m, lastAt: isoOrNull(m.lastAt) })),
  };
}

/** A transition with its explanation, times as ISO strings, and the explanation's text. */
export function transitionView(t: Transition): TransitionView {
  const e = t.explanation;
  return {
    site: t.site,
    seq: t.seq,
    at: iso(t.at),
    kind: t.kind,
    from: t.from,
    to: t.to,
    fromLink: t.fromLink,
    toLink: t.toLink,
    suppressed: t.suppressed,
    incidentId: t.incidentId,
    explanation: {
      summary: e.summary,
      text: renderExplanation(e),
      quorum: e.quorum,
      failureThreshold: e.failureThreshold,
      recoveryThreshold: e.recoveryThreshold,
      paths: e.paths.map((p) => ({
        path: p.path,
        role: p.role,
        verdict: p.verdict,
        degraded: p.degraded,
        votes: p.votes.map((v) => ({
          vantage: v.vantage,
          vote: v.vote,
          ...(v.reason ? { reason: v.reason } : {}),
          checks: v.checks.map((c) => ({ ...c, lastAt: iso(c.lastAt) })),
        })),
      })),
      ...(e.damping ? { damping: { ...e.damping } } : {}),
      ...(e.holdDown
        ? {
            holdDown: {
              primaryUpSince: isoOrNull(e.holdDown.primaryUpSince),
              ...(e.holdDown.countedFrom !== undefined ? { countedFrom: isoOrNull(e.holdDown.countedFrom) } : {}),
              holdDownSeconds: e.holdDown.holdDownSeconds,
            },
          }
        : {}),
      ...(e.regions
        ? { regions: { ...e.regions, missing: e.regions.missing.map((m) => ({ ...m, lastAt: isoOrNull(m.lastAt) })) } }
        : {}),
    },
  };
}

export function incidentView(i: IncidentRecord): IncidentView {
  return {
    id: i.id,
    site: i.site,
    kind: i.kind,
    status: i.status,
    openedAt: iso(i.openedAt),
    resolvedAt: isoOrNull(i.resolvedAt),
    openedSeq: i.openedSeq,
    lastSeq: i.lastSeq,
    summary: i.summary,
    acknowledged: i.acknowledged,
  };
}

/** A window as the API shows it, with its status at `now`. */
export function windowView(w: AnyWindow, now: number): MaintenanceWindowView {
  const startMs = w.window.startMs;
  const endMs = w.window.endMs;
  const cancelled = w.source === 'api' && w.window.cancelledAt !== null;
  return {
    id: w.window.id,
    site: w.source === 'api' ? w.window.site : w.site,
    source: w.source,
    status: cancelled ? 'cancelled' : now < startMs ? 'scheduled' : now < endMs ? 'active' : 'ended',
    start: w.window.start,
    end: w.window.end,
    timezone: w.window.timezone,
    startAt: iso(startMs),
    endAt: iso(endMs),
    reason: w.window.reason,
    ticket: w.window.ticket ?? null,
    createdBy: w.source === 'api' ? w.window.createdBy : null,
    createdAt: w.source === 'api' ? iso(w.window.createdAt) : null,
  };
}

/** The answer to an operator command: the site as it is now and what the command changed. */
export function commandResult(
  site: SiteConfig,
  state: SiteState,
  transitions: readonly Transition[],
  windows: readonly AnyWindow[] = [],
): CommandResult {
  return { site: siteSummary(site, state, windows), transitions: transitions.map(transitionView) };
}

/** The mass-failover brake as `GET /v1/brake` shows it. */
export function brakeView(b: BrakeStatus): BrakeView {
  return {
    enabled: b.enabled,
    limit: b.limit,
    sites: b.sites,
    windowSeconds: b.windowSeconds,
    failedOver: b.failedOver,
    engaged: b.engagement !== null,
    engagement: b.engagement && brakeEngagementView(b.engagement),
    releaseAt: b.releaseAt === null ? null : iso(b.releaseAt),
    released: b.released,
    release: b.release && { ...b.release, at: iso(b.release.at), until: iso(b.release.until) },
  };
}

/** An engagement of the brake, with its times in ISO 8601. */
export function brakeEngagementView(e: BrakeEngagement): BrakeView['engagement'] & {} {
  return { id: e.id, since: iso(e.since), announcer: e.announcer };
}
