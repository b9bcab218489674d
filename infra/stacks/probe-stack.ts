import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AlertContact } from '../constructs/alert-topics.ts';
import { ProbeRegion } from '../constructs/probe-region.ts';
import { RegionAlerts } from '../constructs/region-alerts.ts';

/** Props of a {@link ProbeStack}; `env.region` is the probe region. */
export interface ProbeStackProps extends StackProps {
  /** The sites.yaml text, inlined into the probe function. */
  readonly configYaml: string;
  /** The region of the control stack and its observations queue. */
  readonly controlRegion: string;
  /** The standby control region, whose observations queue gets every round too. @default - none */
  readonly standbyRegion?: string;
  /** The resolved `probing.roundBudgetMs`, which sizes the function's timeout. */
  readonly roundBudgetMs: number;
  /** Who the region's own alert topic alerts. */
  readonly contacts: readonly AlertContact[];
  /** Whether some record is health-check-gated: the function then puts link health to CloudWatch here. */
  readonly publishesLinkHealth: boolean;
}

/** One probe region's stack: its schedule and probe function, and its own alert topic. */
export class ProbeStack extends Stack {
  /** The probe function and its schedule. */
  public readonly probe: ProbeRegion;
  /** The region's own alert topic, the action of its alarms and of its link alarms (LinkAlarmsStack). */
  public readonly alerts: RegionAlerts;

  constructor(scope: Construct, id: string, props: ProbeStackProps) {
    const { configYaml, controlRegion, standbyRegion, roundBudgetMs, contacts, publishesLinkHealth, ...stackProps } =
      props;
    super(scope, id, {
      description: 'Failover probe region: scheduled probe rounds and its own alerts',
      ...stackProps,
    });
    this.alerts = new RegionAlerts(this, 'Alerts', { contacts });
    this.probe = new ProbeRegion(this, 'Probe', {
      configYaml,
      controlRegion,
      ...(standbyRegion ? { standbyRegion } : {}),
      roundBudgetMs,
      alertTopic: this.alerts.topic,
      publishesLinkHealth,
    });
  }
}
