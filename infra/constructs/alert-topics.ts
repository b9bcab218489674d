import { Annotations, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { FLEET_ALERT_EVENTS } from '../../shared/contracts/vocabulary.ts';

/** The severities that are published; `info` alerts are recorded only. */
export type PublishedSeverity = 'critical' | 'warning';

/** SNS allows at most 150 values across a subscription's filter policy. */
export const MAX_FILTER_VALUES = 150;

/** One person or mailbox to alert, as the configuration resolves it. */
export interface AlertContact {
  readonly name: string;
  readonly email?: string | undefined;
  /** E.164 number; subscribed to the critical topic only. */
  readonly sms?: string | undefined;
  readonly severities: readonly string[];
  /**
   * The sites whose alerts this contact gets, when a site names its contacts and leaves this one out.
   * @default - every site
   */
  readonly sites?: readonly string[];
}

/** The configuration's contacts with the sites each one serves (a site without a `contacts` list serves all). */
export function alertContactsOf(config: FailoverConfig): AlertContact[] {
  return config.contacts.map((contact) => {
    const sites = config.sites.filter((s) => s.contacts.some((c) => c.name === contact.name)).map((s) => s.id);
    return {
      name: contact.name,
      email: contact.email,
      sms: contact.sms,
      severities: contact.severities,
      ...(sites.length < config.sites.length ? { sites } : {}),
    };
  });
}

/** Props of {@link AlertTopics}. */
export interface AlertTopicsProps {
  /** Who is subscribed: email to the topic of each severity they want, SMS to the critical topic. */
  readonly contacts: readonly AlertContact[];
}

interface Endpoint {
  readonly topic: PublishedSeverity;
  readonly protocol: sns.SubscriptionProtocol;
  readonly endpoint: string;
  /** undefined: every site. */
  sites: Set<string> | undefined;
}

/**
 * The critical (SMS and email) and warning (email) alert topics: standard topics (email endpoints cannot subscribe
 * to FIFO topics), encrypted with one customer-managed KMS key with rotation, TLS enforced by the topic policies,
 * and no display name (SNS would put it before every SMS). Each contact endpoint is subscribed once per topic,
 * keyed by the address itself so that reordering or renaming contacts never re-subscribes anyone; a contact that
 * serves only some sites gets a filter policy on the `site` message attribute, which on the critical topic also
 * lets the fleet's alerts through (the mass-failover brake's, on the `event` attribute).
 */
export class AlertTopics extends Construct {
  /** Encrypts both topics; publishers need kms:GenerateDataKey* and kms:Decrypt on it (granted by grantPublish). */
  public readonly key: kms.Key;
  /** Failovers, every link down, actions given up: SMS and email. */
  public readonly critical: sns.Topic;
  /** Degraded links, flapping, DNS drift, provider outages: email. */
  public readonly warning: sns.Topic;
  /** The subscriptions made, by topic. */
  public readonly subscriptions: Readonly<Record<PublishedSeverity, readonly sns.Subscription[]>>;

  constructor(scope: Construct, id: string, props: AlertTopicsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the failover alert topics',
      enableKeyRotation: true,
    });
    this.critical = new sns.Topic(this, 'Critical', { masterKey: this.key, enforceSSL: true });
    this.warning = new sns.Topic(this, 'Warning', { masterKey: this.key, enforceSSL: true });

    const subscriptions: Record<PublishedSeverity, sns.Subscription[]> = { critical: [], warning: [] };
    for (const e of endpointsOf(props.contacts)) {
      const filterPolicy = e.sites && this.#filterPolicy(e);
      const kind = e.protocol === sns.SubscriptionProtocol.SMS ? 'Sms' : 'Email';
      const subscription = new sns.Subscription(this, `${e.topic}-${kind}-${e.endpoint.replaceAll('/', '_')}`, {
        topic: this.topicOf(e.topic),
        protocol: e.protocol,
        endpoint: e.endpoint,
      });
      // Written on the CloudFormation resource: CDK's typed filterPolicy has no top-level `$or`.
      if (filterPolicy) (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = filterPolicy;
      subscriptions[e.topic].push(subscription);
    }
    this.subscriptions = subscriptions;
  }

  /** The topic alerts of `severity` go to. */
  topicOf(severity: PublishedSeverity): sns.Topic {
    return severity === 'critical' ? this.critical : this.warning;
  }

  /** ARNs by severity, as the SnsNotifier takes them. */
  get topicArns(): { readonly critical: string; readonly warning: string } {
    return { critical: this.critical.topicArn, warning: this.warning.topicArn };
  }

  /**
   * Lets `grantee` publish to the topics of `severities` (default both), with kms:Decrypt and kms:GenerateDataKey* on
   * their key only (what SNS documents for publishers to an encrypted topic), and acknowledges that action wildcard
   * on its principal.
   */
  grantPublish(grantee: iam.IGrantable, severities: readonly PublishedSeverity[] = ['critical', 'warning']): void {
    for (const severity of severities) this.topicOf(severity).grantPublish(grantee);
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'SNS documents kms:GenerateDataKey* (with kms:Decrypt) for publishers to a KMS-encrypted topic; it spans only the GenerateDataKey variants, on the alert topics key alone.',
      });
    }
  }

  /**
   * A contact that serves some sites: the alerts of those sites (`site` attribute), and on the critical topic the
   * fleet's alerts too (`event` one of FLEET_ALERT_EVENTS, whatever site carries them), as one `$or` policy. SNS counts
   * the values of both branches against its limit of 150; past it, the contact gets every alert.
   */
  #filterPolicy(e: Endpoint): Record<string, unknown> | undefined {
    const sites = [...(e.sites ?? [])].sort();
    const fleet = e.topic === 'critical' ? FLEET_ALERT_EVENTS : [];
    if (sites.length + fleet.length > MAX_FILTER_VALUES) {
      Annotations.of(this).addWarningV2(
        'failover:alert-filter-too-large',
        `${e.endpoint} serves ${sites.length} sites, more than an SNS filter policy can list (${MAX_FILTER_VALUES - fleet.length} with the fleet's events): it gets the alerts of every site`,
      );
      return undefined;
    }
    return fleet.length === 0 ? { site: sites } : { $or: [{ site: sites }, { event: [...fleet] }] };
  }
}

/**
 * One endpoint per (topic, protocol, address); several contacts with the same address share it. A contact that no
 * site names (every site lists its contacts, and none lists this one) is not subscribed.
 */
function endpointsOf(contacts: readonly AlertContact[]): Endpoint[] {
  const endpoints = new Map<string, Endpoint>();
  const add = (topic: PublishedSeverity, protocol: sns.SubscriptionProtocol, endpoint: string, c: AlertContact) => {
    const key = `${topic}|${protocol}|${endpoint.toLowerCase()}`;
    const existing = endpoints.get(key);
    if (!existing) {
      endpoints.set(key, { topic, protocol, endpoint, sites: c.sites ? new Set(c.sites) : undefined });
    } else if (existing.sites) {
      if (!c.sites) existing.sites = undefined;
      else for (const s of c.sites) existing.sites.add(s);
    }
  };
  for (const c of contacts) {
    if (c.sites?.length === 0) continue;
    for (const topic of ['critical', 'warning'] as const) {
      if (c.email && c.severities.includes(topic)) add(topic, sns.SubscriptionProtocol.EMAIL, c.email, c);
    }
    if (c.sms && c.severities.includes('critical')) add('critical', sns.SubscriptionProtocol.SMS, c.sms, c);
  }
  return [...endpoints.values()];
}
