import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Token, type CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput, TABLE } from '../../shared/adapters/aws/table.ts';
import { parseConfig } from '../../shared/config/load.ts';
import { FLEET_ALERT_EVENTS } from '../../shared/contracts/vocabulary.ts';
import { AlertTopics, alertContactsOf, MAX_FILTER_VALUES } from '../../infra/constructs/alert-topics.ts';
import { AGENT_AUTH_QUERY, AGENT_MESSAGE_ROUTES } from '../../infra/constructs/agent-gateway.ts';
import { DISPATCH_FILTER, DISPATCHER_TIMEOUT } from '../../infra/constructs/dispatcher.ts';
import type { ControlStack } from '../../infra/stacks/control-stack.ts';
import type { ProbeStack } from '../../infra/stacks/probe-stack.ts';
import { removeDirs, synthesizeApp, type Synthesized } from '../support/synth-app.ts';

const SCHEDULE_INPUT = JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' });
const dirs: string[] = [];

const synthesize = (configFile: string): Synthesized => synthesizeApp(configFile, dirs, 'failover-cdk-');

const logicalId = (resource: CfnResource) => Stack.of(resource).getLogicalId(resource);
const fnOf = (stack: ProbeStack) => stack.probe.function.node.defaultChild as CfnResource;

/** The newest `nodejsNN.x` runtime aws-cdk-lib knows. */
function newestNodeRuntime(): string {
  const versions = Object.keys(lambda.Runtime)
    .map((key) => /^NODEJS_(\d+)_X$/.exec(key)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
  return `nodejs${Math.max(...versions)}.x`;
}

/** Statements of every IAM policy attached to `roleLogicalId` in `template`. */
function statementsOf(template: Template, roleLogicalId: string): Record<string, unknown>[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

let example: Synthesized;
let custom: Synthesized;
let customFile: string;

beforeAll(() => {
  example = synthesize('examples/sites.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'failover-config-'));
  dirs.push(dir);
  customFile = join(dir, 'sites.yaml');
  writeFileSync(
    customFile,
    `version: 1
regions: { probe: [eu-central-1, ap-southeast-2], control: eu-west-1 }
sites:
  - id: shop
    links:
      - { id: dsl, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    policy: { intervalSeconds: 10 }
    checks:
      - { id: web, link: dsl, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
`,
  );
  custom = synthesize(customFile);
}, 300_000);

afterAll(() => {
  removeDirs(dirs);
});

/** The condition that holds a statement to the items whose partition key matches `patterns`. */
const leadingKeys = (patterns: string[]) => ({
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns },
  Null: { 'dynamodb:LeadingKeys': 'false' },
});

describe('the failover CDK app', () => {
  it('has a control stack in the control region and one probe stack per probe region, with no account', () => {
    for (const { stacks, config } of [example, custom]) {
      expect(stacks.control.stackName).toBe('Failover-Control');
      expect(stacks.control.region).toBe(config.regions.control);
      expect([...stacks.probes.keys()]).toEqual(config.regions.probe);
      for (const [region, stack] of stacks.probes) {
        expect(stack.stackName).toBe(`Failover-Probe-${region}`);
        expect(stack.region).toBe(region);
        expect(Token.isUnresolved(stack.account)).toBe(true);
        expect(stack.dependencies).toContain(stacks.control);
      }
    }
    // With a health-check-gated record, the data plane's stacks besides (test/infra/data-plane.test.ts).
    const probeRegions = example.config.regions.probe;
    expect(example.assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      [
        'Failover-Control',
        'Failover-Dns-1',
        ...probeRegions.map((r) => `Failover-Probe-${r}`),
        ...probeRegions.map((r) => `Failover-LinkAlarms-${r}-1`),
      ].sort(),
    );
    expect(custom.assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      ['Failover-Control', ...custom.config.regions.probe.map((r) => `Failover-Probe-${r}`)].sort(),
    );
  });

  it('invokes the probe function every minute with the scheduled time, no flexible window, no retry, a DLQ', () => {
    for (const stack of custom.stacks.probes.values()) {
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 minute)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [logicalId(fnOf(stack)), 'Arn'] },
          Input: SCHEDULE_INPUT,
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
          DeadLetterConfig: {
            Arn: {
              'Fn::GetAtt': [logicalId(stack.probe.deadLetterQueue.node.defaultChild as CfnResource), 'Arn'],
            },
          },
        },
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(fnOf(stack)) },
        MaximumRetryAttempts: 0,
      });
    }
  });

  it('runs the probe function on arm64, the newest Node.js runtime, without X-Ray (cost), with source maps and its log group', () => {
    const { stacks, config } = example;
    const stack = stacks.probes.get('eu-west-1')!;
    const template = Template.fromStack(stack);
    expect(newestNodeRuntime()).toBe('nodejs24.x');
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: newestNodeRuntime(),
      Handler: 'index.handler',
      TracingConfig: Match.absent(),
      // One round per invocation: its budget and a margin.
      Timeout: Math.ceil(config.probing.roundBudgetMs / 1000) + 30,
      LoggingConfig: {
        LogGroup: { Ref: logicalId(stack.probe.function.functionLogGroup.node.defaultChild as CfnResource) },
      },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'failover-probe',
          OBSERVATIONS_QUEUE_URL: {
            'Fn::Join': [
              '',
              [
                `https://sqs.${config.regions.control}.`,
                { Ref: 'AWS::URLSuffix' },
                '/',
                { Ref: 'AWS::AccountId' },
                '/failover-observations.fifo',
              ],
            ],
          },
          FAILOVER_CONFIG_JSON: Match.absent(),
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    // The 10 s interval of the custom config gives an 8 s round budget.
    const shop = Template.fromStack(custom.stacks.probes.get('eu-central-1')!);
    shop.hasResourceProperties('AWS::Lambda::Function', { Timeout: 8 + 30 });
  });

  it('bundles the handler as ESM with a source map and the configuration in a file beside it', () => {
    const stack = example.stacks.probes.get('us-east-1')!;
    const code = Template.fromStack(stack).findResources('AWS::Lambda::Function')[logicalId(fnOf(stack))]!.Properties
      .Code as { S3Key: string };
    const assetDir = join(example.assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    expect(bundle.startsWith("import { createRequire as __failoverCreateRequire } from 'node:module';")).toBe(true);
    const configText = readFileSync(join(assetDir, 'failover-config.json'), 'utf8');
    expect(configText).toContain('checkip.amazonaws.com');
    expect(configText).toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('Headquarters, Chicago');
  });

  it('bundles every function under 600 KB (1.0-1.2 MB before), with no YAML parser, no classic zod, no zod locale but English and no credential source but the environment', () => {
    const stacks = [example.stacks.control, ...example.stacks.probes.values()];
    const functions = stacks.flatMap((stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')),
    );
    // The control stack's six functions (the web pages' among them), the DNS writer (record-swap records) and the
    // agent gateway's three, and one probe function per region.
    expect(functions).toHaveLength(10 + example.config.regions.probe.length);
    let awsCallers = 0;
    for (const fn of functions) {
      const { S3Key } = (fn as { Properties: { Code: { S3Key: string } } }).Properties.Code;
      const assetDir = join(example.assembly.directory, `asset.${S3Key.replace(/\.zip$/, '')}`);
      const bundle = readFileSync(join(assetDir, 'index.mjs'));
      const { sources } = JSON.parse(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      expect(bundle.length).toBeLessThan(600 * 1024);
      expect(sources.filter((s) => s.includes('node_modules/yaml/'))).toEqual([]);
      // The SDK's default chain is aliased away (LAMBDA_ALIASES): only the environment's keys, as Lambda sets them.
      expect(sources.filter((s) => /credential-provider-(?!env\/)|nested-clients|token-providers/.test(s))).toEqual([]);
      // A function that calls AWS (all but the web pages') gets its credentials from the alias.
      const callsAws = sources.some((s) => s.includes('node_modules/@smithy/'));
      if (callsAws) awsCallers += 1;
      expect(sources.filter((s) => s.endsWith('functions/shared/lambda-credentials.ts'))).toHaveLength(
        callsAws ? 1 : 0,
      );
      expect(sources.filter((s) => /zod\/v4\/locales\/(?!en\.js$)/.test(s))).toEqual([]);
      // zod/mini only: classic zod's schemas cost each bundle about 75 KB and each schema built at import CPU.
      expect(sources.filter((s) => s.includes('node_modules/zod/v4/classic/'))).toEqual([]);
      expect(bundle.toString('utf8')).not.toContain('process.env.FAILOVER_CONFIG_JSON');
    }
    expect(awsCallers).toBe(functions.length - 1);
  });

  it('lets the probe function send to the observations queue ARN, its round queue and DLQ only, and consume the round queue', () => {
    for (const { stacks, config } of [example, custom]) {
      for (const stack of stacks.probes.values()) {
        const template = Template.fromStack(stack);
        const role = logicalId(stack.probe.function.executionRole.node.defaultChild as CfnResource);
        template.hasResourceProperties('AWS::IAM::Role', {
          AssumeRolePolicyDocument: Match.objectLike({
            Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
          }),
          ManagedPolicyArns: Match.absent(),
        });
        const logGroup = logicalId(stack.probe.function.functionLogGroup.node.defaultChild as CfnResource);
        const rounds = { 'Fn::GetAtt': [logicalId(stack.probe.roundQueue.node.defaultChild as CfnResource), 'Arn'] };
        const dlq = logicalId(stack.probe.deadLetterQueue.node.defaultChild as CfnResource);
        expect(statementsOf(template, role)).toEqual([
          // Lambda sends the ticks that failed to the region's DLQ as the function's role.
          { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: [
              {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    `:sqs:${config.regions.control}:`,
                    { Ref: 'AWS::AccountId' },
                    ':failover-observations.fifo',
                  ],
                ],
              },
              rounds,
            ],
          },
          {
            Effect: 'Allow',
            Action: [
              'sqs:ReceiveMessage',
              'sqs:ChangeMessageVisibility',
              'sqs:GetQueueUrl',
              'sqs:DeleteMessage',
              'sqs:GetQueueAttributes',
            ],
            Resource: rounds,
          },
          // With health-check-gated records only: the region's own link health, in the Failover namespace.
          ...(stacks === example.stacks ? [PUT_LINK_HEALTH] : []),
        ]);
      }
    }
  });

  it('lets the Scheduler invoke exactly the probe function and write to its own DLQ', () => {
    const stack = example.stacks.probes.get('us-west-2')!;
    const template = Template.fromStack(stack);
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
        },
      },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    const dlq = logicalId(stack.probe.deadLetterQueue.node.defaultChild as CfnResource);
    expect(statementsOf(template, Object.keys(roles)[0]!)).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [logicalId(fnOf(stack)), 'Arn'] } },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } },
    ]);
  });

  it('has the FIFO observations queue and its FIFO dead-letter queue in the control stack, encrypted, TLS only', () => {
    const { control } = example.stacks;
    const template = Template.fromStack(control);
    const dlq = logicalId(control.observations.deadLetterQueue.node.defaultChild as CfnResource);
    // Beside these two FIFO queues and the DNS writer's (record-swap records): the webhook queue, its dead-letter
    // queue and the shared one of given-up invocations.
    expect(Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } }))).toHaveLength(3);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'failover-observations.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: Match.stringLikeRegexp('\\.fifo$'),
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      RedrivePolicy: Match.absent(),
    });
    for (const queue of [control.observations.queue, control.observations.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue.node.defaultChild as CfnResource) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('shares one standard DLQ among the invocations given up: dispatcher stream, reconcile and agent sweep schedules', () => {
    for (const { stacks } of [example, custom]) {
      const { control } = stacks;
      const shared = control.failedInvocations.deadLetterQueue;
      expect(control.dispatcher.deadLetterQueue).toBe(shared);
      expect(control.reconciler.scheduleDeadLetterQueue).toBe(shared);
      if (control.agentGateway) expect(control.agentGateway.sweepDeadLetterQueue).toBe(shared);
      const template = Template.fromStack(control);
      // The observations queue and its FIFO DLQ, the webhook queue and its DLQ (tickets to redrive), the shared one,
      // and with record-swap records the DNS writer's queue (no DLQ: its wanted states are never given up).
      template.resourceCountIs('AWS::SQS::Queue', 5 + (control.dnsWriter ? 1 : 0));
      expect(template.findResources('AWS::SQS::Queue')[logicalId(shared.node.defaultChild as CfnResource)]).toEqual({
        Type: 'AWS::SQS::Queue',
        Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 },
        UpdateReplacePolicy: 'Delete',
        DeletionPolicy: 'Delete',
      });
    }
  });

  it('passes cdk-nag AwsSolutions with every finding either fixed or acknowledged with a reason', () => {
    for (const { assembly, stacks } of [example, custom]) {
      const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: {
          pluginName: string;
          conclusion: string;
          violations: unknown[];
          suppressedViolations?: { ruleName: string; reason: string }[];
        }[];
      };
      const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
      expect(nag).toBeDefined();
      expect(nag!.violations).toEqual([]);
      expect(nag!.conclusion).toBe('success');
      const acknowledged = nag!.suppressedViolations ?? [];
      for (const s of acknowledged) expect(s.reason.length).toBeGreaterThan(30);
      expect(new Set(acknowledged.map((s) => s.ruleName))).toEqual(
        new Set([
          'AwsSolutions-IAM5[Resource::*]',
          'AwsSolutions-SQS3',
          'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          // The public API authorizes in its function; its pepper and the webhook key ring are not rotated.
          'AwsSolutions-APIG4',
          'AwsSolutions-SMG4',
          ...agentGatewayAcknowledgements(stacks.control),
        ]),
      );
    }
  });

  it('reads the configuration named by -c config', () => {
    expect(custom.stacks.appConfig.file).toBe(customFile);
    expect(parseConfig(custom.stacks.appConfig.yaml).config).toEqual(custom.config);
    expect(example.stacks.appConfig.file).toBe('examples/sites.yaml');
  });
});

describe('the control stack: state table and decider', () => {
  const parts = (control: ControlStack) => ({
    template: Template.fromStack(control),
    table: logicalId(control.state.table.node.defaultChild as CfnResource),
    fn: logicalId(control.decider.function.node.defaultChild as CfnResource),
    role: logicalId(control.decider.function.executionRole.node.defaultChild as CfnResource),
    logGroup: logicalId(control.decider.function.functionLogGroup.node.defaultChild as CfnResource),
    queue: logicalId(control.observations.queue.node.defaultChild as CfnResource),
  });

  it("keeps state in one on-demand table with the adapter's keys and index, PITR, TTL, retained and protected", () => {
    const { template } = parts(example.stacks.control);
    const adapter = createTableInput('unused');
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: adapter.KeySchema,
        AttributeDefinitions: Match.arrayEquals(adapter.AttributeDefinitions!),
        GlobalSecondaryIndexes: [
          {
            IndexName: TABLE.gsi1.name,
            KeySchema: adapter.GlobalSecondaryIndexes![0]!.KeySchema,
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
        // AWS-owned key: no KMS key to grant or pay for on the decision path.
        SSESpecification: { SSEEnabled: false },
        TableName: Match.absent(),
      },
    });
    expect(TABLE.ttlAttribute).toBe('expiresAt');
  });

  it('runs the decide function with the house defaults but no X-Ray (cost), the table name, its queue URL and the configuration beside the bundle', () => {
    const { stacks, assembly } = example;
    const { template, table, fn, logGroup, queue } = parts(stacks.control);
    // The decide, dispatch and reconcile functions, the API, the webhook worker and the web pages, the DNS writer
    // (record-swap records), and the agent gateway's authorizer, gateway and sweep.
    template.resourceCountIs(
      'AWS::Lambda::Function',
      6 + (stacks.control.dnsWriter ? 1 : 0) + (stacks.control.agentGateway ? 3 : 0),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: newestNodeRuntime(),
      // Invoked for every round of every region: Lambda would trace nearly every invocation (docs/cost.md).
      TracingConfig: Match.absent(),
      Timeout: 30,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: logGroup } },
      Environment: {
        Variables: {
          STATE_TABLE_NAME: { Ref: table },
          // Transient failures shorten their messages' visibility on it (ChangeMessageVisibility, granted below).
          OBSERVATIONS_QUEUE_URL: { Ref: queue },
          POWERTOOLS_SERVICE_NAME: 'failover-decide',
          NODE_OPTIONS: '--enable-source-maps',
          FAILOVER_CONFIG_JSON: Match.absent(),
        },
      },
    });
    const code = template.findResources('AWS::Lambda::Function')[fn]!.Properties.Code as { S3Key: string };
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    // The configuration is the file beside the bundle (a define of it overflowed the esbuild command line).
    expect(readFileSync(join(assetDir, 'failover-config.json'), 'utf8')).toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('process.env.FAILOVER_CONFIG_JSON');
  });

  it('consumes the FIFO observations queue ten messages at a time with partial batch responses', () => {
    for (const { stacks } of [example, custom]) {
      const { template, fn, queue } = parts(stacks.control);
      // The decider's on the queue, the dispatcher's on the table's stream, the webhook worker's on its queue, the
      // DNS writer's on its queue (record-swap records).
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3 + (stacks.control.dnsWriter ? 1 : 0));
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionName: { Ref: fn },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumBatchingWindowInSeconds: Match.absent(),
        ScalingConfig: Match.absent(),
      });
      const queueProps = template.findResources('AWS::SQS::Queue')[queue]!.Properties as Record<string, unknown>;
      const fnProps = template.findResources('AWS::Lambda::Function')[fn]!.Properties as Record<string, unknown>;
      expect(queueProps.FifoQueue).toBe(true);
      // AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout.
      expect(queueProps.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fnProps.Timeout as number));
      expect(fnProps.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('lets the decide function get, put, update and query items of the table only, and consume the queue, beyond its logs', () => {
    const { template, table, role, logGroup, queue } = parts(example.stacks.control);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    const statements = statementsOf(template, role);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: [
          'sqs:ReceiveMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueUrl',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
        ],
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      },
    ]);
    const actions = statements.flatMap((st) => [st.Action].flat() as string[]);
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    // No X-Ray, so no `Resource: *` at all, and nothing for cdk-nag to acknowledge on this role.
    expect(statements.filter((st) => JSON.stringify(st.Resource).includes('*'))).toEqual([]);
  });
});

/** The rendered ARN of a Route 53 hosted zone. */
const zoneArn = (id: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:route53:::hostedzone/${id}`]],
});
const EXAMPLE_SWAP_ZONES = ['Z0123456789EXAMPLE', 'Z0987654321EXAMPLE'];
const PUT_LINK_HEALTH = {
  Effect: 'Allow',
  Action: 'cloudwatch:PutMetricData',
  Resource: '*',
  Condition: { StringEquals: { 'cloudwatch:namespace': 'Failover' } },
};

/** Actions with a wildcard and resources with one, across the statements. */
function wildcards(statements: Record<string, unknown>[]) {
  return {
    actions: statements.flatMap((st) => [st.Action].flat() as string[]).filter((a) => a.includes('*')),
    resourceActions: statements
      .filter((st) => JSON.stringify(st.Resource).includes('*'))
      .flatMap((st) => [st.Action].flat() as string[]),
  };
}

describe('the control stack: dispatcher, alerts, DNS failover, reconciler', () => {
  const parts = (control: ControlStack) => ({
    template: Template.fromStack(control),
    table: logicalId(control.state.table.node.defaultChild as CfnResource),
    fn: logicalId(control.dispatcher.function.node.defaultChild as CfnResource),
    role: logicalId(control.dispatcher.function.executionRole.node.defaultChild as CfnResource),
    logGroup: logicalId(control.dispatcher.function.functionLogGroup.node.defaultChild as CfnResource),
    dlq: logicalId(control.dispatcher.deadLetterQueue.node.defaultChild as CfnResource),
    critical: logicalId(control.alerts.critical.node.defaultChild as CfnResource),
    warning: logicalId(control.alerts.warning.node.defaultChild as CfnResource),
    key: logicalId(control.alerts.key.node.defaultChild as CfnResource),
    reconciler: logicalId(control.reconciler.function.node.defaultChild as CfnResource),
    reconcilerRole: logicalId(control.reconciler.function.executionRole.node.defaultChild as CfnResource),
    reconcilerLogGroup: logicalId(control.reconciler.function.functionLogGroup.node.defaultChild as CfnResource),
  });

  it('streams new images of the table and starts the dispatcher on states with pending actions only', () => {
    for (const { stacks } of [example, custom]) {
      const { template, table, fn, dlq } = parts(stacks.control);
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [table, 'StreamArn'] },
        FunctionName: { Ref: fn },
        StartingPosition: 'LATEST',
        BatchSize: 10,
        MaximumRetryAttempts: 5,
        BisectBatchOnFunctionError: true,
        ParallelizationFactor: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlq, 'Arn'] } } },
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify(DISPATCH_FILTER) }] },
        MaximumBatchingWindowInSeconds: Match.absent(),
      });
    }
    expect(DISPATCH_FILTER).toEqual({
      dynamodb: { NewImage: { entity: { S: ['state'] }, pending: { N: [{ 'anything-but': ['0'] }] } } },
    });
    expect(TABLE.entityAttribute).toBe('entity');
  });

  it('runs the dispatcher with the house defaults, the table, the topic ARNs and the configuration beside the bundle', () => {
    const { stacks, assembly } = example;
    const { template, table, fn, logGroup, critical, warning, dlq } = parts(stacks.control);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: newestNodeRuntime(),
      TracingConfig: { Mode: 'Active' },
      Timeout: DISPATCHER_TIMEOUT.toSeconds(),
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: logGroup } },
      Environment: {
        Variables: {
          STATE_TABLE_NAME: { Ref: table },
          CRITICAL_TOPIC_ARN: { Ref: critical },
          WARNING_TOPIC_ARN: { Ref: warning },
          POWERTOOLS_SERVICE_NAME: 'failover-dispatch',
          NODE_OPTIONS: '--enable-source-maps',
          FAILOVER_CONFIG_JSON: Match.absent(),
        },
      },
    });
    const code = template.findResources('AWS::Lambda::Function')[fn]!.Properties.Code as { S3Key: string };
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    // The configuration is the file beside the bundle (a define of it overflowed the esbuild command line).
    expect(readFileSync(join(assetDir, 'failover-config.json'), 'utf8')).toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('process.env.FAILOVER_CONFIG_JSON');
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
      FifoQueue: Match.absent(),
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets the dispatcher send to the DNS writer (no Route 53 at all), publish to the two topics, read its stream', () => {
    for (const { stacks } of [example, custom]) {
      const { template, table, role, logGroup, critical, warning, key, dlq } = parts(stacks.control);
      const gated = stacks === example.stacks;
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
        }),
        ManagedPolicyArns: Match.absent(),
      });
      const statements = statementsOf(template, role);
      const stream = { 'Fn::GetAtt': [table, 'StreamArn'] };
      expect(statements).toEqual([
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: { 'Fn::GetAtt': [table, 'Arn'] },
        },
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: critical } },
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': [key, 'Arn'] } },
        { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: warning } },
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: { 'Fn::GetAtt': [dlq, 'Arn'] },
        },
        { Effect: 'Allow', Action: 'dynamodb:ListStreams', Resource: stream },
        {
          Effect: 'Allow',
          Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          Resource: stream,
        },
        // Record-swap changes go to the DNS writer's queue; the writer alone may change the zones.
        ...(gated
          ? [
              {
                Effect: 'Allow',
                Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
                Resource: {
                  'Fn::GetAtt': [logicalId(stacks.control.dnsWriter!.queue.node.defaultChild as CfnResource), 'Arn'],
                },
              },
            ]
          : []),
        // Webhook actions: the subscriptions (one partition) and the delivery queue.
        {
          Effect: 'Allow',
          Action: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: { 'Fn::GetAtt': [table, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Resource: {
            'Fn::GetAtt': [logicalId(stacks.control.webhooks.queue.node.defaultChild as CfnResource), 'Arn'],
          },
        },
        ...agentCommandStatements(stacks.control, table),
      ]);
      const actions = statements.flatMap((st) => [st.Action].flat() as string[]);
      expect(actions.filter((a) => a.startsWith('route53:'))).toEqual([]);
      expect(wildcards(statements)).toEqual({
        actions: ['kms:GenerateDataKey*'],
        resourceActions: [
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          // The connections of the agent WebSocket stage: connection ids are made at connect time.
          ...(stacks.control.agentGateway ? ['execute-api:ManageConnections'] : []),
        ],
      });
    }
  });

  it('reconciles every 5 minutes: no window, no retry, a DLQ; it may list the record-swap zones only', () => {
    for (const { stacks } of [example, custom]) {
      const { template, table, reconciler, reconcilerRole, reconcilerLogGroup } = parts(stacks.control);
      const gated = stacks === example.stacks;
      const dlq = logicalId(stacks.control.reconciler.scheduleDeadLetterQueue.node.defaultChild as CfnResource);
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(5 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { 'Fn::GetAtt': [reconciler, 'Arn'] },
          Input: SCHEDULE_INPUT,
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        },
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: reconciler },
        MaximumRetryAttempts: 0,
      });
      const fnProps = template.findResources('AWS::Lambda::Function')[reconciler]!.Properties as Record<
        string,
        unknown
      >;
      // Sweeps never overlap.
      expect(fnProps.Timeout).toBeLessThan(300);
      expect(fnProps).toMatchObject({
        Environment: { Variables: { STATE_TABLE_NAME: { Ref: table }, POWERTOOLS_SERVICE_NAME: 'failover-reconcile' } },
      });
      const statements = statementsOf(template, reconcilerRole);
      expect(statements).toEqual([
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [reconcilerLogGroup, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          Resource: { 'Fn::GetAtt': [table, 'Arn'] },
        },
        ...(gated
          ? [{ Effect: 'Allow', Action: 'route53:ListResourceRecordSets', Resource: EXAMPLE_SWAP_ZONES.map(zoneArn) }]
          : []),
      ]);
      expect(wildcards(statements).actions).toEqual([]);
    }
  });

  it('keeps alerts in two KMS-encrypted standard topics with TLS enforced and no display name', () => {
    for (const { stacks } of [example, custom]) {
      const { template, key, critical, warning } = parts(stacks.control);
      template.resourceCountIs('AWS::SNS::Topic', 2);
      for (const topic of [critical, warning]) {
        expect(template.findResources('AWS::SNS::Topic')[topic]!.Properties).toEqual({
          KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
        });
        template.hasResourceProperties('AWS::SNS::TopicPolicy', {
          Topics: [{ Ref: topic }],
          PolicyDocument: {
            // The critical topic also lets this account's alarms publish (test/infra/observability.test.ts).
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sns:Publish',
                Principal: '*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
      template.resourceCountIs('AWS::KMS::Key', 1);
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasOutput('CriticalTopicArn', { Value: { Ref: critical } });
      template.hasOutput('WarningTopicArn', { Value: { Ref: warning } });
    }
  });

  it("subscribes contacts' email to the topics of their severities and SMS to the critical topic, per site", () => {
    const { template, critical, warning } = parts(example.stacks.control);
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')).map((r) => r.Properties);
    expect(subscriptions).toHaveLength(4);
    expect(subscriptions).toEqual(
      expect.arrayContaining([
        { TopicArn: { Ref: critical }, Protocol: 'email', Endpoint: 'noc@example.com' },
        { TopicArn: { Ref: warning }, Protocol: 'email', Endpoint: 'noc@example.com' },
        { TopicArn: { Ref: critical }, Protocol: 'sms', Endpoint: '+15555550100' },
        // it-lead wants critical only, and store-12 names noc as its only contact.
        {
          TopicArn: { Ref: critical },
          Protocol: 'email',
          Endpoint: 'it-lead@example.com',
          // Its sites' alerts, and the fleet's (the brake's), whatever site carries them.
          FilterPolicy: { $or: [{ site: ['callcenter', 'hq'] }, { event: ['failover-held', 'brake-released'] }] },
        },
      ]),
    );
    Template.fromStack(custom.stacks.control).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('makes no alarm, health check or record of health-check-gated records: they live in the data-plane stacks', () => {
    const template = Template.fromStack(example.stacks.control);
    for (const type of ['AWS::Route53::HealthCheck', 'AWS::Route53::RecordSet']) template.resourceCountIs(type, 0);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'LinkHealth' }, 0);
    expect(example.stacks.dns).toHaveLength(1);
    expect(custom.stacks.dns).toHaveLength(0);
  });
});

describe('AlertTopics', () => {
  const topicsOf = (contacts: ConstructorParameters<typeof AlertTopics>[2]['contacts']) => {
    const stack = new Stack(new App(), 'Alerts', { env: { region: 'eu-west-1' } });
    const topics = new AlertTopics(stack, 'Alerts', { contacts });
    const template = Template.fromStack(stack);
    const ref = (topic: 'critical' | 'warning') => ({
      Ref: logicalId(topics.topicOf(topic).node.defaultChild as CfnResource),
    });
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')).map((r) => r.Properties);
    return { stack, ref, subscriptions };
  };

  it('subscribes an address once per topic, merging the sites of contacts that share it', () => {
    const { ref, subscriptions } = topicsOf([
      { name: 'ops', email: 'ops@example.com', severities: ['critical', 'warning'] },
      { name: 'ops-too', email: 'OPS@example.com', severities: ['critical'], sites: ['x'] },
      { name: 'boss', email: 'boss@example.com', sms: '+15555550101', severities: ['warning'], sites: ['y', 'x'] },
      { name: 'nobody', email: 'nobody@example.com', sms: '+15555550102', severities: ['critical'], sites: [] },
    ]);
    expect(subscriptions).toEqual([
      { TopicArn: ref('critical'), Protocol: 'email', Endpoint: 'ops@example.com' },
      { TopicArn: ref('warning'), Protocol: 'email', Endpoint: 'ops@example.com' },
      // No SMS for boss: SMS goes to the critical topic only, and boss wants warnings.
      { TopicArn: ref('warning'), Protocol: 'email', Endpoint: 'boss@example.com', FilterPolicy: { site: ['x', 'y'] } },
    ]);
  });

  it('names the sites a contact serves, and falls back to every site past the filter policy limit', () => {
    expect(alertContactsOf(example.config)).toEqual([
      { name: 'noc', email: 'noc@example.com', sms: '+15555550100', severities: ['critical', 'warning'] },
      {
        name: 'it-lead',
        email: 'it-lead@example.com',
        sms: undefined,
        severities: ['critical'],
        sites: ['hq', 'callcenter'],
      },
    ]);
    const sites = Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `site-${i}`);
    const { stack, subscriptions } = topicsOf([
      { name: 'many', email: 'many@example.com', severities: ['critical'], sites },
    ]);
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]).toMatchObject({ Endpoint: 'many@example.com' });
    expect(subscriptions[0]).not.toHaveProperty('FilterPolicy');
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('more than an SNS filter policy can list'));
  });

  it("counts the fleet's events against the limit on the critical topic, and not on the warning topic", () => {
    const sites = (n: number) => Array.from({ length: n }, (_, i) => `site-${String(i).padStart(3, '0')}`);
    const fits = MAX_FILTER_VALUES - FLEET_ALERT_EVENTS.length;
    const { subscriptions } = topicsOf([
      { name: 'fits', email: 'fits@example.com', severities: ['critical'], sites: sites(fits) },
      { name: 'over', email: 'over@example.com', severities: ['critical', 'warning'], sites: sites(fits + 1) },
    ]);
    expect(subscriptions.map((s) => [s.Endpoint, s.FilterPolicy === undefined ? 'every alert' : 'filtered'])).toEqual([
      ['fits@example.com', 'filtered'],
      ['over@example.com', 'every alert'],
      ['over@example.com', 'filtered'],
    ]);
    expect(subscriptions[0].FilterPolicy).toEqual({ $or: [{ site: sites(fits) }, { event: [...FLEET_ALERT_EVENTS] }] });
    expect(subscriptions[2].FilterPolicy).toEqual({ site: sites(fits + 1) });
  });
});

/** What issuing agent commands adds to the dispatcher's policy, when the stack has an agent gateway. */
function agentCommandStatements(control: ControlStack, table: string): unknown[] {
  const gateway = control.agentGateway;
  if (!gateway) return [];
  const api = logicalId(gateway.webSocketApi.node.defaultChild as CfnResource);
  return [
    {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: logicalId(gateway.signingKey.node.defaultChild as CfnResource) },
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: { 'Fn::GetAtt': [table, 'Arn'] },
      Condition: leadingKeys(['AGENT#*']),
    },
    {
      Effect: 'Allow',
      Action: 'execute-api:ManageConnections',
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            `:execute-api:${control.region}:`,
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: api },
            '/agent/POST/@connections/*',
          ],
        ],
      },
    },
  ];
}

/** The findings the agent gateway acknowledges (with reasons), when the stack has one. */
function agentGatewayAcknowledgements(control: ControlStack): string[] {
  const gateway = control.agentGateway;
  if (!gateway) return [];
  const api = logicalId(gateway.webSocketApi.node.defaultChild as CfnResource);
  const connections = (method: string) =>
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${control.region}:<AWS::AccountId>:<${api}>/agent/${method}/@connections/*]`;
  return ['AwsSolutions-SMG4', 'AwsSolutions-APIG4', 'AwsSolutions-APIG1', connections('POST'), connections('DELETE')];
}

describe('the control stack: agent gateway', () => {
  const parts = (control: ControlStack) => {
    const gateway = control.agentGateway!;
    const id = (c: { node: { defaultChild?: unknown } }) => logicalId(c.node.defaultChild as CfnResource);
    return {
      gateway,
      template: Template.fromStack(control),
      table: logicalId(control.state.table.node.defaultChild as CfnResource),
      wsApi: id(gateway.webSocketApi),
      httpApi: id(gateway.httpApi),
      authorizer: id(gateway.authorizerFunction),
      gatewayFn: id(gateway.gatewayFunction),
      sweep: id(gateway.sweepFunction),
      signingKey: id(gateway.signingKey),
      challengeSecret: id(gateway.challengeSecret),
      role: (fn: typeof gateway.gatewayFunction) => id(fn.executionRole),
      logGroup: (fn: typeof gateway.gatewayFunction) => id(fn.functionLogGroup),
    };
  };
  const connectionsArn = (wsApi: string, method: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:execute-api:${example.stacks.control.region}:`,
        { Ref: 'AWS::AccountId' },
        ':',
        { Ref: wsApi },
        `/agent/${method}/@connections/*`,
      ],
    ],
  });

  it('exists only when some site has an agent', () => {
    expect(example.config.sites.some((s) => s.agent)).toBe(true);
    expect(example.stacks.control.agentGateway).toBeDefined();
    expect(custom.config.sites.some((s) => s.agent)).toBe(false);
    expect(custom.stacks.control.agentGateway).toBeUndefined();
    const template = Template.fromStack(custom.stacks.control);
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' }, 0);
    template.resourcePropertiesCountIs('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' }, 0);
  });

  it('has a WebSocket API: $connect behind the query-string authorizer, routes per message type, all to the gateway', () => {
    const { template, wsApi, authorizer, gatewayFn } = parts(example.stacks.control);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.type',
    });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
      .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
      .filter((p) => JSON.stringify(p.ApiId) === JSON.stringify({ Ref: wsApi }));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(
      ['$connect', '$disconnect', '$default', ...AGENT_MESSAGE_ROUTES].sort(),
    );
    for (const r of routes) expect(r.AuthorizationType).toBe(r.RouteKey === '$connect' ? 'CUSTOM' : 'NONE');
    expect(new Set(routes.map((r) => JSON.stringify(r.Target))).size).toBe(1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: { Ref: wsApi },
      AuthorizerType: 'REQUEST',
      IdentitySource: AGENT_AUTH_QUERY.map((q) => `route.request.querystring.${q}`),
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [authorizer, 'Arn'] }])],
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ApiId: { Ref: wsApi },
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [gatewayFn, 'Arn'] }])] }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: wsApi },
      StageName: 'agent',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.absent(),
    });
  });

  it('has an HTTP API for the challenge and the poll, throttled, with access logs', () => {
    const { template, httpApi } = parts(example.stacks.control);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
      .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
      .filter((p) => JSON.stringify(p.ApiId) === JSON.stringify({ Ref: httpApi }));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /v1/agent/challenge', 'POST /v1/agent/poll']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: httpApi },
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context.requestId') },
    });
    const format = (
      Object.values(template.findResources('AWS::ApiGatewayV2::Stage')).find(
        (r) =>
          JSON.stringify((r as { Properties: { ApiId: unknown } }).Properties.ApiId) ===
          JSON.stringify({ Ref: httpApi }),
      ) as { Properties: { AccessLogSettings: { Format: string } } }
    ).Properties.AccessLogSettings.Format;
    expect(format).not.toMatch(/querystring|body|header/i);
  });

  it('keeps the signing key (retained, set by the operator) and a generated challenge secret', () => {
    const { template, signingKey, challengeSecret } = parts(example.stacks.control);
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    expect(secrets[signingKey]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(secrets[challengeSecret]).toMatchObject({
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false } },
    });
  });

  it('gives each function exactly what it uses, and the signing key to none of them', () => {
    const { gateway, template, table, wsApi, challengeSecret, role, logGroup } = parts(example.stacks.control);
    const base = (fn: typeof gateway.gatewayFunction) => [
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroup(fn), 'Arn'] },
      },
    ];
    const items = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ];
    const readChallenge = {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: challengeSecret },
    };
    const tableArn = { 'Fn::GetAtt': [table, 'Arn'] };
    expect(statementsOf(template, role(gateway.authorizerFunction))).toEqual([
      ...base(gateway.authorizerFunction),
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: tableArn, Condition: leadingKeys(['REPLAY#*']) },
      readChallenge,
    ]);
    // No X-Ray for the gateway: every heartbeat invokes it.
    expect(statementsOf(template, role(gateway.gatewayFunction))).toEqual([
      ...base(gateway.gatewayFunction).slice(1),
      {
        Effect: 'Allow',
        Action: items,
        Resource: tableArn,
        Condition: leadingKeys(['AGENT#*', 'REPLAY#*', 'SITE#*', 'HISTORY#*', 'MAINTENANCE#*', 'FLEET*']),
      },
      readChallenge,
      {
        Effect: 'Allow',
        Action: 'execute-api:ManageConnections',
        Resource: [connectionsArn(wsApi, 'POST'), connectionsArn(wsApi, 'DELETE')],
      },
    ]);
    expect(statementsOf(template, role(gateway.sweepFunction))).toEqual([
      ...base(gateway.sweepFunction),
      { Effect: 'Allow', Action: items, Resource: tableArn, Condition: leadingKeys(['AGENT#*', 'SITE#*']) },
      { Effect: 'Allow', Action: 'execute-api:ManageConnections', Resource: connectionsArn(wsApi, 'POST') },
    ]);
  });

  it('passes the table, the challenge secret and the callback URL in the environment, never the signing key', () => {
    const { template, table, wsApi, authorizer, gatewayFn, sweep, challengeSecret } = parts(example.stacks.control);
    const functions = template.findResources('AWS::Lambda::Function');
    const env = (id: string) =>
      (functions[id]!.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables;
    const callback = {
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: wsApi },
          `.execute-api.${example.stacks.control.region}.`,
          { Ref: 'AWS::URLSuffix' },
          '/agent',
        ],
      ],
    };
    expect(env(authorizer)).toMatchObject({
      STATE_TABLE_NAME: { Ref: table },
      AGENT_CHALLENGE_SECRET_ARN: { Ref: challengeSecret },
    });
    expect(env(gatewayFn)).toMatchObject({
      STATE_TABLE_NAME: { Ref: table },
      AGENT_CHALLENGE_SECRET_ARN: { Ref: challengeSecret },
      AGENT_CALLBACK_URL: callback,
      POWERTOOLS_SERVICE_NAME: 'failover-agent-gateway',
    });
    expect(env(sweep)).toMatchObject({ STATE_TABLE_NAME: { Ref: table }, AGENT_CALLBACK_URL: callback });
    for (const id of [authorizer, gatewayFn, sweep]) expect(env(id)).not.toHaveProperty('AGENT_SIGNING_KEY_SECRET_ARN');
    expect(env(authorizer)).not.toHaveProperty('AGENT_CALLBACK_URL');
  });

  it('sweeps every minute: no window, no retry, a DLQ', () => {
    const { gateway, template, sweep } = parts(example.stacks.control);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [sweep, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [logicalId(gateway.sweepDeadLetterQueue.node.defaultChild as CfnResource), 'Arn'] },
        },
      },
    });
    const fn = template.findResources('AWS::Lambda::Function')[sweep]!.Properties as { Timeout: number };
    expect(fn.Timeout).toBeLessThan(60);
  });

  it("outputs the agents' URLs and the signing key's secret", () => {
    const outputs = Template.fromStack(example.stacks.control).findOutputs('*');
    const descriptions = Object.values(outputs).map((o) => (o as { Description?: string }).Description);
    expect(descriptions).toEqual(
      expect.arrayContaining([
        "Agents' controlPlane.url",
        "Agents' controlPlane.pollUrl",
        'Put the control plane signing key here (docs/architecture.md, Agent channel)',
      ]),
    );
  });
});
