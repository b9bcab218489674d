import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLE } from '../../shared/adapters/aws/table.ts';
import type { AlertTopics } from './alert-topics.ts';
import { deadLetterQueue } from './failed-invocations.ts';
import { FailoverFunction } from './failover-function.ts';
import type { IStateTable } from './state-table.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/**
 * The dispatch function's timeout. One action may take 5 tries of at most 10 s each plus about 3 s of backoff;
 * lanes run in parallel, so this leaves room for a lane of three slow actions.
 */
export const DISPATCHER_TIMEOUT = Duration.minutes(3);

/**
 * Which stream records start the dispatcher: new images of state items with actions pending. DynamoDB numbers
 * reach the filter as strings (`{"N": "2"}`), and Lambda's numeric operators do not match strings, so "above zero"
 * is written as "anything but the string 0" (the adapter writes a non-negative integer count).
 */
export const DISPATCH_FILTER = {
  dynamodb: {
    NewImage: {
      [TABLE.entityAttribute]: { S: ['state'] },
      pending: { N: [{ 'anything-but': ['0'] }] },
    },
  },
} as const;

/** Props of a {@link Dispatcher}. */
export interface DispatcherProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** Where sites' state lives; its stream (new images) starts the function. */
  readonly table: IStateTable;
  /** The alert topics; the function may publish to these two and no other. */
  readonly topics: AlertTopics;
  /**
   * Stream records per invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Retries of a failed batch (halved each time) before its description goes to the dead-letter queue.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Where Lambda describes the stream batches it gave up on (the stack shares one with other given-up invocations).
   * @default - a dead-letter queue of its own
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /** @default DISPATCHER_TIMEOUT */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
}

/**
 * The dispatch function, started by the state table's stream for state items with pending actions: it applies
 * them (record-swap DNS changes handed to the DNS writer, SNS alerts) and clears them from the outbox. The stream is
 * read one batch per shard at a time (parallelization factor 1), which keeps a site's changes in order; failed
 * batches are retried, halved, and finally described in an encrypted SQS dead-letter queue.
 */
export class Dispatcher extends Construct {
  /** The dispatch function. */
  public readonly function: FailoverFunction;
  /** Its event source mapping on the table's stream. */
  public readonly eventSource: DynamoEventSource;
  /** Where Lambda describes stream batches it gave up on (shard, sequence numbers; not the records). */
  public readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.dispatch,
      description: 'Applies the pending DNS changes and alerts of each site and clears them from its outbox',
      serviceName: 'failover-dispatch',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? DISPATCHER_TIMEOUT,
      environment: {
        STATE_TABLE_NAME: props.table.table.tableName,
        CRITICAL_TOPIC_ARN: props.topics.critical.topicArn,
        WARNING_TOPIC_ARN: props.topics.warning.topicArn,
      },
    });
    // dispatchSite reads the state, remembers sent alerts and commits failures: single-item gets and puts only.
    props.table.grantItems(this.function, ['dynamodb:GetItem', 'dynamodb:PutItem']);
    props.topics.grantPublish(this.function);
    // No Route 53 permission: record-swap changes go to the DNS writer's queue (DnsWriter.grantSend).

    this.deadLetterQueue = props.deadLetterQueue ?? this.#ownDeadLetterQueue();
    // Read through a TableV2 reference: its stream grant names the stream ARN for dynamodb:ListStreams too, where
    // Table's grants ListStreams on "*".
    const stream = dynamodb.TableV2.fromTableAttributes(this, 'StateStream', {
      tableArn: props.table.table.tableArn,
      tableStreamArn: props.table.table.tableStreamArn!,
    });
    this.eventSource = new DynamoEventSource(stream, {
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: props.batchSize ?? 10,
      retryAttempts: props.retryAttempts ?? 5,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: [lambda.FilterCriteria.filter(DISPATCH_FILTER)],
    });
    this.function.addEventSource(this.eventSource);
  }

  #ownDeadLetterQueue(): sqs.Queue {
    return deadLetterQueue(this, 'DeadLetterQueue', 'the on-failure destination of the stream');
  }
}
