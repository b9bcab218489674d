import type { FailoverConfig, ResolvedPolicy, SiteConfig } from './model.ts';

/**
 * The data-plane DNS failover of `health-check-gated` records (docs/dns.md): every probe region publishes its own
 * per-round health of each gated site link, an alarm in that region turns it into "this region says down", Route 53
 * reads each region's alarm through a CLOUDWATCH_METRIC health check, and a CALCULATED health check per site link
 * says down when a quorum of regions does. Everything here is what the configuration implies for it, shared by the
 * probes that publish, the stacks that build the alarms and health checks, the cost model and the config checks.
 */

/** Namespace and name of the per-(site, link) health each probe region publishes in its own region. */
export const LINK_HEALTH_NAMESPACE = 'Failover';
export const LINK_HEALTH_METRIC = 'LinkHealth';

/** CloudWatch looks back at most one day: period × evaluation periods may not exceed it. */
export const MAX_ALARM_WINDOW_SECONDS = 86_400;

/** A site link whose health gates DNS: the primary (its PRIMARY records) or the first backup (its SECONDARY). */
export interface DataPlaneLink {
  readonly site: string;
  readonly link: string;
  readonly role: 'primary' | 'backup';
}

/** The dimensions of a site link's health metric. */
export function linkHealthDimensions(site: string, link: string): { readonly Site: string; readonly Link: string } {
  return { Site: site, Link: link };
}

/** The fixed name of a site link's alarm, the same in every probe region (Route 53 names it by region and name). */
export function linkHealthAlarmName(site: string, link: string): string {
  return `failover-link-${site}-${link}`;
}

/** The alarm of one site link in one probe region, in CloudWatch's own terms. */
export interface LinkHealthAlarmSpec {
  readonly periodSeconds: number;
  readonly statistic: 'Maximum';
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: 1;
  readonly comparisonOperator: 'LessThanThreshold';
  readonly treatMissingData: 'notBreaching';
}

/**
 * ALARM once the region saw the link down for `failureThreshold` rounds running. Route 53 reads standard-resolution
 * alarms only, so the period is the site's interval or one minute, whichever is longer: a period breaches when its
 * best round was down (Maximum < 1), and sub-minute intervals need ceil(threshold × interval / 60) such minutes.
 * Missing data is not breaching: a region that publishes nothing (impaired, skipped, gone) abstains.
 */
export function linkHealthAlarmSpec(policy: Pick<ResolvedPolicy, 'intervalSeconds' | 'failureThreshold'>) {
  const periodSeconds = Math.max(60, policy.intervalSeconds);
  const periods = Math.ceil((policy.failureThreshold * policy.intervalSeconds) / periodSeconds);
  return {
    periodSeconds,
    statistic: 'Maximum',
    evaluationPeriods: periods,
    datapointsToAlarm: periods,
    threshold: 1,
    comparisonOperator: 'LessThanThreshold',
    treatMissingData: 'notBreaching',
  } as const satisfies LinkHealthAlarmSpec;
}

/**
 * The HealthThreshold of a site link's calculated health check over `regions` region health checks: the link is
 * down when at least `quorum` regions say so, i.e. when at most regions - quorum are healthy, so it is healthy iff
 * healthy children >= regions - quorum + 1.
 */
export function calculatedHealthThreshold(regions: number, quorum: number): number {
  if (!Number.isInteger(regions) || regions < 1) throw new RangeError(`expected 1 or more regions, got ${regions}`);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > regions)
    throw new RangeError(`expected a quorum between 1 and ${regions}, got ${quorum}`);
  return regions - quorum + 1;
}

/** Whether the site has a record answered by the data plane. */
export function isDataPlaneSite(site: SiteConfig): boolean {
  return site.dns.some((r) => r.strategy === 'health-check-gated');
}

/** The checks whose outcomes make a link's health: the site's own checks of that link (no dependency checks). */
export function linkChecksOf(site: SiteConfig, link: string) {
  return site.checks.filter((c) => c.link === link && c.dependency === null);
}

/**
 * The site links the data plane needs, in configuration order: for each site with a health-check-gated record, its
 * primary link and, when it has checks, its first backup (a SECONDARY tied to its health gives BOTH_DOWN's "no
 * switch": Route 53 answers the PRIMARY when both are unhealthy).
 */
export function dataPlaneLinksOf(config: Pick<FailoverConfig, 'sites'>): DataPlaneLink[] {
  const out: DataPlaneLink[] = [];
  for (const site of config.sites) {
    if (!isDataPlaneSite(site)) continue;
    out.push({ site: site.id, link: site.primary.id, role: 'primary' });
    const backup = site.backups[0];
    if (backup && linkChecksOf(site, backup.id).length > 0)
      out.push({ site: site.id, link: backup.id, role: 'backup' });
  }
  return out;
}

/** A problem of a resolved configuration, located by its path in sites.yaml. */
export interface DataPlaneProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What keeps health-check-gated records of a resolved configuration from being built on the data plane. */
export function dataPlaneProblems(config: FailoverConfig): DataPlaneProblem[] {
  const problems: DataPlaneProblem[] = [];
  config.sites.forEach((site, i) => {
    const k = site.dns.findIndex((r) => r.strategy === 'health-check-gated');
    if (k < 0) return;
    const at = ['sites', i, 'dns', k, 'strategy'];
    if (linkChecksOf(site, site.primary.id).length === 0)
      problems.push({
        path: at,
        message: `health-check-gated needs a check of the primary link "${site.primary.id}": the probe regions' health of that link gates the record`,
      });
    const spec = linkHealthAlarmSpec(site.policy);
    const window = spec.periodSeconds * spec.evaluationPeriods;
    if (window > MAX_ALARM_WINDOW_SECONDS)
      problems.push({
        path: at,
        message: `health-check-gated: failureThreshold ${site.policy.failureThreshold} × intervalSeconds ${site.policy.intervalSeconds} needs an alarm over ${window} s; a CloudWatch alarm looks back at most ${MAX_ALARM_WINDOW_SECONDS} s`,
      });
  });
  return problems;
}
