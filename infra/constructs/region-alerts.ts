import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { AlertContact } from './alert-topics.ts';

/** The fixed name of each probe region's own alert topic (the link alarm stacks name it by ARN). */
export const REGION_ALERTS_TOPIC_NAME = 'failover-probe-alerts';

/** ARN of the alert topic of `region`, in this account. */
export function regionAlertsTopicArn(region: string): string {
  return `arn:${Aws.PARTITION}:sns:${region}:${Aws.ACCOUNT_ID}:${REGION_ALERTS_TOPIC_NAME}`;
}

/** Props of {@link RegionAlerts}. */
export interface RegionAlertsProps {
  /** The contacts; those who get critical alerts are subscribed (email and SMS). */
  readonly contacts: readonly AlertContact[];
}

/**
 * A probe region's own alert topic, so that alerts do not die with the control region: the region's alarms
 * (a site link it sees down or back, its probes failing, its observations not reaching the control queue) have it
 * as their action. TLS is enforced. There is no customer-managed key: the topic carries alarm state changes only
 * (alarm names and descriptions: site and link ids), CloudWatch cannot publish under the AWS-managed SNS key, and a
 * key would cost $1 a month in every probe region. Every contact who
 * gets critical alerts is subscribed, without a site filter (an alarm's message carries no site attribute).
 */
export class RegionAlerts extends Construct {
  public readonly topic: sns.Topic;
  public readonly subscriptions: readonly sns.Subscription[];

  constructor(scope: Construct, id: string, props: RegionAlertsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { topicName: REGION_ALERTS_TOPIC_NAME, enforceSSL: true });
    // Alarm actions publish as the CloudWatch service, and enforceSSL made the topic policy explicit.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    const subscriptions: sns.Subscription[] = [];
    const seen = new Set<string>();
    const subscribe = (protocol: sns.SubscriptionProtocol, endpoint: string) => {
      const key = `${protocol}|${endpoint.toLowerCase()}`;
      if (seen.has(key)) return;
      seen.add(key);
      const kind = protocol === sns.SubscriptionProtocol.SMS ? 'Sms' : 'Email';
      subscriptions.push(
        new sns.Subscription(this, `${kind}-${endpoint.replaceAll('/', '_')}`, {
          topic: this.topic,
          protocol,
          endpoint,
        }),
      );
    };
    for (const c of props.contacts) {
      if (!c.severities.includes('critical') || c.sites?.length === 0) continue;
      if (c.email) subscribe(sns.SubscriptionProtocol.EMAIL, c.email);
      if (c.sms) subscribe(sns.SubscriptionProtocol.SMS, c.sms);
    }
    this.subscriptions = subscriptions;
  }
}
