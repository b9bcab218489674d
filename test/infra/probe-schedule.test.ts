import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_ALARM_PREFIX, PROBE_NAMES } from '../../infra/constructs/probe-region.ts';
import { ProbeStack } from '../../infra/stacks/probe-stack.ts';
import { TWO_REGION_CONFIG } from '../support/two-region-config.ts';

const CONFIG = TWO_REGION_CONFIG;
const BUDGET_MS = 48_000;
const dirs: string[] = [];
let remote: ProbeStack;
let local: ProbeStack;

const logicalId = (c: { node: { defaultChild?: unknown } }) => {
  const resource = c.node.defaultChild as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
};
const arnOf = (c: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [logicalId(c), 'Arn'] });

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

beforeAll(() => {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-probe-schedule-'));
  dirs.push(outdir);
  const app = new App({ outdir });
  const props = {
    configYaml: CONFIG,
    controlRegion: 'eu-west-1',
    roundBudgetMs: BUDGET_MS,
    contacts: [],
    publishesLinkHealth: false,
  };
  remote = new ProbeStack(app, 'Remote', { ...props, env: { region: 'eu-central-1' } });
  local = new ProbeStack(app, 'Local', { ...props, env: { region: 'eu-west-1' } });
}, 60_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('probe scheduling without idle waiting', () => {
  it('has a standard round queue, encrypted and TLS only, whose failed tickets go to a DLQ after one receive', () => {
    const template = Template.fromStack(remote);
    const { roundQueue, deadLetterQueue } = remote.probe;
    // The round queue and the one dead-letter queue of the region.
    template.resourceCountIs('AWS::SQS::Queue', 2);
    const queues = template.findResources('AWS::SQS::Queue');
    expect(queues[logicalId(roundQueue)]!.Properties).toEqual({
      QueueName: PROBE_NAMES.roundQueue,
      SqsManagedSseEnabled: true,
      // Six times the function's timeout (budget + 30 s), as AWS asks of SQS event sources.
      VisibilityTimeout: 6 * (BUDGET_MS / 1000 + 30),
      MessageRetentionPeriod: 3600,
      RedrivePolicy: { deadLetterTargetArn: arnOf(deadLetterQueue), maxReceiveCount: 1 },
    });
    expect(queues[logicalId(deadLetterQueue)]!.Properties).toEqual({
      QueueName: PROBE_NAMES.deadLetterQueue,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
    for (const queue of [roundQueue, deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
        },
      });
    }
  });

  it('ticks the function every minute, and the function consumes the round queue one ticket at a time', () => {
    const template = Template.fromStack(remote);
    const fn = logicalId(remote.probe.function);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: arnOf(remote.probe.deadLetterQueue) },
      },
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(remote.probe.roundQueue),
      FunctionName: { Ref: fn },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: PROBE_NAMES.function,
      // One round per invocation: its budget and a margin, no minute of waiting.
      Timeout: BUDGET_MS / 1000 + 30,
      TracingConfig: Match.absent(),
      // A tick that fails is not retried (EventInvokeConfig) but recorded in the region's one DLQ.
      DeadLetterConfig: { TargetArn: arnOf(remote.probe.deadLetterQueue) },
      Environment: { Variables: Match.objectLike({ ROUNDS_QUEUE_URL: { Ref: logicalId(remote.probe.roundQueue) } }) },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('scopes the function to the queue ARNs: send to the observations queue, its round queue and DLQ, consume the round queue', () => {
    const template = Template.fromStack(remote);
    const statements = statementsOf(template, logicalId(remote.probe.function.executionRole));
    const rounds = arnOf(remote.probe.roundQueue);
    const sqs = statements.filter((s) => String(s.Action).includes('sqs:'));
    expect(sqs).toEqual([
      // Lambda itself sends the failed ticks to the DLQ, as the function's role.
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arnOf(remote.probe.deadLetterQueue) },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: [expect.anything(), rounds] },
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
    ]);
    expect(JSON.stringify((sqs[1]!.Resource as unknown[])[0])).toContain(':sqs:eu-west-1:');
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toContain('"*"');
  });

  it('alarms on its dead-letter queue, FailedPublishes, SkippedChecks and StaleRounds, on its own topic, and forwards them to the control region', () => {
    const template = Template.fromStack(remote);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => (r as { Properties: Record<string, unknown> }).Properties,
    );
    // The function's errors all land in the DLQ (ticks through its DeadLetterConfig, rounds after one receive), and
    // so do ticks the Scheduler could not deliver: one alarm metric per region covers them. Observations that did not
    // reach the control queue are counted by the function: an alarm of this region, not of the control region.
    const topic = { Ref: logicalId(remote.alerts.topic) };
    expect(alarms).toEqual([
      {
        AlarmName: `${PROBE_ALARM_PREFIX}eu-central-1-dlq`,
        AlarmDescription: expect.stringContaining('The probe function failed in eu-central-1'),
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(remote.probe.deadLetterQueue), 'QueueName'] } },
        ],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      },
      {
        AlarmName: `${PROBE_ALARM_PREFIX}eu-central-1-failed-publishes`,
        AlarmDescription: expect.stringContaining("did not reach the control region's queue (FailedPublishes)"),
        Namespace: 'Failover',
        MetricName: 'FailedPublishes',
        Dimensions: [{ Name: 'service', Value: 'failover-probe' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      },
      // A check a round skipped, or a round dropped late: this region abstains where it should have voted.
      ...[
        ['skipped-checks', 'SkippedChecks', 'skipped checks (SkippedChecks)'],
        ['stale-rounds', 'StaleRounds', 'dropped unrun (StaleRounds)'],
      ].map(([suffix, metric, says]) => ({
        AlarmName: `${PROBE_ALARM_PREFIX}eu-central-1-${suffix}`,
        AlarmDescription: expect.stringContaining(says!),
        Namespace: 'Failover',
        MetricName: metric,
        Dimensions: [{ Name: 'service', Value: 'failover-probe' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      })),
    ]);
    // The region's own topic, with TLS enforced; no contact here, so no subscription.
    expect(template.findResources('AWS::SNS::Topic')[logicalId(remote.alerts.topic)]!.Properties).toEqual({
      TopicName: 'failover-probe-alerts',
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    // Alarm actions publish as the CloudWatch service, for this account's alarms of this region only.
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topic,
            Condition: {
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          },
        ]),
      },
    });
    const bus = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:', { Ref: 'AWS::AccountId' }, ':event-bus/default'],
      ],
    };
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: remote.probe.alarms.map((a) => ({ 'Fn::GetAtt': [logicalId(a), 'Arn'] })),
      },
      Targets: [Match.objectLike({ Arn: bus })],
    });
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as {
      Properties: { Targets: { RoleArn: { 'Fn::GetAtt': [string, string] } }[] };
    };
    expect(statementsOf(template, rule.Properties.Targets[0]!.RoleArn['Fn::GetAtt'][0])).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: bus },
    ]);
  });

  it('forwards nothing from the control region itself: its alarms are on its default bus already', () => {
    const template = Template.fromStack(local);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.resourceCountIs('AWS::Events::Rule', 0);
  });
});
