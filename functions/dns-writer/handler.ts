import { Route53Client } from '@aws-sdk/client-route-53';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbRateBudget } from '../../shared/adapters/aws/dynamodb-rate-budget.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { Route53ZoneWriter } from '../../shared/adapters/aws/route53-zone-writer.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { WriteDnsChangesDeps } from '../../shared/usecases/write-dns-changes.ts';
import { bundledConfig, metrics, logger, requiredEnv } from '../shared/runtime.ts';
import { returnSoon } from '../decide/return-soon.ts';
import { DNS_CHANGE_QUEUE_ENV } from '../dispatch/env.ts';
import { dnsWriteReporter, writeDnsRecords } from './dns-writer-records.ts';
import { sqsClient } from '../../shared/adapters/aws/sqs-client.ts';

/** Time the writer keeps for itself at the end of an invocation: past it, unwritten changes go back to the queue. */
export const DNS_WRITER_RESERVE_MS = 10_000;

// One try per call (the writer retries within the shared budget) and a bound on each.
const ONE_BOUNDED_TRY = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
};

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const config = bundledConfig();
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
const queueUrl = requiredEnv(DNS_CHANGE_QUEUE_ENV);
const sqs = sqsClient();
const deps: WriteDnsChangesDeps = {
  config,
  store: new DynamoDbStateStore({ tableName, client }),
  budget: new DynamoDbRateBudget({ tableName, client }),
  writer: new Route53ZoneWriter({ client: new Route53Client({ region: 'us-east-1', ...ONE_BOUNDED_TRY }) }),
  clock: systemClock,
  log: dnsWriteReporter,
};

/**
 * Drains the DNS writer's FIFO queue (grouped by hosted zone): each batch of wanted states is coalesced, batched
 * and written within the account's Route 53 budget, retried until the invocation's reserve; what is left comes back.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler((event, context) =>
    writeDnsRecords(
      deps,
      event.Records,
      Date.now() + context.getRemainingTimeInMillis() - DNS_WRITER_RESERVE_MS,
      (records) => returnSoon(sqs, queueUrl, records),
    ),
  );
