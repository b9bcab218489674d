import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  LINK_HEALTH_METRIC,
  LINK_HEALTH_NAMESPACE,
  linkHealthAlarmName,
  linkHealthAlarmSpec,
  linkHealthDimensions,
  type DataPlaneLink,
} from '../../shared/config/data-plane.ts';
import type { SiteConfig } from '../../shared/config/model.ts';

/** Props of {@link LinkHealthAlarms}. */
export interface LinkHealthAlarmsProps {
  /** The data-plane links to alarm on (dataPlaneLinksOf), with the policy of their site. */
  readonly links: readonly (DataPlaneLink & { readonly policy: SiteConfig['policy'] })[];
  /**
   * Told when a link goes down or comes back as this region sees it: the probe region's own alert topic, so that
   * the alert needs nothing of the control region.
   */
  readonly topic: sns.ITopic;
}

/**
 * This probe region's word on each data-plane link, as Route 53 reads it: an alarm per link, fixed name
 * `failover-link-<site>-<link>`, on the `Failover/LinkHealth` metric this region's probe function publishes,
 * ALARM after the site's failure threshold in rounds (linkHealthAlarmSpec), missing data not breaching. State
 * changes both ways go to the region's alert topic.
 */
export class LinkHealthAlarms extends Construct {
  /** One alarm per link, in the order given. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: LinkHealthAlarmsProps) {
    super(scope, id);
    const action = new cloudwatchActions.SnsAction(props.topic);
    this.alarms = props.links.map(({ site, link, role, policy }) => {
      const spec = linkHealthAlarmSpec(policy);
      const alarm = new cloudwatch.Alarm(this, `${site}-${link}`, {
        alarmName: linkHealthAlarmName(site, link),
        alarmDescription:
          `Failover: this region sees the ${role} link ${link} of site ${site} down ` +
          `(${policy.failureThreshold} round(s) of ${policy.intervalSeconds} s). Route 53 counts this region's vote ` +
          `against the quorum (${policy.quorum}); the control region need not be up.`,
        metric: new cloudwatch.Metric({
          namespace: LINK_HEALTH_NAMESPACE,
          metricName: LINK_HEALTH_METRIC,
          dimensionsMap: { ...linkHealthDimensions(site, link) },
          statistic: spec.statistic,
          period: Duration.seconds(spec.periodSeconds),
        }),
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        threshold: spec.threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    });
  }
}
