import type { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_STATE_TABLE_NAME } from '../../infra/constructs/state-table.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { alarmCountOf } from '../../shared/cost/model.ts';
import { removeDirs, synthesizeApp, type Synthesized } from '../support/synth-app.ts';

const dirs: string[] = [];
let app: Synthesized;

beforeAll(() => {
  app = synthesizeApp('examples/two-control-regions.yaml', dirs, 'failover-cdk-control-');
}, 240_000);

afterAll(() => removeDirs(dirs));

const queueArnIn = (region: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:sqs:${region}:`, { Ref: 'AWS::AccountId' }, ':failover-observations.fifo'],
  ],
});
const tableArnIn = (region: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:dynamodb:${region}:`,
      { Ref: 'AWS::AccountId' },
      `:table/${GLOBAL_STATE_TABLE_NAME}`,
    ],
  ],
});

const recordSwapZone = (config: FailoverConfig) => {
  const zones = [
    ...new Set(
      config.sites.flatMap((s) => s.dns.filter((r) => r.strategy === 'record-swap').map((r) => r.hostedZoneId)),
    ),
  ];
  expect(zones).toHaveLength(1);
  return zones[0]!;
};

describe('two control regions', () => {
  it('makes the state table a strongly consistent global table: a replica in each control region, the witness, no TTL', () => {
    const template = Template.fromStack(app.stacks.control);
    expect(app.stacks.control.region).toBe('us-west-2');
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: GLOBAL_STATE_TABLE_NAME,
      MultiRegionConsistency: 'STRONG',
      GlobalTableWitnesses: [{ Region: 'us-east-1' }],
      Replicas: [
        Match.objectLike({
          Region: 'us-east-2',
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
        Match.objectLike({ Region: 'us-west-2', DeletionProtectionEnabled: true }),
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1', Projection: { ProjectionType: 'ALL' } })],
      TimeToLiveSpecification: Match.absent(),
      // The AWS-owned key: no KMS request on the failover path.
      SSESpecification: { SSEEnabled: false },
    });
    const table = template.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.values(table)[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('runs a queue, a decider and a dispatcher in the standby region, on the replica there', () => {
    const standby = app.stacks.standby!;
    expect(standby.region).toBe('us-east-2');
    expect(standby.dependencies).toContain(app.stacks.control);
    const template = Template.fromStack(standby);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'failover-observations.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      VisibilityTimeout: 180,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ObservationsQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // The replica's stream ARN has a label only DescribeTable knows: a custom resource reads it, on this table only.
    template.hasResourceProperties('Custom::AWS', {
      Create: Match.serializedJson(Match.objectLike({ service: 'DynamoDB', action: 'describeTable' })),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: tableArnIn('us-east-2') }],
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StateStreamArn'), 'Table.LatestStreamArn'] },
      ParallelizationFactor: 1,
      StartingPosition: 'LATEST',
      FilterCriteria: Match.anyValue(),
    });
    // Both functions read and write the replica in their own region, by its fixed name.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
            Resource: tableArnIn('us-east-2'),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: tableArnIn('us-east-2') }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_TABLE_NAME: GLOBAL_STATE_TABLE_NAME }) },
    });
    // Alerts go out from here too, through topics of its own; no API, agent channel or webhooks.
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    // The decider, the dispatcher, the DNS writer of its record-swap changes, the reconciler and CDK's
    // custom-resource provider.
    expect(functions).toHaveLength(5);
    expect(app.stacks.standby!.dnsWriter).toBeDefined();
  });

  it('runs a DNS reconciler in the standby region on the replica, listing only the record-swap zones', () => {
    const standby = app.stacks.standby!;
    const template = Template.fromStack(standby);
    const reconciler = standby.getLogicalId(standby.reconciler.function.node.defaultChild as CfnResource);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [reconciler, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 },
        // Invocations the Scheduler gives up go to the stack's one dead-letter queue of given-up invocations (alarmed).
        DeadLetterConfig: {
          Arn: {
            'Fn::GetAtt': [
              standby.getLogicalId(standby.failedInvocations.deadLetterQueue.node.defaultChild as CfnResource),
              'Arn',
            ],
          },
        },
      }),
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
      Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
    }[];
    const role = standby.getLogicalId(standby.reconciler.function.role!.node.defaultChild as CfnResource);
    const statements = policies
      .filter((p) => p.Properties.Roles.some((r) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          Resource: tableArnIn('us-east-2'),
        }),
        expect.objectContaining({
          Action: 'route53:ListResourceRecordSets',
          Resource: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, `:route53:::hostedzone/${recordSwapZone(app.config)}`],
            ],
          },
        }),
      ]),
    );
    // Nothing else: no Scan, no writes to Route 53 (repairs go through the outbox and the DNS writer).
    for (const s of statements) expect(JSON.stringify(s.Action)).not.toMatch(/Scan|ChangeResourceRecordSets|\*/);
  });

  it("alarms in the standby region on its own critical topic, on the primary's metrics of the parts it runs", () => {
    const template = Template.fromStack(app.stacks.standby!);
    const critical = Object.entries(template.findResources('AWS::SNS::Topic')).find(([id]) =>
      id.includes('Critical'),
    )![0];
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { AlarmActions: unknown[]; MetricName?: string; Namespace?: string; Threshold: number };
    }[];
    expect(alarms).toHaveLength(9);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: critical }]);
    expect(alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort()).toEqual([
      'AWS/Lambda/Errors',
      'AWS/SQS/ApproximateAgeOfOldestMessage',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'Failover/ActionsFailed',
      'Failover/InvalidMessages',
      'Failover/RecordsDrifted',
      'Failover/RegionsReporting',
      'Failover/SitesNotReconciled',
    ]);
    // Its writer's age, as the primary's: a wanted DNS state older than five minutes in its own queue.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 300,
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [
              app.stacks.standby!.getLogicalId(app.stacks.standby!.dnsWriter!.queue.node.defaultChild as CfnResource),
              'QueueName',
            ],
          },
        },
      ],
    });
    // Every probe region reporting to its decider: the probes only log a round that missed one control region.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RegionsReporting',
      Statistic: 'Minimum',
      Threshold: 3,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowAlarmsOfThisAccount', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('makes as many alarm metrics, both control regions together, as the cost model bills', () => {
    const { control, standby, probes, linkAlarms } = app.stacks;
    const stacks = [control, standby!, ...probes.values(), ...[...linkAlarms.values()].flat()];
    type Alarm = { Properties: { Metrics?: { MetricStat?: unknown }[] } };
    const metrics = stacks
      .flatMap((s) => Object.values(Template.fromStack(s).findResources('AWS::CloudWatch::Alarm')) as Alarm[])
      // A metric-math alarm is billed per metric it reads.
      .reduce((n, a) => n + (a.Properties.Metrics ? a.Properties.Metrics.filter((m) => m.MetricStat).length : 1), 0);
    const count = alarmCountOf(app.config);
    expect(count.standby).toBe(9);
    expect(metrics).toBe(count.total);
  });

  it('sends every round of every probe region to both control regions', () => {
    for (const [region, stack] of app.stacks.probes) {
      expect(stack.dependencies).toEqual(expect.arrayContaining([app.stacks.control, app.stacks.standby]));
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'sqs:SendMessage',
              Resource: [queueArnIn('us-west-2'), queueArnIn('us-east-2'), Match.anyValue()],
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            OBSERVATIONS_QUEUE_URL: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['https://sqs.us-west-2.'])] }),
            STANDBY_OBSERVATIONS_QUEUE_URL: Match.objectLike({
              'Fn::Join': ['', Match.arrayWith(['https://sqs.us-east-2.'])],
            }),
          }),
        },
      });
      expect(region).toMatch(/^(us-east-1|us-west-2|eu-west-1)$/);
    }
  });
});
