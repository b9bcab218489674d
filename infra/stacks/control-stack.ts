import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ObservationsQueue } from '../constructs/observations-queue.ts';

/** Props of the {@link ControlStack}; `env.region` is the configuration's control region. */
export type ControlStackProps = StackProps;

/** The control region: for now the observations queue; the decider that consumes it comes with the decision work. */
export class ControlStack extends Stack {
  /** The queue every probe region sends its observations to. */
  public readonly observations: ObservationsQueue;

  constructor(scope: Construct, id: string, props: ControlStackProps) {
    super(scope, id, {
      description: 'Failover control plane: observations queue',
      ...props,
    });
    this.observations = new ObservationsQueue(this, 'Observations');
  }
}
