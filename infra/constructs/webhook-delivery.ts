import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { InboundSourceConfig } from '../../shared/config/model.ts';
import { visibilityTimeoutFor } from './decider.ts';
import { FailoverFunction } from './failover-function.ts';
import type { StateTable } from './state-table.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/**
 * The worker's timeout: a batch of ten tickets is attempted concurrently, each answer bounded by 15 s, with a few
 * single-item reads and writes around each.
 */
export const WEBHOOK_WORKER_TIMEOUT = Duration.seconds(60);

/** Environment variables through which functions find the delivery queue and the key ring secret. */
export const WEBHOOK_ENV = {
  queueUrl: 'WEBHOOK_QUEUE_URL',
  keySecretArn: 'WEBHOOK_KEY_SECRET_ARN',
  tableName: 'STATE_TABLE_NAME',
} as const;

/** Props of a {@link WebhookDelivery}. */
export interface WebhookDeliveryProps {
  /** Where subscriptions and deliveries live (the failover table). */
  readonly table: StateTable;
  /**
   * Tickets per invocation, attempted concurrently.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Worker invocations at once: bounds the requests in flight to receivers.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Receives of one ticket before it moves to the dead-letter queue (a store outage that outlasts the retries).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** @default WEBHOOK_WORKER_TIMEOUT */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
}

/**
 * Outbound webhook delivery: an SQS queue of delivery tickets (one per scheduled attempt, delayed with DelaySeconds
 * up to 15 minutes and sent on again for longer waits), the worker that makes each attempt, a dead-letter queue for
 * tickets the worker kept failing on, and the Secrets Manager secret holding the key ring that seals subscriptions'
 * secrets at rest. Other functions get what they need through `grantPublish` (the dispatcher's fan-out) and
 * `grantManage` (the API's subscription routes).
 */
export class WebhookDelivery extends Construct {
  /** Delivery tickets. */
  public readonly queue: sqs.Queue;
  /** Tickets received `maxReceiveCount` times without success: their deliveries stopped; redeliver or redrive them. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The key ring of the SecretBox (shared/webhooks/secret-box.ts): generated key material, never shown. */
  public readonly keySecret: secretsmanager.Secret;
  /** The delivery worker. */
  public readonly worker: FailoverFunction;
  /** Its event source mapping on the queue. */
  public readonly eventSource: SqsEventSource;
  readonly #table: StateTable;

  constructor(scope: Construct, id: string, props: WebhookDeliveryProps) {
    super(scope, id);
    this.#table = props.table;
    const timeout = props.timeout ?? WEBHOOK_WORKER_TIMEOUT;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeoutFor(timeout),
      // A ticket waits at most 15 minutes before it is sent on: a day covers any outage of the worker.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    this.keySecret = new secretsmanager.Secret(this, 'KeyRing', {
      description: 'Key ring sealing webhook subscription secrets at rest (failover)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.keySecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The secret is key material, not a credential: rotating it means adding a key to the ring while keeping the old ones (values sealed before stay readable), an operator step in docs/webhooks.md.',
    });

    this.worker = new FailoverFunction(this, 'Worker', {
      entry: LAMBDA_ENTRIES['webhook-deliver'],
      description: 'Makes the due attempt of each webhook delivery ticket and queues the next one on failure',
      serviceName: 'failover-webhooks',
      memorySize: props.memorySize ?? 256,
      timeout,
      environment: {
        [WEBHOOK_ENV.tableName]: props.table.table.tableName,
        [WEBHOOK_ENV.queueUrl]: this.queue.queueUrl,
        [WEBHOOK_ENV.keySecretArn]: this.keySecret.secretArn,
      },
    });
    // deliverWebhook reads and conditionally puts deliveries, reads subscriptions and disables one on 410.
    props.table.grantItems(this.worker, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    this.queue.grantSendMessages(this.worker);
    this.keySecret.grantRead(this.worker);
    this.eventSource = new SqsEventSource(this.queue, {
      batchSize: props.batchSize ?? 10,
      maxConcurrency: props.maxConcurrency ?? 10,
      reportBatchItemFailures: true,
    });
    this.worker.addEventSource(this.eventSource);
  }

  /**
   * What the dispatcher's webhook handler (publishWebhookEvent) needs: list subscriptions (Query), create and read
   * deliveries (PutItem, GetItem), send tickets; and the queue's URL in its environment.
   */
  grantPublish(fn: FailoverFunction): void {
    this.#table.grantItems(fn, ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(WEBHOOK_ENV.queueUrl, this.queue.queueUrl);
  }

  /**
   * What the API's subscription routes need: subscriptions and deliveries read and written (the delivery log through
   * gsi1), the key ring to seal new secrets and open them for redeliveries; and the secret's ARN in its environment.
   */
  grantManage(fn: FailoverFunction): void {
    this.#table.grantItems(
      fn,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      { index: true },
    );
    this.keySecret.grantRead(fn);
    fn.addEnvironment(WEBHOOK_ENV.keySecretArn, this.keySecret.secretArn);
  }
}

/**
 * Lets `grantee` (the function behind POST /v1/hooks/{source}) read the Secrets Manager secrets that sites.yaml names
 * as inbound sources' signing secrets, and nothing else. A secret named without its full ARN is matched with the
 * six-character suffix Secrets Manager appends (`-??????`). Returns false when no source names one.
 */
export function grantInboundSecretReads(
  scope: Construct,
  grantee: iam.IGrantable,
  sources: readonly InboundSourceConfig[],
): boolean {
  const stack = Stack.of(scope);
  const resources = [
    ...new Set(
      sources.flatMap((s) => {
        if (!('secretsManager' in s.secret)) return [];
        const id = s.secret.secretsManager;
        if (/^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:.+-[A-Za-z0-9]{6}$/.test(id)) return [id];
        if (id.startsWith('arn:')) return [`${id}-??????`];
        return [
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${id}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ];
      }),
    ),
  ];
  if (resources.length === 0) return false;
  iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns: resources });
  return true;
}
