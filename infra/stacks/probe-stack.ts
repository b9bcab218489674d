import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ProbeRegion } from '../constructs/probe-region.ts';

/** Props of a {@link ProbeStack}; `env.region` is the probe region. */
export interface ProbeStackProps extends StackProps {
  /** The sites.yaml text, inlined into the probe function. */
  readonly configYaml: string;
  /** The region of the control stack and its observations queue. */
  readonly controlRegion: string;
  /** The resolved `probing.roundBudgetMs`, which sizes the function's timeout. */
  readonly roundBudgetMs: number;
}

/** One probe region's stack: its schedule and probe function. */
export class ProbeStack extends Stack {
  /** The probe function and its schedule. */
  public readonly probe: ProbeRegion;

  constructor(scope: Construct, id: string, props: ProbeStackProps) {
    const { configYaml, controlRegion, roundBudgetMs, ...stackProps } = props;
    super(scope, id, { description: 'Failover probe region: scheduled probe rounds', ...stackProps });
    this.probe = new ProbeRegion(this, 'Probe', { configYaml, controlRegion, roundBudgetMs });
  }
}
