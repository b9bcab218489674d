import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { DeliverDeps } from '../../shared/usecases/webhooks/deliver-webhook.ts';
import { secretsManagerSecretBox } from '../../shared/adapters/aws/secrets-manager-webhook-secrets.ts';
import { SqsDeliveryQueue } from '../../shared/adapters/aws/sqs-delivery-queue.ts';
import { logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { deliverRecords } from './deliver-records.ts';

// The worker needs no sites.yaml: subscriptions and deliveries carry everything it sends.
const deps: DeliverDeps = {
  store: new DynamoDbWebhookStore({ tableName: requiredEnv('STATE_TABLE_NAME') }),
  queue: new SqsDeliveryQueue({ queueUrl: requiredEnv('WEBHOOK_QUEUE_URL') }),
  // The ARN of the key ring secret is no secret; its value is read at the first attempt.
  secretBox: secretsManagerSecretBox({ secretId: requiredEnv('WEBHOOK_KEY_SECRET_ARN') }),
  clock: systemClock,
};

/**
 * The webhook delivery worker: one attempt per due ticket of an SQS batch, retries queued with their delay, and
 * the tickets to receive again in the partial batch response.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler((event) => deliverRecords(deps, event.Records));
