import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DNS_CHANGE_QUEUE_ENV } from '../../functions/dispatch/env.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { iamNormalizedRecordName } from '../../shared/domain/dns-values.ts';
import { hostedZoneArns } from './dns-failover.ts';
import { FailoverFunction } from './failover-function.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';
import type { IStateTable } from './state-table.ts';

/** The writer's timeout: a batch is retried within it, then handed back to the queue with a short visibility. */
export const DNS_WRITER_TIMEOUT = Duration.seconds(60);

/** A wanted DNS state older than this (still in the queue) raises the writer's alarm. */
export const DNS_CHANGE_MAX_AGE = Duration.minutes(5);

/** The record-swap records of a configuration, by hosted zone: what the writer may change, and nothing else. */
export function recordSwapRecordsByZone(
  config: FailoverConfig,
): Map<string, { readonly names: string[]; readonly types: string[] }> {
  const zones = new Map<string, { names: Set<string>; types: Set<string> }>();
  for (const record of config.sites.flatMap((s) => s.dns)) {
    if (record.strategy !== 'record-swap') continue;
    const zone = zones.get(record.hostedZoneId) ?? { names: new Set(), types: new Set() };
    zone.names.add(iamNormalizedRecordName(record.name));
    zone.types.add(record.type);
    zones.set(record.hostedZoneId, zone);
  }
  return new Map(
    [...zones].map(([id, z]) => [id, { names: [...z.names].sort(), types: [...z.types].sort() }] as const),
  );
}

/**
 * The `route53:ChangeResourceRecordSets` statements of a principal that UPSERTs the configured record-swap records:
 * one per hosted zone, on that zone's ARN, allowed only when every change of the request is an UPSERT of one of
 * the zone's configured names and types (Route 53's record-set condition keys).
 */
export function recordSwapChangeStatements(scope: Construct, config: FailoverConfig): iam.PolicyStatement[] {
  return [...recordSwapRecordsByZone(config)].map(
    ([zone, { names, types }]) =>
      new iam.PolicyStatement({
        actions: ['route53:ChangeResourceRecordSets'],
        resources: hostedZoneArns(scope, [zone]),
        conditions: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
            'route53:ChangeResourceRecordSetsRecordTypes': types,
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      }),
  );
}

/** Props of a {@link DnsWriter}. */
export interface DnsWriterProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** The same configuration, validated: its record-swap records scope the function's Route 53 permission. */
  readonly config: FailoverConfig;
  /** Sites' state (action-failed of a refused change) and the shared Route 53 rate budget item. */
  readonly table: IStateTable;
  /** @default DNS_WRITER_TIMEOUT */
  readonly timeout?: Duration;
  /**
   * A wanted state waiting longer than this in the queue is alarmed (by Observability).
   * @default DNS_CHANGE_MAX_AGE
   */
  readonly maxChangeAge?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
}

/**
 * One DNS writer per hosted zone for record-swap records: an SQS FIFO queue of wanted states grouped by hosted zone
 * (SQS delivers one group to one consumer at a time, in order), and the function that drains it in batches within
 * the account's Route 53 budget (a token bucket item in the table, shared with the reconciler). No dead-letter
 * queue: a wanted state is retried until written or superseded, and Observability alarms when one waits longer
 * than `maxChangeAge`. Senders get `grantSend`.
 */
export class DnsWriter extends Construct {
  /** The wanted states, one message group per hosted zone. */
  public readonly queue: sqs.Queue;
  /** The writer function. */
  public readonly function: FailoverFunction;
  /** Its event source mapping on the queue. */
  public readonly eventSource: SqsEventSource;
  /** How long a wanted state may wait in the queue before it is alarmed. */
  public readonly maxChangeAge: Duration;

  constructor(scope: Construct, id: string, props: DnsWriterProps) {
    super(scope, id);
    const timeout = props.timeout ?? DNS_WRITER_TIMEOUT;
    this.maxChangeAge = props.maxChangeAge ?? DNS_CHANGE_MAX_AGE;
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for SQS event sources; failed batches come back sooner (returnSoon).
      visibilityTimeout: Duration.seconds(6 * timeout.toSeconds()),
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'A wanted DNS state is never given up for throttling: it is retried until written or superseded, and the age alarm (ApproximateAgeOfOldestMessage) tells operators when one waits too long. A dead-letter queue would drop it out of order.',
    });
    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES['dns-writer'],
      description: 'Writes the wanted states of record-swap records to Route 53 in batches, within the account budget',
      serviceName: 'failover-dns-writer',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 256,
      timeout,
      environment: {
        STATE_TABLE_NAME: props.table.table.tableName,
        [DNS_CHANGE_QUEUE_ENV]: this.queue.queueUrl,
      },
    });
    // The rate budget item, and a refused change's action-failed (commitEvent): single-item gets and puts only.
    props.table.grantItems(this.function, ['dynamodb:GetItem', 'dynamodb:PutItem']);
    for (const statement of recordSwapChangeStatements(this, props.config)) this.function.addToRolePolicy(statement);
    this.eventSource = new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true });
    this.function.addEventSource(this.eventSource);
  }

  /** Lets `grantee` (the dispatcher) hand wanted states to the writer, and tells it where. */
  grantSend(grantee: lambda.Function): void {
    this.queue.grantSendMessages(grantee);
    grantee.addEnvironment(DNS_CHANGE_QUEUE_ENV, this.queue.queueUrl);
  }
}
