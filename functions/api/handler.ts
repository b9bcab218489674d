import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { DynamoDbWebhookStore } from '../../shared/adapters/aws/dynamodb-webhook-store.ts';
import { SnsNotifier } from '../../shared/adapters/aws/sns-notifier.ts';
import { loadPepperSecret } from '../../shared/adapters/aws/secrets-manager-pepper.ts';
import { cachedPepper } from '../../shared/api/api-keys.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import {
  secretsManagerSecretBox,
  secretsManagerSecretResolver,
} from '../../shared/adapters/aws/secrets-manager-webhook-secrets.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import type { ApiDeps } from './deps.ts';
import { apiHandlers, routeEvent } from './router.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
const pepperSecret = requiredEnv('API_KEY_PEPPER_SECRET_ARN');
// Set by the stack when the webhook delivery construct granted this function its key ring.
const webhookKeySecret = process.env.WEBHOOK_KEY_SECRET_ARN;
// Set by the stack when the alert topics granted this function Publish: the brake's release alert.
const criticalTopic = process.env.CRITICAL_TOPIC_ARN;
const warningTopic = process.env.WARNING_TOPIC_ARN;
const config = bundledConfig();
const deps: ApiDeps = {
  config,
  store: new DynamoDbStateStore({ tableName, client }),
  clock: systemClock,
  apiKeys: new DynamoDbApiKeyStore({ tableName, client }),
  // Read on the first authenticated request, then kept for the life of the execution environment.
  pepper: cachedPepper(() => loadPepperSecret(pepperSecret)),
  maintenance: new DynamoDbMaintenanceStore({ tableName, client }),
  history: new DynamoDbHistoryStore({ tableName, client }),
  ...(criticalTopic && warningTopic
    ? { notifier: new SnsNotifier({ topics: { critical: criticalTopic, warning: warningTopic } }) }
    : {}),
  ...(webhookKeySecret
    ? {
        webhooks: {
          store: new DynamoDbWebhookStore({ tableName, client }),
          secretBox: secretsManagerSecretBox({ secretId: webhookKeySecret }),
        },
      }
    : {}),
  ...(config.integrations.inbound.length > 0
    ? {
        hooks: {
          secrets: secretsManagerSecretResolver(),
          replay: new DynamoDbReplayGuard({ tableName, client }),
        },
      }
    : {}),
  log: logger,
};
const handlers = apiHandlers(deps);

/**
 * Every route of the HTTP API (API Gateway, payload format 2.0), `$default` included: one function, routed by the
 * event's route key. Each route is its own middy chain (problem details, body limit, API key, validation).
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler((event, context) => routeEvent(handlers, event, context));
