import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverFunction } from '../../infra/constructs/failover-function.ts';
import { StateTable } from '../../infra/constructs/state-table.ts';
import { grantInboundSecretReads, WEBHOOK_ENV, WebhookDelivery } from '../../infra/constructs/webhook-delivery.ts';
import type { InboundSourceConfig } from '../../shared/config/model.ts';

let outdir: string;
let stack: Stack;
let webhooks: WebhookDelivery;
let publisher: FailoverFunction;
let manager: FailoverFunction;
let template: Template;
let report: {
  pluginReports: {
    pluginName: string;
    violations: unknown[];
    suppressedViolations?: { ruleName: string; reason: string }[];
  }[];
};

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'failover-webhooks-cdk-'));
  const app = new App({ outdir });
  stack = new Stack(app, 'Webhooks', { env: { region: 'eu-west-1' } });
  const table = new StateTable(stack, 'State');
  webhooks = new WebhookDelivery(stack, 'Webhooks', { table });
  // Stand-ins for the dispatcher and the API function, to see what the grants give them.
  publisher = new FailoverFunction(stack, 'Publisher', {
    entry: 'functions/webhooks/deliver-handler.ts',
    serviceName: 'p',
  });
  manager = new FailoverFunction(stack, 'Manager', {
    entry: 'functions/webhooks/deliver-handler.ts',
    serviceName: 'm',
  });
  webhooks.grantPublish(publisher);
  webhooks.grantManage(manager);
  const source = (secret: InboundSourceConfig['secret']): InboundSourceConfig => ({
    source: 's',
    scheme: 'zendesk',
    secret,
    allow: ['incident.acknowledge'],
    sites: ['*'],
    toleranceSeconds: 300,
  });
  grantInboundSecretReads(stack, manager, [
    source({ env: 'LOCAL_ONLY' }),
    source({ secretsManager: 'failover/hooks/zendesk', field: 'secret' }),
    source({ secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-hooks-AbC123' }),
  ]);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  template = Template.fromStack(stack);
  report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ref = (resource: CfnResource) => ({ Ref: stack.getLogicalId(resource) });
const arnOf = (resource: CfnResource) => ({ 'Fn::GetAtt': [stack.getLogicalId(resource), 'Arn'] });

/** Every statement of the policies attached to a function's role. */
function statementsOf(fn: FailoverFunction): { Action: string | string[]; Resource: unknown }[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([ref(fn.executionRole.node.defaultChild as CfnResource)]) },
  });
  return Object.values(policies).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument.Statement,
  );
}
const actionsOf = (fn: FailoverFunction) =>
  new Set(statementsOf(fn).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));

describe('WebhookDelivery', () => {
  it('has an encrypted queue with a dead-letter queue, and a generated key ring secret kept on delete', () => {
    const queue = webhooks.queue.node.defaultChild as CfnResource;
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 86_400,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(webhooks.deadLetterQueue.node.defaultChild as CfnResource),
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(queue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
  });

  it('runs the worker on the queue with partial batch responses and bounded concurrency', () => {
    const worker = webhooks.worker.node.defaultChild as CfnResource;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(worker),
      EventSourceArn: arnOf(webhooks.queue.node.defaultChild as CfnResource),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          [WEBHOOK_ENV.queueUrl]: ref(webhooks.queue.node.defaultChild as CfnResource),
          [WEBHOOK_ENV.keySecretArn]: ref(webhooks.keySecret.node.defaultChild as CfnResource),
          [WEBHOOK_ENV.tableName]: Match.anyValue(),
        }),
      },
    });
  });

  it('grants each function only what it uses', () => {
    const table = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'sqs:SendMessage',
      'secretsmanager:GetSecretValue',
    ];
    for (const action of table) expect(actionsOf(webhooks.worker)).toContain(action);
    expect(actionsOf(webhooks.worker)).not.toContain('dynamodb:Query');
    expect(actionsOf(webhooks.worker)).not.toContain('dynamodb:DeleteItem');

    expect(actionsOf(publisher)).toContain('sqs:SendMessage');
    expect(actionsOf(publisher)).toContain('dynamodb:Query');
    expect(actionsOf(publisher)).not.toContain('secretsmanager:GetSecretValue');
    expect(actionsOf(manager)).toContain('secretsmanager:GetSecretValue');
    expect(actionsOf(manager)).toContain('dynamodb:DeleteItem');
    expect(actionsOf(manager)).not.toContain('sqs:SendMessage');
    // Only X-Ray's statement (active tracing) names no resource; everything else names exact ARNs.
    for (const fn of [webhooks.worker, publisher, manager])
      for (const s of statementsOf(fn).filter((s) => !String(s.Action).startsWith('xray:')))
        expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"|\/index\/\*/);
  });

  it('lets the hooks function read exactly the inbound sources’ Secrets Manager secrets', () => {
    const reads = statementsOf(manager).filter((s) => s.Action === 'secretsmanager:GetSecretValue');
    const resources = reads.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(JSON.stringify(resources)).toContain(':secret:failover/hooks/zendesk-??????');
    expect(resources).toContain('arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-hooks-AbC123');
    expect(resources).toHaveLength(2);
  });

  it('passes cdk-nag AwsSolutions, with every acknowledgement reasoned', () => {
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.violations).toEqual([]);
    for (const s of nag.suppressedViolations ?? []) expect(s.reason.length).toBeGreaterThan(30);
    expect(new Set((nag.suppressedViolations ?? []).map((s) => s.ruleName))).toEqual(
      new Set(['AwsSolutions-SMG4', 'AwsSolutions-IAM5[Resource::*]']),
    );
  });
});
