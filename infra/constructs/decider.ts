import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FailoverFunction } from './failover-function.ts';
import type { IStateTable } from './state-table.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** The decide function's timeout: a batch is ten messages, a few sites, a few single-item writes each. */
export const DECIDER_TIMEOUT = Duration.seconds(30);

/** What AWS asks of an SQS event source: the queue's visibility timeout at least six times the function's timeout. */
export const visibilityTimeoutFor = (functionTimeout: Duration): Duration =>
  Duration.seconds(6 * functionTimeout.toSeconds());

/** Props of a {@link Decider}. */
export interface DeciderProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** Where sites' state and history live. */
  readonly table: IStateTable;
  /** The FIFO queue of observation batches; its visibility timeout must be at least six times `timeout`. */
  readonly queue: sqs.IQueue;
  /**
   * Messages per invocation (SQS FIFO allows at most 10).
   * @default 10
   */
  readonly batchSize?: number;
  /** @default DECIDER_TIMEOUT */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * X-Ray tracing of the decide function. Off by default: it runs for every round of every region, Lambda traces
   * nearly all such invocations, and the traces would cost more than its compute; DecisionLatency and the
   * `decided` log line have the timings.
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;
}

/**
 * The decide function: consumes the observations FIFO queue (partial batch responses on, so that only a failed
 * site's messages return) and keeps each site's state in the table. It may get and put items of the table and
 * nothing else there; the queue's consume permissions come with the event source.
 */
export class Decider extends Construct {
  /** The decide function. */
  public readonly function: FailoverFunction;
  /** Its event source mapping on the observations queue. */
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: DeciderProps) {
    super(scope, id);
    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.decide,
      description: 'Decides each site from the observations of the probe regions and records its state and transitions',
      serviceName: 'failover-decide',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? DECIDER_TIMEOUT,
      tracing: props.tracing ?? lambda.Tracing.DISABLED,
      // OBSERVATIONS_QUEUE_URL: transient failures shorten their messages' visibility (ChangeMessageVisibility, which
      // the event source's consume grant allows on this queue only).
      environment: { STATE_TABLE_NAME: props.table.table.tableName, OBSERVATIONS_QUEUE_URL: props.queue.queueUrl },
    });
    // decideSite reads (consistent GetItem) and conditionally puts single items, queries the site's API
    // maintenance windows (one partition) and adds to its history rows (UpdateItem ADD); it never scans or deletes.
    props.table.grantItems(this.function, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: props.batchSize ?? 10,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
  }
}
