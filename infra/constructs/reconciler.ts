import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { hostedZoneArns } from './dns-failover.ts';
import { deadLetterQueue } from './failed-invocations.ts';
import { FailoverFunction } from './failover-function.ts';
import type { IStateTable } from './state-table.ts';
import { InvokeExactFunction } from './invoke-exact-function.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** The Scheduler's input: the context attribute is replaced by the time the invocation was scheduled for. */
export const RECONCILE_SCHEDULE_INPUT = { scheduledTime: scheduler.ContextAttribute.scheduledTime };

/** Props of a {@link Reconciler}. */
export interface ReconcilerProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** Where sites' state lives. */
  readonly table: IStateTable;
  /** Hosted zones of the `record-swap` records: the only zones the function may list. */
  readonly recordSwapZoneIds: readonly string[];
  /**
   * How often every record is compared with its site's state.
   * @default Duration.minutes(5)
   */
  readonly rate?: Duration;
  /**
   * Under the rate, so that sweeps never overlap; a sweep lists at most one page (300 records) a second and resumes
   * where the last stopped, so this bounds the records one sweep compares (about 60,000 with the default).
   * @default Duration.minutes(4)
   */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Where the Scheduler puts invocations it could not deliver (the stack shares one with other given-up invocations).
   * @default - a dead-letter queue of its own
   */
  readonly scheduleDeadLetterQueue?: sqs.IQueue;
}

/**
 * DNS reconciliation: a function run on a schedule (no flexible window, no retry: the next run comes soon) that
 * pages the record-swap zones (ListResourceRecordSets on the configured zones only, from a cursor kept in the
 * table, within the shared Route 53 budget), turns drift into a
 * `dns-drift` transition with a repair action for the dispatcher (health-check-gated records are Route 53's to
 * answer, by health, and are not swept). Invocations the Scheduler cannot deliver go to a dead-letter queue.
 */
export class Reconciler extends Construct {
  /** The reconcile function. */
  public readonly function: FailoverFunction;
  /** The schedule that invokes it. */
  public readonly schedule: scheduler.Schedule;
  /** Invocations the Scheduler could not deliver to the function. */
  public readonly scheduleDeadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const rate = props.rate ?? Duration.minutes(5);
    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.reconcile,
      description: 'Compares every managed DNS record with its site state and repairs drift through the outbox',
      serviceName: 'failover-reconcile',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(4),
      retryAttempts: 0,
      maxEventAge: rate,
      environment: { STATE_TABLE_NAME: props.table.table.tableName },
    });
    // reconcileDns reads states and commits drift (conditional puts, history puts); foldHistory queries a site's
    // history rows (one partition) and puts folded ones: gets, puts and queries only.
    props.table.grantItems(this.function, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    if (props.recordSwapZoneIds.length > 0) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['route53:ListResourceRecordSets'],
          resources: hostedZoneArns(this, props.recordSwapZoneIds),
        }),
      );
    }

    this.scheduleDeadLetterQueue = props.scheduleDeadLetterQueue ?? this.#ownDeadLetterQueue();
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Reconciles the managed DNS records with the sites state',
      schedule: scheduler.ScheduleExpression.rate(rate),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeExactFunction(this.function, {
        input: scheduler.ScheduleTargetInput.fromObject(RECONCILE_SCHEDULE_INPUT),
        retryAttempts: 0,
        maxEventAge: rate,
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
  }

  #ownDeadLetterQueue(): sqs.Queue {
    return deadLetterQueue(this, 'ScheduleDeadLetterQueue', 'of the Scheduler target');
  }
}
