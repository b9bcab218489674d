import { ArnFormat, Duration, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import {
  PRIMARY_ACTIVE_ALARM,
  PRIMARY_ACTIVE_NAMESPACE,
  primaryActiveMetric,
} from '../../shared/adapters/aws/metric-dns-router.ts';
import type { DnsRecordConfig, FailoverConfig, SiteConfig } from '../../shared/config/model.ts';
import { normalizeDnsName, stripDot } from '../../shared/domain/dns-values.ts';

type Strategy = DnsRecordConfig['strategy'];

/** The hosted zone ids that hold records of `strategy`, each once, in configuration order. */
export function hostedZoneIdsOf(config: FailoverConfig, strategy: Strategy): string[] {
  return [
    ...new Set(config.sites.flatMap((s) => s.dns.filter((r) => r.strategy === strategy).map((r) => r.hostedZoneId))),
  ];
}

/** Whether any record of the configuration is health-check-gated (someone must then publish PrimaryActive). */
export function hasGatedRecords(config: FailoverConfig): boolean {
  return config.sites.some((s) => s.dns.some((r) => r.strategy === 'health-check-gated'));
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
 * Lets `fn` publish metrics to the Failover namespace only (what MetricDnsRouter does), in a policy of its own
 * under `scope`: PutMetricData has no resource-level permissions, so its `Resource: *` carries its own cdk-nag
 * acknowledgement rather than sharing the X-Ray one of the function's role.
 */
export function grantPrimaryActiveMetric(scope: Construct, fn: lambda.IFunction): iam.Policy {
  const policy = new iam.Policy(scope, 'PutPrimaryActivePolicy', {
    roles: fn.role ? [fn.role] : [],
    statements: [
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': PRIMARY_ACTIVE_NAMESPACE } },
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: `cloudwatch:PutMetricData accepts no resource but *; the cloudwatch:namespace condition limits it to the ${PRIMARY_ACTIVE_NAMESPACE} namespace of the PrimaryActive metric.`,
  });
  fn.node.addDependency(policy);
  return policy;
}

/** Props of {@link DnsFailover}. */
export interface DnsFailoverProps {
  /** The configured sites; only their `health-check-gated` records are made here. */
  readonly sites: readonly SiteConfig[];
}

/** What DnsFailover made for one health-check-gated record. */
export interface GatedRecord {
  readonly site: string;
  readonly name: string;
  readonly type: DnsRecordConfig['type'];
  /** In ALARM while the site's traffic belongs on the backup. */
  readonly alarm: cloudwatch.Alarm;
  /** CLOUDWATCH_METRIC on the alarm; the primary record answers while it is healthy. */
  readonly healthCheck: route53.HealthCheck;
  readonly primary: route53.CfnRecordSet;
  readonly secondary: route53.CfnRecordSet;
}

/**
 * Route 53 data-plane failover for every `health-check-gated` record: a CloudWatch alarm on the record's
 * PrimaryActive metric (built from the same `primaryActiveMetric` and `PRIMARY_ACTIVE_ALARM` the dispatcher's
 * MetricDnsRouter publishes by), a health check of type CLOUDWATCH_METRIC on that alarm (last known status while
 * data is missing), and two failover records in the configured hosted zone: PRIMARY with the primary link's values
 * and the health check, SECONDARY with the first backup's values. `record-swap` records are not made here: they
 * exist in the zone already, and the dispatcher UPSERTs them.
 */
export class DnsFailover extends Construct {
  /** One entry per health-check-gated record, in configuration order. */
  public readonly records: readonly GatedRecord[];

  constructor(scope: Construct, id: string, props: DnsFailoverProps) {
    super(scope, id);
    // An alarm reads metrics of its own region only: this stack must be where the dispatcher publishes PrimaryActive.
    // The health check may name an alarm in any region.
    const alarmRegion = Stack.of(this).region;
    const zones = new Map<string, route53.IHostedZone>();
    const zoneOf = (r: DnsRecordConfig) => {
      let zone = zones.get(r.hostedZoneId);
      if (!zone) {
        zone = route53.HostedZone.fromHostedZoneAttributes(this, `Zone-${r.hostedZoneId}`, {
          hostedZoneId: r.hostedZoneId,
          zoneName: r.zone,
        });
        zones.set(r.hostedZoneId, zone);
      }
      return zone;
    };

    const records: GatedRecord[] = [];
    for (const site of props.sites) {
      for (const record of site.dns.filter((r) => r.strategy === 'health-check-gated')) {
        const backup = site.backups[0];
        const primaryValues = record.values[site.primary.id];
        const backupValues = backup && record.values[backup.id];
        if (!backup || !primaryValues || !backupValues) {
          throw new Error(
            `${record.name} ${record.type} of site ${site.id} needs values for its primary and first backup link`,
          );
        }
        const name = normalizeDnsName(record.name);
        const scope = new Construct(this, `${site.id}-${name}-${record.type}`);
        const metric = primaryActiveMetric(site.id, record);
        const alarm = new cloudwatch.Alarm(scope, 'Alarm', {
          alarmDescription: `Failover: ${name} ${record.type} of site ${site.id} answers the backup (${backup.id}) while in ALARM`,
          metric: new cloudwatch.Metric({
            ...metric,
            dimensionsMap: { ...metric.dimensionsMap },
            statistic: PRIMARY_ACTIVE_ALARM.statistic,
            period: Duration.seconds(PRIMARY_ACTIVE_ALARM.periodSeconds),
          }),
          evaluationPeriods: PRIMARY_ACTIVE_ALARM.evaluationPeriods,
          threshold: PRIMARY_ACTIVE_ALARM.threshold,
          comparisonOperator: PRIMARY_ACTIVE_ALARM.comparisonOperator as cloudwatch.ComparisonOperator,
          treatMissingData: PRIMARY_ACTIVE_ALARM.treatMissingData as cloudwatch.TreatMissingData,
        });
        const healthCheck = new route53.HealthCheck(scope, 'HealthCheck', {
          type: route53.HealthCheckType.CLOUDWATCH_METRIC,
          alarmIdentifier: { region: alarmRegion, name: alarm.alarmName },
          insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
        });
        Tags.of(healthCheck).add('Name', `failover ${site.id} ${name} ${record.type}`);
        const common = {
          hostedZoneId: zoneOf(record).hostedZoneId,
          name: `${stripDot(record.name)}.`,
          type: record.type,
          ttl: String(record.ttl),
        };
        const primary = new route53.CfnRecordSet(scope, 'Primary', {
          ...common,
          setIdentifier: `${site.id}-primary`,
          failover: 'PRIMARY',
          healthCheckId: healthCheck.healthCheckId,
          resourceRecords: [...primaryValues],
        });
        const secondary = new route53.CfnRecordSet(scope, 'Secondary', {
          ...common,
          setIdentifier: `${site.id}-secondary`,
          failover: 'SECONDARY',
          resourceRecords: [...backupValues],
        });
        records.push({ site: site.id, name, type: record.type, alarm, healthCheck, primary, secondary });
      }
    }
    this.records = records;
  }
}
