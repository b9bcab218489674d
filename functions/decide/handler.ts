import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { apiMaintenanceWindows } from '../../shared/ports/maintenance-store.ts';
import { decideRecords, type ReturnSoon } from './decide-records.ts';
import { returnSoon } from './return-soon.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { sqsClient } from '../../shared/adapters/aws/sqs-client.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
const deps = {
  config: bundledConfig(),
  store: new DynamoDbStateStore({ tableName, client }),
  clock: systemClock,
  // Windows made through the API (POST /v1/maintenance), besides those of sites.yaml.
  maintenance: apiMaintenanceWindows(new DynamoDbMaintenanceStore({ tableName, client }), systemClock),
  history: new DynamoDbHistoryStore({ tableName, client }),
  // The decision stands without it: the rounds are missing from the history, and the metric says how often.
  onHistoryError: (error: unknown, site: string) => {
    logger.error('history not recorded', { site, error });
    metrics.addMetric('HistoryWritesFailed', MetricUnit.Count, 1);
  },
  // A brake that cannot be asked never costs a failover: it goes ahead unbraked, and the line says why.
  onBrakeError: (error: unknown, site: string) =>
    logger.error('mass-failover brake not consulted; the failover goes ahead', { site, error }),
};

// The queue the event source reads (set by the Decider construct): messages of a transiently failed site are made
// visible again within seconds rather than after the queue's 180 s. Unset, they wait out the queue's timeout.
const queueUrl = process.env.OBSERVATIONS_QUEUE_URL;
const sqs = queueUrl ? sqsClient() : undefined;
const soon: ReturnSoon | undefined = queueUrl && sqs ? (records) => returnSoon(sqs, queueUrl, records) : undefined;

/**
 * Decides the sites of one SQS FIFO batch of observation batches and answers with the messages to deliver again
 * (ReportBatchItemFailures): those of sites whose decision failed. One site's failure never fails the invocation.
 */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler((event) => decideRecords(deps, event.Records, soon));
