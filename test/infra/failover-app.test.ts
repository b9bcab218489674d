import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Token, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput, TABLE } from '../../shared/adapters/aws/table.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { addFailoverStacks, type FailoverStacks } from '../../infra/stacks/failover-app.ts';
import type { ControlStack } from '../../infra/stacks/control-stack.ts';
import type { ProbeStack } from '../../infra/stacks/probe-stack.ts';

const SCHEDULE_INPUT = JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' });
const dirs: string[] = [];

interface Synthesized {
  readonly stacks: FailoverStacks;
  readonly assembly: CloudAssembly;
  readonly config: FailoverConfig;
}

/** Synthesizes the real app (with bundling and cdk-nag) from a configuration file, once per test file. */
function synthesize(configFile: string): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-cdk-'));
  dirs.push(outdir);
  const app = new App({ outdir, context: { config: configFile } });
  const stacks = addFailoverStacks(app);
  const assembly = app.synth();
  return { stacks, assembly, config: stacks.appConfig.config };
}

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
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
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
    expect(example.assembly.stacks.map((s) => s.stackName).sort()).toEqual(
      ['Failover-Control', ...example.config.regions.probe.map((r) => `Failover-Probe-${r}`)].sort(),
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
              'Fn::GetAtt': [logicalId(stack.probe.scheduleDeadLetterQueue.node.defaultChild as CfnResource), 'Arn'],
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

  it('runs the probe function on arm64, the newest Node.js runtime, with tracing, source maps and its log group', () => {
    const { stacks, config } = example;
    const stack = stacks.probes.get('eu-west-1')!;
    const template = Template.fromStack(stack);
    expect(newestNodeRuntime()).toBe('nodejs24.x');
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: newestNodeRuntime(),
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      Timeout: 60 + Math.ceil(config.probing.roundBudgetMs / 1000) + 30,
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
          FAILOVER_CONFIG_YAML: Match.absent(),
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    // The 10 s interval of the custom config gives an 8 s round budget.
    const shop = Template.fromStack(custom.stacks.probes.get('eu-central-1')!);
    shop.hasResourceProperties('AWS::Lambda::Function', { Timeout: 60 + 8 + 30 });
  });

  it('bundles the handler as ESM with a source map and the configuration inlined', () => {
    const stack = example.stacks.probes.get('us-east-1')!;
    const code = Template.fromStack(stack).findResources('AWS::Lambda::Function')[logicalId(fnOf(stack))]!.Properties
      .Code as { S3Key: string };
    const assetDir = join(example.assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    expect(bundle.startsWith("import { createRequire as __failoverCreateRequire } from 'node:module';")).toBe(true);
    expect(bundle).toContain('checkip.amazonaws.com');
    expect(bundle).toContain('Headquarters, Chicago');
  });

  it('lets the probe function send to the observations queue ARN only, beyond logs and X-Ray', () => {
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
        expect(statementsOf(template, role)).toEqual([
          { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: {
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
          },
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
    const dlq = logicalId(stack.probe.scheduleDeadLetterQueue.node.defaultChild as CfnResource);
    expect(statementsOf(template, Object.keys(roles)[0]!)).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [logicalId(fnOf(stack)), 'Arn'] } },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } },
    ]);
  });

  it('has the FIFO observations queue and its FIFO dead-letter queue in the control stack, encrypted, TLS only', () => {
    const { control } = example.stacks;
    const template = Template.fromStack(control);
    const dlq = logicalId(control.observations.deadLetterQueue.node.defaultChild as CfnResource);
    template.resourceCountIs('AWS::SQS::Queue', 2);
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

  it('passes cdk-nag AwsSolutions with every finding either fixed or acknowledged with a reason', () => {
    for (const { assembly } of [example, custom]) {
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
        new Set(['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-SQS3']),
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

  it('runs the decide function with the house defaults, the table name and the configuration inlined', () => {
    const { stacks, assembly } = example;
    const { template, table, fn, logGroup } = parts(stacks.control);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: newestNodeRuntime(),
      TracingConfig: { Mode: 'Active' },
      Timeout: 30,
      MemorySize: 256,
      LoggingConfig: { LogGroup: { Ref: logGroup } },
      Environment: {
        Variables: {
          STATE_TABLE_NAME: { Ref: table },
          POWERTOOLS_SERVICE_NAME: 'failover-decide',
          NODE_OPTIONS: '--enable-source-maps',
          FAILOVER_CONFIG_YAML: Match.absent(),
        },
      },
    });
    const code = template.findResources('AWS::Lambda::Function')[fn]!.Properties.Code as { S3Key: string };
    const bundle = readFileSync(
      join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
      'utf8',
    );
    expect(bundle).toContain('Headquarters, Chicago');
    expect(bundle).not.toContain('process.env.FAILOVER_CONFIG_YAML');
  });

  it('consumes the FIFO observations queue ten messages at a time with partial batch responses', () => {
    for (const { stacks } of [example, custom]) {
      const { template, fn, queue } = parts(stacks.control);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
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

  it('lets the decide function get and put items of the table only, and consume the queue, beyond logs and X-Ray', () => {
    const { template, table, role, logGroup, queue } = parts(example.stacks.control);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    const statements = statementsOf(template, role);
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
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    const wildcards = statements.filter((st) => JSON.stringify(st.Resource).includes('*'));
    expect(wildcards.flatMap((st) => st.Action as string[])).toEqual([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
  });
});
