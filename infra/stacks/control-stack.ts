import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Decider, DECIDER_TIMEOUT, visibilityTimeoutFor } from '../constructs/decider.ts';
import { ObservationsQueue } from '../constructs/observations-queue.ts';
import { StateTable } from '../constructs/state-table.ts';

/** Props of the {@link ControlStack}; `env.region` is the configuration's control region. */
export interface ControlStackProps extends StackProps {
  /** The sites.yaml text, inlined into the decide function. */
  readonly configYaml: string;
}

/** The control region: the observations queue, the decider that consumes it and the table it keeps state in. */
export class ControlStack extends Stack {
  /** The queue every probe region sends its observations to. */
  public readonly observations: ObservationsQueue;
  /** Sites' state, transitions and incidents. */
  public readonly state: StateTable;
  /** The decide function and its event source on the observations queue. */
  public readonly decider: Decider;

  constructor(scope: Construct, id: string, props: ControlStackProps) {
    const { configYaml, ...stackProps } = props;
    super(scope, id, {
      description: 'Failover control plane: observations queue, decider, state table',
      ...stackProps,
    });
    this.observations = new ObservationsQueue(this, 'Observations', {
      visibilityTimeout: visibilityTimeoutFor(DECIDER_TIMEOUT),
    });
    this.state = new StateTable(this, 'State');
    this.decider = new Decider(this, 'Decider', {
      configYaml,
      table: this.state,
      queue: this.observations.queue,
      timeout: DECIDER_TIMEOUT,
    });
  }
}
