import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import {
  calculatedHealthThreshold,
  dataPlaneLinksOf,
  isDataPlaneSite,
  linkHealthAlarmName,
} from '../../shared/config/data-plane.ts';
import type { DnsRecordConfig, FailoverConfig, SiteConfig } from '../../shared/config/model.ts';
import { normalizeDnsName, stripDot } from '../../shared/domain/dns-values.ts';

type Strategy = DnsRecordConfig['strategy'];

/** The hosted zone ids that hold records of `strategy`, each once, in configuration order. */
export function hostedZoneIdsOf(config: FailoverConfig, strategy: Strategy): string[] {
  return [
    ...new Set(config.sites.flatMap((s) => s.dns.filter((r) => r.strategy === strategy).map((r) => r.hostedZoneId))),
  ];
}

/** `arn:<partition>:route53:::hostedzone/<id>` of each hosted zone id. */
export function hostedZoneArns(scope: Construct, hostedZoneIds: readonly string[]): string[] {
  return hostedZoneIds.map((id) =>
    Stack.of(scope).formatArn({
      service: 'route53',
      region: '',
      account: '',
      resource: 'hostedzone',
      resourceName: id,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
  );
}

/**
 * CloudFormation resources DnsFailover makes for `site` with `regions` probe regions: per data-plane link one
 * CLOUDWATCH_METRIC health check per region and one CALCULATED, per health-check-gated record two failover records.
 */
export function dnsResourceCount(site: SiteConfig, regions: number): number {
  const links = dataPlaneLinksOf({ sites: [site] }).length;
  const records = site.dns.filter((r) => r.strategy === 'health-check-gated').length;
  return links * (regions + 1) + records * 2;
}

/** Props of {@link DnsFailover}. */
export interface DnsFailoverProps {
  /** The sites whose health-check-gated records are made here (others are skipped). */
  readonly sites: readonly SiteConfig[];
  /** The probe regions: each has an alarm per data-plane link (LinkHealthAlarms), named by linkHealthAlarmName. */
  readonly probeRegions: readonly string[];
}

/** The health checks of one site link. */
export interface LinkHealthChecks {
  readonly site: string;
  readonly link: string;
  /** CLOUDWATCH_METRIC on the link's alarm in each probe region, keyed by region. */
  readonly regions: ReadonlyMap<string, route53.CfnHealthCheck>;
  /** CALCULATED over the regions' checks: unhealthy when a quorum of regions says down. */
  readonly calculated: route53.CfnHealthCheck;
}

/** What DnsFailover made for one health-check-gated record. */
export interface GatedRecord {
  readonly site: string;
  readonly name: string;
  readonly type: DnsRecordConfig['type'];
  readonly primary: route53.CfnRecordSet;
  readonly secondary: route53.CfnRecordSet;
}

/**
 * Route 53 data-plane failover for the health-check-gated records of `sites`, one health check set per site link
 * (not per record): for each data-plane link a CLOUDWATCH_METRIC health check per probe region on that region's
 * link alarm (healthy while the alarm has no data: a silent region abstains), and a CALCULATED health check over
 * them whose threshold is regions - quorum + 1, so it turns unhealthy exactly when a quorum of regions says down.
 * Each record becomes PRIMARY (primary link's values, the primary link's calculated check) and SECONDARY (first
 * backup's values, its calculated check when the backup is checked: Route 53 then answers the PRIMARY while both
 * are unhealthy, as the decider does not switch to a dead backup).
 */
export class DnsFailover extends Construct {
  /** One entry per data-plane link, in configuration order. */
  public readonly links: readonly LinkHealthChecks[];
  /** One entry per health-check-gated record, in configuration order. */
  public readonly records: readonly GatedRecord[];

  constructor(scope: Construct, id: string, props: DnsFailoverProps) {
    super(scope, id);
    const regions = props.probeRegions;
    const links: LinkHealthChecks[] = [];
    const records: GatedRecord[] = [];
    for (const site of props.sites.filter(isDataPlaneSite)) {
      const siteScope = new Construct(this, site.id);
      const threshold = calculatedHealthThreshold(regions.length, site.policy.quorum);
      const checks = new Map<string, LinkHealthChecks>();
      for (const { link } of dataPlaneLinksOf({ sites: [site] })) {
        const linkScope = new Construct(siteScope, `Link-${link}`);
        const perRegion = new Map<string, route53.CfnHealthCheck>();
        for (const region of regions) {
          const check = new route53.CfnHealthCheck(linkScope, `Region-${region}`, {
            healthCheckConfig: {
              type: 'CLOUDWATCH_METRIC',
              alarmIdentifier: { region, name: linkHealthAlarmName(site.id, link) },
              insufficientDataHealthStatus: 'Healthy',
            },
            healthCheckTags: [{ key: 'Name', value: `failover ${site.id} ${link} seen from ${region}` }],
          });
          perRegion.set(region, check);
        }
        const calculated = new route53.CfnHealthCheck(linkScope, 'Quorum', {
          healthCheckConfig: {
            type: 'CALCULATED',
            childHealthChecks: [...perRegion.values()].map((c) => c.attrHealthCheckId),
            healthThreshold: threshold,
          },
          healthCheckTags: [
            {
              key: 'Name',
              value: `failover ${site.id} ${link}: down when ${site.policy.quorum} of ${regions.length} regions say so`,
            },
          ],
        });
        const entry = { site: site.id, link, regions: perRegion, calculated };
        checks.set(link, entry);
        links.push(entry);
      }
      for (const record of site.dns.filter((r) => r.strategy === 'health-check-gated')) {
        records.push(this.#records(siteScope, site, record, checks));
      }
    }
    this.links = links;
    this.records = records;
  }

  #records(
    scope: Construct,
    site: SiteConfig,
    record: DnsRecordConfig,
    checks: ReadonlyMap<string, LinkHealthChecks>,
  ): GatedRecord {
    const backup = site.backups[0];
    const primaryValues = record.values[site.primary.id];
    const backupValues = backup && record.values[backup.id];
    if (!backup || !primaryValues || !backupValues) {
      throw new Error(
        `${record.name} ${record.type} of site ${site.id} needs values for its primary and first backup link`,
      );
    }
    const name = normalizeDnsName(record.name);
    const recordScope = new Construct(scope, `${name}-${record.type}`);
    const common = {
      hostedZoneId: record.hostedZoneId,
      name: `${stripDot(record.name)}.`,
      type: record.type,
      ttl: String(record.ttl),
    };
    const primary = new route53.CfnRecordSet(recordScope, 'Primary', {
      ...common,
      setIdentifier: `${site.id}-primary`,
      failover: 'PRIMARY',
      healthCheckId: checks.get(site.primary.id)!.calculated.attrHealthCheckId,
      resourceRecords: [...primaryValues],
    });
    const backupCheck = checks.get(backup.id);
    const secondary = new route53.CfnRecordSet(recordScope, 'Secondary', {
      ...common,
      setIdentifier: `${site.id}-secondary`,
      failover: 'SECONDARY',
      ...(backupCheck ? { healthCheckId: backupCheck.calculated.attrHealthCheckId } : {}),
      resourceRecords: [...backupValues],
    });
    return { site: site.id, name, type: record.type, primary, secondary };
  }
}
