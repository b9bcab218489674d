import type { FailoverConfig } from '../../config/model.ts';
import { clipText, smsText, SUBJECT_MAX_CHARS } from '../../domain/alert-text.ts';
import {
  brakeStatus,
  releaseBrake,
  type BrakeEngagement,
  type BrakeRelease,
  type BrakeStatus,
} from '../../domain/brake.ts';
import type { AlertAction } from '../../domain/model.ts';
import { FailoverError } from '../../errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Notifier } from '../../ports/notifier.ts';
import { FleetBrakeConflictError, type StateStore } from '../../ports/state-store.ts';
import { FleetBrakeContentionError } from '../admit-failover.ts';
import { withRetry, type RetryPolicy } from '../dispatch.ts';

/** What the brake's operator use cases need. */
export interface BrakeDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly clock: Clock;
  /** Sends the release's one alert; without one the release is recorded and logged only. */
  readonly notifier?: Notifier;
  /** Where a release alert that could not be sent is reported (the release stands). @default console.error */
  readonly log?: (message: string, extra: Record<string, unknown>) => void;
  /** Attempts at the conditional write before giving up; default 50 (as admitFailover). */
  readonly maxAttempts?: number;
  /** The alert's retries; default the dispatcher's DEFAULT_RETRY. */
  readonly retry?: RetryPolicy;
}

/** There is nothing to release: the brake is disabled, or not engaged (never, its window emptied, or released). */
export class BrakeNotEngagedError extends FailoverError {
  constructor(
    readonly why: 'disabled' | 'not-engaged',
    readonly status: BrakeStatus,
  ) {
    super(
      why === 'disabled' ? 'BRAKE_DISABLED' : 'BRAKE_NOT_ENGAGED',
      why === 'disabled'
        ? 'the mass-failover brake is disabled (brake.enabled: false): there is nothing to release'
        : status.released && status.release
          ? `the mass-failover brake is not engaged: ${status.release.by} released ${status.release.engagement} at ${new Date(status.release.at).toISOString()}`
          : 'the mass-failover brake is not engaged: there is nothing to release',
    );
    this.name = 'BrakeNotEngagedError';
  }
}

/** What a release did. */
export interface BrakeReleased {
  readonly engagement: BrakeEngagement;
  readonly release: BrakeRelease;
  /** The brake after the release. */
  readonly status: BrakeStatus;
  /** The release's alert: sent (with the notifier's detail), or why not. */
  readonly alert: { readonly sent: boolean; readonly detail: string };
}

/** The brake's status now, from the fleet item (a strongly consistent read). */
export async function getBrakeStatus(deps: BrakeDeps): Promise<BrakeStatus> {
  const current = await deps.store.loadFleetBrake();
  return brakeStatus(current?.brake ?? null, deps.config.brake, deps.config.sites.length, deps.clock.now());
}

/**
 * Releases the engagement in force (`releaseBrake`): one conditional write of the fleet item on the version read, so
 * of two releases at once exactly one writes, and the other re-reads, finds nothing engaged and is refused
 * (BrakeNotEngagedError) as is a release when nothing is engaged; a decider's write in between makes it read and
 * decide again. The one that wrote sends the release's one critical alert (retried as the dispatcher retries); an
 * alert that still fails is logged and reported in the answer, and the release stands.
 */
export async function releaseBrakeNow(
  deps: BrakeDeps,
  request: { readonly by: string; readonly reason: string },
): Promise<BrakeReleased> {
  const maxAttempts = deps.maxAttempts ?? 50;
  const sites = deps.config.sites.length;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await deps.store.loadFleetBrake();
    const now = deps.clock.now();
    const out = releaseBrake(current?.brake ?? null, { ...request, now }, deps.config.brake, sites);
    if (!out.released) throw new BrakeNotEngagedError(out.why, out.status);
    try {
      await deps.store.saveFleetBrake(out.fleet, current?.version ?? null);
    } catch (error) {
      if (!(error instanceof FleetBrakeConflictError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
      continue;
    }
    const status = brakeStatus(out.fleet, deps.config.brake, sites, now);
    const alert = await sendReleaseAlert(deps, releaseAlert(out.engagement, out.release, out.failedOver, sites));
    return { engagement: out.engagement, release: out.release, status, alert };
  }
  throw new FleetBrakeContentionError(maxAttempts);
}

async function sendReleaseAlert(deps: BrakeDeps, alert: AlertAction): Promise<BrakeReleased['alert']> {
  if (!deps.notifier) return { sent: false, detail: 'no notifier configured: the release is recorded only' };
  const notifier = deps.notifier;
  try {
    const { value } = await withRetry(() => notifier.notify(alert), deps.retry ? { policy: deps.retry } : {});
    return { sent: true, detail: value.detail };
  } catch (error) {
    const detail = `the release alert was not sent: ${error instanceof Error ? error.message : String(error)}`;
    (deps.log ?? ((m, e) => console.error(m, e)))(detail, { dedupKey: alert.dedupKey });
    return { sent: false, detail };
  }
}

/**
 * The release's one alert, critical like the `[BRAKE]` alert it answers, a fleet event (`brake-released`) carried
 * with the announcing site's id as `site`, as the engagement's alert is; keyed by the engagement, so that it is one
 * alert per engagement on every channel.
 */
export function releaseAlert(
  engagement: BrakeEngagement,
  release: BrakeRelease,
  failedOver: number,
  sites: number,
): AlertAction {
  const iso = (ms: number) => new Date(ms).toISOString();
  const key = `${engagement.id}:released`;
  return {
    kind: 'alert',
    id: key,
    site: engagement.announcer,
    seq: 0,
    at: release.at,
    severity: 'critical',
    event: 'brake-released',
    dedupKey: key,
    incidentId: null,
    subject: clipText(`[BRAKE RELEASED] automatic failovers resume: released by ${release.by}`, SUBJECT_MAX_CHARS),
    short: smsText(
      `BRAKE RELEASED by ${release.by}: automatic failovers resume until ${iso(release.until).slice(11, 16)}Z (${iso(release.at).slice(11, 16)}Z)`,
    ),
    body: [
      `${release.by} released the mass-failover brake at ${iso(release.at)} (${engagement.id}, engaged since ${iso(engagement.since)}).`,
      '',
      `Reason: ${release.reason}`,
      '',
      `Every automatic failover goes ahead until ${iso(release.until)} (one window): the held sites still down fail over on their next decision.`,
      `They count in the window with the ${failedOver} of ${sites} sites that had failed over; after ${iso(release.until)} the brake holds again once more than the limit fail over within a window.`,
    ].join('\n'),
    suppressed: false,
  };
}
