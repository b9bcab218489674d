import type { BrakeConfig } from '../config/model.ts';
import { regionOfVantage } from '../contracts/ids.ts';
import type { PathEvidence, VantageHealth } from './model.ts';

export type { BrakeConfig };

// The mass-failover brake (in the spirit of Route 53 ARC's safety rules): when more than a share of the fleet fails
// over automatically within one window, suspect the probes and hold further automatic failovers, unless the control
// checks of a quorum of the voting regions rule the probes out. Pure: the fleet item's logic, not its storage.

/** How many sites may fail over automatically within one window: the share of the fleet, never under `minSites`. */
export function brakeLimit(config: BrakeConfig, sites: number): number {
  return Math.max(config.minSites, Math.floor(config.maxShare * sites + 1e-9));
}

/** One engagement of the brake: from the first failover it held until its window emptied. */
export interface BrakeEngagement {
  /** `brake-<since, ISO 8601>`: the key of its one alert. */
  readonly id: string;
  readonly since: number;
  /** The site whose decision announces it (carries its one alert). */
  readonly announcer: string;
}

/** An operator's release of an engagement: every automatic failover goes ahead until `until`. */
export interface BrakeRelease {
  /** The engagement released. */
  readonly engagement: string;
  readonly by: string;
  readonly reason: string;
  readonly at: number;
  /** One window after `at`: until then the brake admits every automatic failover and cannot engage. */
  readonly until: number;
}

/**
 * The fleet item: the sites that failed over automatically in the window (site -> latest time), the engagement, and
 * the latest operator's release (kept as the record of who released what, also once it has run out).
 */
export interface FleetBrake {
  readonly v: 1;
  readonly entries: Readonly<Record<string, number>>;
  readonly engagement: BrakeEngagement | null;
  readonly release?: BrakeRelease | null;
  readonly updatedAt: number;
}

export const EMPTY_FLEET_BRAKE: FleetBrake = { v: 1, entries: {}, engagement: null, release: null, updatedAt: 0 };

/** What a decider asks: may `site` fail over automatically now? */
export interface AdmissionRequest {
  readonly site: string;
  readonly now: number;
  /** The control checks of a quorum of the voting regions rule the probes out (see {@link probeEvidence}). */
  readonly probesRuledOut: boolean;
}

/** Why a failover may go ahead. */
export type AdmittedBy = 'in-window' | 'slot' | 'evidence' | 'released' | 'disabled';

/** The brake's answer, and the fleet item to write when `changed`. */
export type Admission =
  | { readonly admitted: true; readonly by: AdmittedBy; readonly fleet: FleetBrake; readonly changed: boolean }
  | {
      readonly admitted: false;
      readonly fleet: FleetBrake;
      readonly changed: boolean;
      readonly hold: BrakeHold;
    };

/** What a held failover's decision is told: enough to explain it and to announce the engagement once. */
export interface BrakeHold {
  readonly engagement: BrakeEngagement;
  /** This site's decision carries the engagement's one alert. */
  readonly announce: boolean;
  /** Sites that failed over automatically in the window. */
  readonly failedOver: number;
  readonly limit: number;
  readonly sites: number;
  readonly windowSeconds: number;
  /** When the window empties if nothing else fails over: the brake releases then. */
  readonly releaseAt: number;
}

/** The entries still inside the window at `now`. */
function live(fleet: FleetBrake, windowMs: number, now: number): [string, number][] {
  return Object.entries(fleet.entries).filter(([, at]) => at > now - windowMs);
}

/**
 * Decides one automatic failover against the fleet item. A site already in the window is admitted again without a
 * second slot (a retry after a crash between taking the slot and committing the site, or a second failover of a
 * flapping site). Otherwise it takes a slot while the window holds fewer than the limit and the brake is not
 * engaged; with the probes ruled out it is admitted anyway. Else it is held, and the first held site engages the
 * brake and announces it. The engagement lasts until the window empties or an operator releases it
 * ({@link releaseBrake}): then, for one window from the release, every automatic failover goes ahead (`released`,
 * counted in the window) and the brake cannot engage. At most `limit` entries are kept (the newest), which is all
 * the rule reads.
 */
export function admit(
  current: FleetBrake | null,
  request: AdmissionRequest,
  config: BrakeConfig,
  sites: number,
): Admission {
  const fleet = current ?? EMPTY_FLEET_BRAKE;
  const windowMs = config.windowSeconds * 1000;
  const limit = brakeLimit(config, sites);
  if (!config.enabled) return { admitted: true, by: 'disabled', fleet, changed: false };
  const inWindow = live(fleet, windowMs, request.now);
  const engagement = inWindow.length === 0 ? null : fleet.engagement;
  const release = fleet.release ?? null;
  const write = (entries: [string, number][], next: BrakeEngagement | null): FleetBrake => {
    const kept = entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
    return { v: 1, entries: Object.fromEntries(kept), engagement: next, release, updatedAt: request.now };
  };
  const take = (by: AdmittedBy): Admission => {
    const others = inWindow.filter(([site]) => site !== request.site);
    return { admitted: true, by, fleet: write([...others, [request.site, request.now]], engagement), changed: true };
  };
  if (inWindow.some(([site]) => site === request.site)) return take('in-window');
  if (engagement === null && inWindow.length < limit) return take('slot');
  if (engagement === null && release !== null && request.now < release.until) return take('released');
  if (request.probesRuledOut) return take('evidence');
  const next = engagement ?? {
    id: `brake-${new Date(request.now).toISOString()}`,
    since: request.now,
    announcer: request.site,
  };
  const newest = Math.max(...inWindow.map(([, at]) => at));
  return {
    admitted: false,
    fleet: engagement === null ? write(inWindow, next) : fleet,
    changed: engagement === null || fleet.engagement !== engagement,
    hold: {
      engagement: next,
      announce: next.announcer === request.site,
      failedOver: inWindow.length,
      limit,
      sites,
      windowSeconds: config.windowSeconds,
      releaseAt: newest + windowMs,
    },
  };
}

/** The brake as an operator sees it at `now`: what the rule would read, without writing anything. */
export interface BrakeStatus {
  readonly enabled: boolean;
  readonly limit: number;
  readonly sites: number;
  readonly windowSeconds: number;
  /** Sites that failed over automatically within the window (at most `limit` are kept, so at most `limit`). */
  readonly failedOver: number;
  /** The engagement in force, or null: none, its window emptied, or released. */
  readonly engagement: BrakeEngagement | null;
  /** When an engagement in force releases by itself if nothing else fails over; null when not engaged. */
  readonly releaseAt: number | null;
  /** The latest operator's release, in force or not (the record of who released what). */
  readonly release: BrakeRelease | null;
  /** A release in force: every automatic failover goes ahead until `release.until`. */
  readonly released: boolean;
}

/** The brake's status at `now` (see {@link BrakeStatus}). */
export function brakeStatus(current: FleetBrake | null, config: BrakeConfig, sites: number, now: number): BrakeStatus {
  const fleet = current ?? EMPTY_FLEET_BRAKE;
  const windowMs = config.windowSeconds * 1000;
  const inWindow = live(fleet, windowMs, now);
  const engagement = config.enabled && inWindow.length > 0 ? fleet.engagement : null;
  const release = fleet.release ?? null;
  return {
    enabled: config.enabled,
    limit: brakeLimit(config, sites),
    sites,
    windowSeconds: config.windowSeconds,
    failedOver: inWindow.length,
    engagement,
    releaseAt: engagement === null ? null : Math.max(...inWindow.map(([, at]) => at)) + windowMs,
    release,
    released: config.enabled && release !== null && now < release.until,
  };
}

/** An operator asks to release the brake. */
export interface ReleaseRequest {
  readonly by: string;
  readonly reason: string;
  readonly now: number;
}

/** The release's answer: the fleet item to write, or why there is nothing to release (nothing changes then). */
export type ReleaseOutcome =
  | {
      readonly released: true;
      readonly fleet: FleetBrake;
      readonly engagement: BrakeEngagement;
      readonly release: BrakeRelease;
      /** The sites in the window at the release: they stay counted. */
      readonly failedOver: number;
    }
  | { readonly released: false; readonly why: 'disabled' | 'not-engaged'; readonly status: BrakeStatus };

/**
 * Releases the engagement in force: it ends now, and for one window from now every automatic failover goes ahead
 * (the held sites still down fail over on their next decision) and is counted in the window as any other; the brake
 * cannot engage again before `until`, and after it the rule reads the window as usual. The entries stay. Nothing to
 * release (the brake disabled, not engaged, its window emptied, or released already) is an answer, not a change.
 */
export function releaseBrake(
  current: FleetBrake | null,
  request: ReleaseRequest,
  config: BrakeConfig,
  sites: number,
): ReleaseOutcome {
  const status = brakeStatus(current, config, sites, request.now);
  if (!status.enabled) return { released: false, why: 'disabled', status };
  if (status.engagement === null) return { released: false, why: 'not-engaged', status };
  const fleet = current ?? EMPTY_FLEET_BRAKE;
  const release: BrakeRelease = {
    engagement: status.engagement.id,
    by: request.by,
    reason: request.reason,
    at: request.now,
    until: request.now + config.windowSeconds * 1000,
  };
  return {
    released: true,
    fleet: { ...fleet, engagement: null, release, updatedAt: request.now },
    engagement: status.engagement,
    release,
    failedOver: status.failedOver,
  };
}

/** Whether a region's last round rules its probes out: it ran control checks, and every one of them answered. */
export function controlClean(vantage: VantageHealth | undefined): boolean {
  return vantage !== undefined && !vantage.impaired && vantage.control === 'clean';
}

/** What the control checks say of the regions whose votes fail a link over. */
export interface ProbeEvidence {
  /** The probe regions that voted the link down. */
  readonly voted: readonly string[];
  /** Those of them whose last round's control checks all answered. */
  readonly clean: readonly string[];
  readonly quorum: number;
  /** At least `quorum` of the voting regions are clean: the probes are not what failed. */
  readonly ruledOut: boolean;
}

/**
 * The evidence about the probes behind a failover: of the regions that voted the failed link down (`path`'s votes),
 * how many had every control check answer in the round they voted with (their last, which is what a vote rests on).
 * The probes are ruled out when that is at least the site's quorum. A region without control checks is no evidence.
 */
export function probeEvidence(
  path: PathEvidence | undefined,
  vantages: Readonly<Record<string, VantageHealth>>,
  quorum: number,
): ProbeEvidence {
  const voted = (path?.votes ?? [])
    .filter((v) => v.vote === 'down' && regionOfVantage(v.vantage) !== null)
    .map((v) => v.vantage);
  const clean = voted.filter((v) => controlClean(vantages[v]));
  const name = (v: string) => regionOfVantage(v)!;
  return { voted: voted.map(name), clean: clean.map(name), quorum, ruledOut: clean.length >= quorum };
}

/** A round's control summary as the vantage keeps it: `clean` when every check answered, absent without checks. */
export function controlOf(
  control: { readonly passed: number; readonly total: number } | null,
): VantageHealth['control'] {
  if (control === null || control.total === 0) return undefined;
  return control.passed === control.total ? 'clean' : 'partial';
}
