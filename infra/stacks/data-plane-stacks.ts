import { Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { dataPlaneLinksOf } from '../../shared/config/data-plane.ts';
import type { FailoverConfig, SiteConfig } from '../../shared/config/model.ts';
import { DnsFailover, dnsResourceCount } from '../constructs/dns-failover.ts';
import { LinkHealthAlarms } from '../constructs/link-health-alarms.ts';
import { regionAlertsTopicArn } from '../constructs/region-alerts.ts';

/**
 * Resources one data-plane stack may hold: CloudFormation allows 500 per stack, and CDK adds its metadata
 * resource; the rest is headroom.
 */
export const MAX_DATA_PLANE_RESOURCES = 450;

/**
 * The sites of each DNS stack: sites whole (a record and its health checks stay together, so no stack exports
 * anything), in configuration order, a new stack whenever the next site would pass `budget` resources. Throws when
 * one site alone needs more.
 */
export function dnsShards(
  config: Pick<FailoverConfig, 'sites' | 'regions'>,
  budget = MAX_DATA_PLANE_RESOURCES,
): SiteConfig[][] {
  const shards: SiteConfig[][] = [];
  let current: SiteConfig[] = [];
  let used = 0;
  for (const site of config.sites) {
    const n = dnsResourceCount(site, config.regions.probe.length);
    if (n === 0) continue;
    if (n > budget)
      throw new Error(
        `site ${site.id} needs ${n} Route 53 resources for its health-check-gated records, more than one stack holds (${budget}): split its records over more sites`,
      );
    if (used + n > budget) {
      shards.push(current);
      current = [];
      used = 0;
    }
    current.push(site);
    used += n;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** The data-plane links of each link alarm stack of a probe region (one alarm each), in configuration order. */
export function alarmShards(config: Pick<FailoverConfig, 'sites'>, budget = MAX_DATA_PLANE_RESOURCES) {
  const policies = new Map(config.sites.map((s) => [s.id, s.policy]));
  const links = dataPlaneLinksOf(config).map((l) => ({ ...l, policy: policies.get(l.site)! }));
  const shards: (typeof links)[] = [];
  for (let i = 0; i < links.length; i += budget) shards.push(links.slice(i, i + budget));
  return shards;
}

/** Props of a {@link LinkAlarmsStack}; `env.region` is the probe region. */
export interface LinkAlarmsStackProps extends StackProps {
  readonly links: ReturnType<typeof alarmShards>[number];
}

/** Part of one probe region's link alarms (LinkHealthAlarms), alerting on the region's own topic. */
export class LinkAlarmsStack extends Stack {
  public readonly alarms: LinkHealthAlarms;

  constructor(scope: Construct, id: string, props: LinkAlarmsStackProps) {
    const { links, ...stackProps } = props;
    super(scope, id, {
      description: "Failover data plane: this probe region's alarm per site link, read by Route 53",
      ...stackProps,
    });
    const region = Stack.of(this).region;
    const topic = sns.Topic.fromTopicArn(this, 'RegionAlerts', regionAlertsTopicArn(region));
    this.alarms = new LinkHealthAlarms(this, 'LinkAlarms', { links, topic });
  }
}

/** Props of a {@link DnsStack}. */
export interface DnsStackProps extends StackProps {
  readonly sites: readonly SiteConfig[];
  readonly probeRegions: readonly string[];
}

/**
 * Part of the Route 53 data plane: health checks and failover records of some sites (DnsFailover). Route 53 is
 * global; the stack's region only says where CloudFormation deploys it from.
 */
export class DnsStack extends Stack {
  public readonly dns: DnsFailover;

  constructor(scope: Construct, id: string, props: DnsStackProps) {
    const { sites, probeRegions, ...stackProps } = props;
    super(scope, id, {
      description: 'Failover data plane: Route 53 health checks per site link and failover records',
      ...stackProps,
    });
    this.dns = new DnsFailover(this, 'DnsFailover', { sites, probeRegions });
  }
}
