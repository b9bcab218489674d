import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { DataPlaneDnsRouter } from '../../shared/adapters/aws/data-plane-dns-router.ts';
import { SqsDnsChangeQueue } from '../../shared/adapters/aws/sqs-dns-change-queue.ts';
import { SnsNotifier } from '../../shared/adapters/aws/sns-notifier.ts';
import { StrategyDnsRouter } from '../../shared/adapters/aws/strategy-dns-router.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { agentCommandHandler } from '../../shared/usecases/agent/issue-command.ts';
import type { DispatchDeps } from '../../shared/usecases/dispatch.ts';
import { webhookHandler } from '../../shared/usecases/webhooks/publish-webhook-event.ts';
import { SqsDeliveryQueue } from '../../shared/adapters/aws/sqs-delivery-queue.ts';
import { AGENT_ENV, cloudAgentDeps } from '../agent/runtime.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { dispatchRecords, dispatchReporter } from './dispatch-records.ts';
import { DynamoDbDispatchLease } from '../../shared/adapters/aws/dynamodb-dispatch-lease.ts';
import { DISPATCH_LEASE_MS, STANDBY_LEAVES } from '../../shared/usecases/dispatch-exclusively.ts';
import { DNS_CHANGE_QUEUE_ENV } from './env.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const config = bundledConfig();
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
// Set by the stack: the webhook delivery queue always, the agent channel when some site has an agent.
const webhookQueueUrl = process.env.WEBHOOK_QUEUE_URL;
const dnsQueueUrl = process.env[DNS_CHANGE_QUEUE_ENV];
const agentChannel = process.env[AGENT_ENV.callbackUrl] ? cloudAgentDeps(config) : undefined;
// Two control regions: both dispatchers read every write of the global table, and a site's lease lets one apply it;
// the standby has no agent channel or webhook queue and leaves those actions to the primary.
const region = process.env.AWS_REGION;
const exclusive = config.regions.standby
  ? {
      lease: new DynamoDbDispatchLease({ tableName, client }),
      holder: requiredEnv('AWS_REGION'),
      leaseMs: DISPATCH_LEASE_MS,
      ...(region === config.regions.standby ? { leave: STANDBY_LEAVES } : {}),
    }
  : {};
const deps: DispatchDeps = {
  config,
  store: new DynamoDbStateStore({ tableName, client }),
  clock: systemClock,
  dns: new StrategyDnsRouter({
    // Record swap goes through the zone's DNS writer (functions/dns-writer), which batches within Route 53's budget.
    // Set by the stack when some record is record-swap; without it such an action fails as having no router.
    ...(dnsQueueUrl ? { 'record-swap': new SqsDnsChangeQueue({ queueUrl: dnsQueueUrl }) } : {}),
    'health-check-gated': new DataPlaneDnsRouter(),
  }),
  // Topic ARNs are no secret: plain environment variables set by the stack.
  notifier: new SnsNotifier({
    topics: { critical: requiredEnv('CRITICAL_TOPIC_ARN'), warning: requiredEnv('WARNING_TOPIC_ARN') },
  }),
  log: dispatchReporter(systemClock),
  ...(agentChannel ? { agentCommands: agentCommandHandler(agentChannel) } : {}),
  ...(webhookQueueUrl
    ? {
        webhooks: webhookHandler({
          store: new DynamoDbWebhookStore({ tableName, client }),
          queue: new SqsDeliveryQueue({ queueUrl: webhookQueueUrl }),
          clock: systemClock,
        }),
      }
    : {}),
  ...exclusive,
};

/**
 * Applies the pending actions of the sites named by a batch of state-table stream records (the event source only
 * passes state items with `pending` above zero) and answers with the records to retry: those of sites whose
 * dispatch failed. One site's failure never fails the invocation.
 */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler((event) => dispatchRecords(deps, event.Records));
