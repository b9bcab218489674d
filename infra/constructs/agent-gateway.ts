import { CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { AGENT_ENV } from '../../functions/agent/env.ts';
import { PARTITION } from '../../shared/adapters/aws/table.ts';
import { deadLetterQueue } from './failed-invocations.ts';
import { FailoverFunction } from './failover-function.ts';
import { InvokeExactFunction } from './invoke-exact-function.ts';
import type { StateTable } from './state-table.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** The agent messages with a WebSocket route of their own (route selection on the message's `type`). */
export const AGENT_MESSAGE_ROUTES = ['heartbeat', 'ack', 'observations', 'autonomy'] as const;

/** The AgentAuth fields the `$connect` authorizer needs in the query string; a connect without them is a 401. */
export const AGENT_AUTH_QUERY = ['site', 'nonce', 'expiresAt', 'token', 'signature'] as const;

/**
 * Seconds between two requests of one agent with agent.yaml's defaults: a poll every 15 s (a WebSocket agent's
 * heartbeat every 20 s is less) and its inside-out observations every 60 s make 1/15 + 1/60 = 1/12 requests/s.
 */
export const AGENT_SECONDS_PER_REQUEST = 12;

/**
 * The stage throttle for a fleet of `agents`: twice their steady rate (room for the catch-up after reconnects),
 * never below 50 requests/s; the burst is twice the rate.
 */
export function agentChannelThrottle(agents: number): { rateLimit: number; burstLimit: number } {
  const rateLimit = Math.max(50, Math.ceil((2 * agents) / AGENT_SECONDS_PER_REQUEST));
  return { rateLimit, burstLimit: rateLimit * 2 };
}

/**
 * The item families (partition key prefixes) each function of the agent channel may touch; IAM holds them to these
 * (`dynamodb:LeadingKeys`), so the internet-facing gateway can write neither API keys nor webhook subscriptions.
 * The gateway decides the agents' observations (state, history, maintenance windows, the mass-failover brake's
 * fleet item) and keeps the channel's items.
 */
export const AGENT_FUNCTION_PARTITIONS = {
  authorizer: [PARTITION.replay],
  gateway: [
    PARTITION.agent,
    PARTITION.replay,
    PARTITION.site,
    PARTITION.history,
    PARTITION.maintenance,
    PARTITION.fleet,
  ],
  sweep: [PARTITION.agent, PARTITION.site],
  /** What grantIssueCommands gives a function issuing commands (the dispatcher): command and connection items. */
  commands: [PARTITION.agent],
} as const;

/** Props of an {@link AgentGateway}. */
export interface AgentGatewayProps {
  /** The sites.yaml text, inlined into the function bundles. */
  readonly configYaml: string;
  /** The failover table: commands, connections, replay keys and the state that failures are recorded in. */
  readonly table: StateTable;
  /**
   * Name of the WebSocket stage (the last segment of the agents' `controlPlane.url`).
   * @default 'agent'
   */
  readonly stageName?: string;
  /**
   * How often commands past their expiry are expired (with an alert) and queued ones pushed to connected agents.
   * @default Duration.minutes(1)
   */
  readonly sweepRate?: Duration;
  /**
   * Steady-state requests per second across all agents, on each API (the burst is twice this).
   * The control stack sizes it for the configuration's agents with {@link agentChannelThrottle}.
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Access logs of the WebSocket stage. API Gateway writes them only with the account-wide CloudWatch Logs role of
   * API Gateway set (AWS::ApiGateway::Account), which this app does not own: turn on where the account has it.
   * @default false
   */
  readonly webSocketAccessLogs?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Where the Scheduler puts sweeps it could not deliver (the stack shares one with other given-up invocations).
   * @default - a dead-letter queue of its own
   */
  readonly sweepDeadLetterQueue?: sqs.IQueue;
}

/**
 * The agent channel in the cloud: an API Gateway WebSocket API (`$connect` with a REQUEST authorizer on the signed
 * challenge in the query string, `$disconnect`, and routes for heartbeats, acks, observations and autonomy reports),
 * a small HTTP API for `GET /v1/agent/challenge` and `POST /v1/agent/poll` (the polling fallback), the expiry sweep
 * on a schedule, and the two secrets: the Ed25519 key commands are signed with (set by the operator, see
 * docs/architecture.md) and the challenge MAC secret (generated). Each function may touch only what it uses.
 */
export class AgentGateway extends Construct {
  /** The `$connect` authorizer. */
  public readonly authorizerFunction: FailoverFunction;
  /** Every WebSocket route and both HTTP routes. */
  public readonly gatewayFunction: FailoverFunction;
  /** The scheduled expiry and delivery sweep. */
  public readonly sweepFunction: FailoverFunction;
  public readonly webSocketApi: apigw.WebSocketApi;
  public readonly webSocketStage: apigw.WebSocketStage;
  public readonly httpApi: apigw.HttpApi;
  public readonly httpStage: apigw.HttpStage;
  /** The control plane's Ed25519 signing key (PEM, PKCS#8); its value is the operator's to put. */
  public readonly signingKey: secretsmanager.Secret;
  /** The challenge MAC secret, generated at deployment. */
  public readonly challengeSecret: secretsmanager.Secret;
  public readonly sweepSchedule: scheduler.Schedule;
  /** Invocations the Scheduler could not deliver to the sweep. */
  public readonly sweepDeadLetterQueue: sqs.IQueue;

  readonly #table: StateTable;

  constructor(scope: Construct, id: string, props: AgentGatewayProps) {
    super(scope, id);
    this.#table = props.table;
    const stageName = props.stageName ?? 'agent';
    const rate = props.sweepRate ?? Duration.minutes(1);
    const throttle = { rateLimit: props.rateLimit ?? 50, burstLimit: (props.rateLimit ?? 50) * 2 };

    this.signingKey = new secretsmanager.Secret(this, 'SigningKey', {
      description:
        'Ed25519 private key (PEM) the control plane signs agent commands with: failover agent keygen --out key.pem, then put-secret-value; its public key goes into every agent.yaml',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.challengeSecret = new secretsmanager.Secret(this, 'ChallengeSecret', {
      description: 'HMAC secret of the agent authentication challenges',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    for (const secret of [this.signingKey, this.challengeSecret])
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions::AwsSolutions-SMG4',
        reason:
          'Rotating the signing key means updating every agent.yaml, and the challenge secret is harmless to rotate by hand: both follow the documented manual procedure, no rotation Lambda.',
      });

    const common = { configYaml: props.configYaml, memorySize: 256 };
    const tableEnv = { [AGENT_ENV.table]: props.table.table.tableName };
    this.authorizerFunction = new FailoverFunction(this, 'Authorizer', {
      ...common,
      entry: LAMBDA_ENTRIES['agent-authorizer'],
      description: "Checks an agent's signed challenge before its WebSocket connects",
      serviceName: 'failover-agent-authorizer',
      timeout: Duration.seconds(10),
      environment: { ...tableEnv, [AGENT_ENV.challengeSecret]: this.challengeSecret.secretArn },
    });
    this.gatewayFunction = new FailoverFunction(this, 'Gateway', {
      ...common,
      entry: LAMBDA_ENTRIES['agent-gateway'],
      description: 'Handles agent connections and messages (WebSocket) and challenges and polls (HTTP)',
      serviceName: 'failover-agent-gateway',
      timeout: Duration.seconds(29),
      // Every heartbeat of every agent invokes it: traces would cost more than the function itself.
      tracing: lambda.Tracing.DISABLED,
      environment: { ...tableEnv, [AGENT_ENV.challengeSecret]: this.challengeSecret.secretArn },
    });
    this.sweepFunction = new FailoverFunction(this, 'Sweep', {
      ...common,
      entry: LAMBDA_ENTRIES['agent-sweep'],
      description:
        'Expires agent commands past their expiry (with an alert) and pushes queued ones to connected agents',
      serviceName: 'failover-agent-sweep',
      timeout: Duration.seconds(50),
      retryAttempts: 0,
      maxEventAge: rate,
      environment: tableEnv,
    });

    // The replay guard's conditional put is all the authorizer writes.
    props.table.grantItems(this.authorizerFunction, ['dynamodb:PutItem'], {
      leadingKeys: AGENT_FUNCTION_PARTITIONS.authorizer,
    });
    readSecret(this.challengeSecret, this.authorizerFunction);
    props.table.grantItems(this.gatewayFunction, COMMAND_ITEM_ACTIONS, {
      leadingKeys: AGENT_FUNCTION_PARTITIONS.gateway,
    });
    readSecret(this.challengeSecret, this.gatewayFunction);
    props.table.grantItems(this.sweepFunction, COMMAND_ITEM_ACTIONS, { leadingKeys: AGENT_FUNCTION_PARTITIONS.sweep });

    const authorizer = new WebSocketLambdaAuthorizer('AgentAuthorizer', this.authorizerFunction, {
      identitySource: AGENT_AUTH_QUERY.map((q) => `route.request.querystring.${q}`),
    });
    const integration = new WebSocketLambdaIntegration('Gateway', this.gatewayFunction);
    this.webSocketApi = new apigw.WebSocketApi(this, 'WebSocketApi', {
      description: 'Failover agent channel: commands to site agents, acks, heartbeats and observations back',
      routeSelectionExpression: '$request.body.type',
      connectRouteOptions: { integration, authorizer },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    for (const type of AGENT_MESSAGE_ROUTES) this.webSocketApi.addRoute(type, { integration });
    Validations.of(this.webSocketApi).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'A WebSocket API authorizes at $connect only (the Lambda authorizer checks the signed challenge); the other routes run on a connection it let in.',
    });
    this.webSocketStage = new apigw.WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle,
      ...(props.webSocketAccessLogs
        ? { accessLogSettings: accessLogs(this, 'WebSocketAccessLogs', props.accessLogRetention) }
        : {}),
    });
    if (!props.webSocketAccessLogs)
      Validations.of(this.webSocketStage).acknowledge({
        id: 'AwsSolutions::AwsSolutions-APIG1',
        reason:
          'WebSocket access logs need the account-wide API Gateway CloudWatch role, which this app does not own (webSocketAccessLogs turns them on); the gateway function logs every connect, refusal and message.',
      });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Failover agent channel over HTTPS: challenges, and the polling fallback',
      createDefaultStage: false,
    });
    this.httpStage = new apigw.HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: accessLogs(this, 'HttpAccessLogs', props.accessLogRetention),
    });
    const http = new HttpLambdaIntegration('GatewayHttp', this.gatewayFunction);
    this.httpApi.addRoutes({ path: '/v1/agent/challenge', methods: [apigw.HttpMethod.GET], integration: http });
    this.httpApi.addRoutes({ path: '/v1/agent/poll', methods: [apigw.HttpMethod.POST], integration: http });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'Agents authenticate in the request itself: a challenge is public by design (its MAC makes it useless to forge), and every poll carries a challenge signed with the agent key.',
    });

    this.#grantConnections(this.gatewayFunction, ['POST', 'DELETE']);
    this.#grantConnections(this.sweepFunction, ['POST']);
    for (const fn of [this.gatewayFunction, this.sweepFunction])
      fn.addEnvironment(AGENT_ENV.callbackUrl, this.webSocketStage.callbackUrl);

    this.sweepDeadLetterQueue = props.sweepDeadLetterQueue ?? this.#ownSweepDeadLetterQueue();
    this.sweepSchedule = new scheduler.Schedule(this, 'SweepSchedule', {
      description: 'Expires agent commands past their expiry and delivers queued ones',
      schedule: scheduler.ScheduleExpression.rate(rate),
      timeWindow: scheduler.TimeWindow.off(),
      target: new InvokeExactFunction(this.sweepFunction, {
        retryAttempts: 0,
        maxEventAge: rate,
        deadLetterQueue: this.sweepDeadLetterQueue,
      }),
    });

    new CfnOutput(this, 'WebSocketUrl', {
      description: "Agents' controlPlane.url",
      value: this.webSocketStage.url,
    });
    new CfnOutput(this, 'PollUrl', {
      description: "Agents' controlPlane.pollUrl",
      value: `${this.httpApi.apiEndpoint}/v1/agent`,
    });
    new CfnOutput(this, 'SigningKeySecretArn', {
      description: 'Put the control plane signing key here (docs/architecture.md, Agent channel)',
      value: this.signingKey.secretArn,
    });
  }

  /**
   * Lets the dispatcher issue commands: read the signing key, write command items, look up and forget connections,
   * and PostToConnection on this stage. Add {@link commandEnvironment} to its environment.
   */
  grantIssueCommands(grantee: FailoverFunction): void {
    readSecret(this.signingKey, grantee);
    this.#table.grantItems(
      grantee,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      { leadingKeys: AGENT_FUNCTION_PARTITIONS.commands },
    );
    this.#grantConnections(grantee, ['POST']);
  }

  /** What a function issuing commands (the dispatcher) needs in its environment, besides the table name. */
  get commandEnvironment(): Readonly<Record<string, string>> {
    return {
      [AGENT_ENV.signingKeySecret]: this.signingKey.secretArn,
      [AGENT_ENV.callbackUrl]: this.webSocketStage.callbackUrl,
    };
  }

  /** execute-api:ManageConnections on this stage's connections only, for the given methods. */
  #grantConnections(grantee: FailoverFunction, methods: readonly ('POST' | 'DELETE')[]): void {
    const api = Stack.of(this).formatArn({ service: 'execute-api', resource: this.webSocketApi.apiId });
    grantee.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: methods.map((m) => `${api}/${this.webSocketStage.stageName}/${m}/@connections/*`),
      }),
    );
    for (const m of methods)
      Validations.of(grantee.executionRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${this.#nagArn(m)}]`,
        reason:
          'Connection ids are made by API Gateway at connect time: the resource names this API, this stage and the method used, with only the connection id wildcarded.',
      });
  }

  #ownSweepDeadLetterQueue(): sqs.Queue {
    return deadLetterQueue(this, 'SweepDeadLetterQueue', 'of the Scheduler target');
  }

  /** The connections ARN of `method` as cdk-nag writes it in its findings (tokens as `<Name>`). */
  #nagArn(method: string): string {
    const stack = Stack.of(this);
    const literal = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
    const api = stack.getLogicalId(this.webSocketApi.node.defaultChild as CfnElement);
    return `arn:<AWS::Partition>:execute-api:${literal(stack.region, 'AWS::Region')}:${literal(stack.account, 'AWS::AccountId')}:<${api}>/${this.webSocketStage.stageName}/${method}/@connections/*`;
  }
}

/** Item actions of the channel's functions: commands, connections and state are single items or one partition. */
const COMMAND_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
];

function readSecret(secret: secretsmanager.Secret, grantee: FailoverFunction): void {
  grantee.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
}

function accessLogs(scope: Construct, id: string, retention?: logs.RetentionDays): apigw.IAccessLogSettings {
  const group = new logs.LogGroup(scope, id, {
    retention: retention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // Without a format, each stage kind writes its own default (only variables that kind supports).
  return { destination: new apigw.LogGroupLogDestination(group) };
}
