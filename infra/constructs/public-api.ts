import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PEPPER_SECRET_NAME } from '../../shared/adapters/aws/secrets-manager-pepper.ts';
import { API_ROUTES } from '../../shared/api/routes.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { AlertTopics } from './alert-topics.ts';
import { FailoverFunction } from './failover-function.ts';
import type { StateTable } from './state-table.ts';
import type { WebhookDelivery } from './webhook-delivery.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** The API function's timeout: under API Gateway's 30 s integration timeout, so a slow call ends as our 5xx. */
export const API_TIMEOUT = Duration.seconds(25);

/** Props of a {@link PublicApi}. */
export interface PublicApiProps {
  /** The sites.yaml text, inlined into the function bundle. */
  readonly configYaml: string;
  /** Sites' state and history, API keys and maintenance windows. */
  readonly table: StateTable;
  /**
   * Steady-state requests per second of the whole API.
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Requests per second allowed in a burst.
   * @default 100
   */
  readonly burstLimit?: number;
  /**
   * Retention of the access logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * The webhook delivery construct: the subscription routes then manage subscriptions and their sealed secrets.
   * @default - no webhook routes (they answer 503)
   */
  readonly webhooks?: WebhookDelivery;
  /**
   * Secrets Manager secrets (names or ARNs) of the inbound sources (sites.yaml `integrations.inbound`), which
   * `POST /v1/hooks/{source}` reads to check signatures; see inboundSecretIdsOf.
   * @default none
   */
  readonly inboundSecrets?: readonly string[];
  /**
   * The alert topics: the function may then publish to the critical one, for the one alert of an operator's
   * release of the mass-failover brake (`POST /v1/brake/release`).
   * @default - no alert topics: a release is recorded and logged only
   */
  readonly alerts?: AlertTopics;
}

/** The Secrets Manager secrets the inbound sources of `config` are signed with. */
export function inboundSecretIdsOf(config: FailoverConfig): string[] {
  const ids = config.integrations.inbound.flatMap((s) =>
    'secretsManager' in s.secret ? [s.secret.secretsManager] : [],
  );
  return [...new Set(ids)].sort();
}

/**
 * The public HTTP API (API Gateway HTTP API, payload format 2.0): one route per entry of the route table
 * (shared/api/routes.ts) and `$default`, all integrated with one function that authenticates API keys itself.
 * Throttled at the stage, with JSON access logs in their own log group. The function may get, put and query items
 * of the table and its gsi1, and read the API key pepper, a generated Secrets Manager secret; nothing else.
 */
export class PublicApi extends Construct {
  /** The HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  public readonly stage: apigwv2.HttpStage;
  /** The function behind every route. */
  public readonly function: FailoverFunction;
  /** The pepper API keys are hashed with (`failover/api-key-pepper`); `failover api-key create --table` reads it. */
  public readonly pepper: secretsmanager.Secret;
  /** Access logs of the stage. */
  public readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PublicApiProps) {
    super(scope, id);
    this.pepper = new secretsmanager.Secret(this, 'ApiKeyPepper', {
      secretName: PEPPER_SECRET_NAME,
      description: 'Pepper of the failover API keys (HMAC-SHA256 key of their stored hashes)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.pepper).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The pepper is the key of every stored API key hash: rotating it revokes every key at once. Keys are ' +
        'rotated instead (failover api-key create / revoke).',
    });

    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.api,
      description: 'The failover HTTP API: sites, incidents, overrides, maintenance windows, webhooks',
      serviceName: 'failover-api',
      configYaml: props.configYaml,
      memorySize: props.memorySize ?? 512,
      timeout: API_TIMEOUT,
      environment: {
        STATE_TABLE_NAME: props.table.table.tableName,
        API_KEY_PEPPER_SECRET_ARN: this.pepper.secretArn,
      },
    });
    // Reads (state, incidents, transitions, keys, windows), conditional puts (commands, windows, key use): no
    // Scan, UpdateItem or DeleteItem anywhere in the API.
    props.table.grantItems(this.function, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], { index: true });
    this.pepper.grantRead(this.function);
    if (props.alerts) {
      this.function.addEnvironment('CRITICAL_TOPIC_ARN', props.alerts.critical.topicArn);
      this.function.addEnvironment('WARNING_TOPIC_ARN', props.alerts.warning.topicArn);
      props.alerts.grantPublish(this.function, ['critical']);
    }
    if (props.webhooks) props.webhooks.grantManage(this.function);
    if (props.inboundSecrets && props.inboundSecrets.length > 0) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: props.inboundSecrets.map((id) => secretArn(this, id)),
        }),
      );
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'failover: status, incidents, overrides, maintenance windows, webhooks',
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // No headers, query strings or bodies: API keys never reach the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Function', this.function, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of API_ROUTES) {
      this.httpApi.addRoutes({ path: route.path, methods: [apigwv2.HttpMethod[route.method]], integration });
    }
    // Everything else reaches the function too, which answers 404 or 405 problems like the local server.
    new apigwv2.HttpRoute(this.httpApi, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration,
    });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'Routes are authorized by the function itself: API keys (hashed, read or write scope, revocable) on every ' +
        'route but /v1/openapi.json (public), /v1/hooks/{source} (signed by the integration), the public status ' +
        'routes and the static pages of the WebConsole construct (files only: their data comes from /v1, with a key).',
    });
  }

  /** The API's base URL. */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}

/** The ARN of a secret named by name or ARN; a name matches its random six-character suffix. */
function secretArn(scope: Construct, id: string): string {
  if (id.startsWith('arn:')) return id;
  return Arn.format(
    {
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${id}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}
