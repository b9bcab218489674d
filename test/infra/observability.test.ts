import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatPeriodOf } from '../../infra/constructs/observability.ts';
import { PROBE_ALARM_PREFIX, PROBE_NAMES } from '../../infra/constructs/probe-region.ts';
import { addFailoverStacks, type FailoverStacks } from '../../infra/stacks/failover-app.ts';
import { OUTCOME_STATISTIC, REGIONS_REPORTING_METRIC } from '../../shared/cost/custom-metrics.ts';
import { alarmCountOf } from '../../shared/cost/model.ts';

const dirs: string[] = [];
let example: FailoverStacks;
let small: FailoverStacks;

const logicalId = (c: { node: { defaultChild?: unknown } }) => {
  const resource = c.node.defaultChild as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
};

function synthesize(configFile: string): FailoverStacks {
  const outdir = mkdtempSync(join(tmpdir(), 'failover-observability-'));
  dirs.push(outdir);
  const app = new App({ outdir, context: { config: configFile } });
  const stacks = addFailoverStacks(app);
  app.synth();
  return stacks;
}

type AlarmProps = Record<string, unknown> & { AlarmActions?: unknown[]; Metrics?: unknown[] };
const alarmsOf = (template: Template) =>
  Object.entries(template.findResources('AWS::CloudWatch::Alarm')).map(([id, r]) => ({
    id,
    props: (r as { Properties: AlarmProps }).Properties,
  }));

beforeAll(() => {
  example = synthesize('examples/sites.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'failover-observability-config-'));
  dirs.push(dir);
  const file = join(dir, 'sites.yaml');
  writeFileSync(
    file,
    `version: 1
regions: { probe: [eu-central-1, eu-west-1], control: eu-west-1 }
sites:
  - id: shop
    policy: { intervalSeconds: 300 }
    links:
      - { id: dsl, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: dsl, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
`,
  );
  small = synthesize(file);
}, 300_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the observability construct', () => {
  const critical = (stacks: FailoverStacks) => ({ Ref: logicalId(stacks.control.alerts.critical) });

  it('alarms on every dead-letter queue of the control stack, to the critical topic', () => {
    for (const stacks of [example, small]) {
      const template = Template.fromStack(stacks.control);
      const dlqs = Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) =>
        id.includes('DeadLetterQueue'),
      );
      // Observations (FIFO), webhooks, and the one shared by the dispatcher stream and the schedules (agents or not).
      expect(dlqs.length).toBe(3);
      for (const dlq of dlqs) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 1,
          TreatMissingData: 'notBreaching',
          AlarmActions: [critical(stacks)],
        });
      }
    }
  });

  it('alarms on the actions the dispatcher gave up, one metric; its other failures end in the alarmed DLQ', () => {
    const template = Template.fromStack(example.control);
    const alarm = alarmsOf(template).find((a) => a.id.includes('DispatcherFailures'))!;
    expect(alarm.props).toMatchObject({
      Namespace: 'Failover',
      MetricName: 'ActionsFailed',
      Dimensions: [{ Name: 'service', Value: 'failover-dispatch' }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [critical(example)],
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.props.Metrics).toBeUndefined();
    // Sites that failed and invocations that failed are retried by the stream, then described in the shared DLQ.
    const shared = example.control.failedInvocations.deadLetterQueue;
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(example.control.dispatcher.function) },
      MaximumRetryAttempts: 5,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(shared), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(shared), 'QueueName'] } }],
      AlarmActions: [critical(example)],
    });
  });

  it.each([
    [
      'InvalidMessages',
      {
        Namespace: 'Failover',
        MetricName: 'InvalidMessages',
        Dimensions: [{ Name: 'service', Value: 'failover-decide' }],
      },
      1,
    ],
    ['ReconcilerErrors', { Namespace: 'AWS/Lambda', MetricName: 'Errors' }, 2],
    [
      'SitesNotReconciled',
      {
        Namespace: 'Failover',
        MetricName: 'SitesNotReconciled',
        Dimensions: [{ Name: 'service', Value: 'failover-reconcile' }],
      },
      3,
    ],
    [
      'RecordsDrifted',
      {
        Namespace: 'Failover',
        MetricName: 'RecordsDrifted',
        Dimensions: [{ Name: 'service', Value: 'failover-reconcile' }],
      },
      2,
    ],
  ])('alarms on %s, one metric, after %i periods of 5 minutes', (name, metric, periods) => {
    const alarm = alarmsOf(Template.fromStack(example.control)).find((a) =>
      a.id.startsWith(`Observability${name}Alarm`),
    );
    expect(alarm, name).toBeDefined();
    expect(alarm!.props).toMatchObject({
      ...metric,
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: periods,
      DatapointsToAlarm: periods,
      AlarmActions: [critical(example)],
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when a probe region stops reporting with one metric: the minimum of regions reporting, no data breaching', () => {
    for (const stacks of [example, small]) {
      const template = Template.fromStack(stacks.control);
      const { config } = stacks.appConfig;
      const silent = alarmsOf(template).filter((a) => JSON.stringify(a.props).includes(REGIONS_REPORTING_METRIC));
      expect(silent).toHaveLength(1);
      expect(silent[0]!.props).toMatchObject({
        Namespace: 'Failover',
        MetricName: REGIONS_REPORTING_METRIC,
        Dimensions: [{ Name: 'service', Value: 'failover-decide' }],
        Statistic: 'Minimum',
        Period: heartbeatPeriodOf(config).toSeconds(),
        EvaluationPeriods: 1,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: config.regions.probe.length,
        TreatMissingData: 'breaching',
        AlarmActions: [critical(stacks)],
      });
      expect(silent[0]!.props.Metrics).toBeUndefined();
    }
    expect(heartbeatPeriodOf(example.appConfig.config).toMinutes()).toBe(5);
    expect(heartbeatPeriodOf(small.appConfig.config).toMinutes()).toBe(15);
  });

  it("sends the probe regions' alarms to the critical topic through an EventBridge rule with a role of its own", () => {
    const template = Template.fromStack(example.control);
    const { alerts } = example.control;
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as {
      Properties: { EventPattern: unknown; Targets: { Arn: unknown; RoleArn: { 'Fn::GetAtt': [string, string] } }[] };
    };
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: [{ prefix: PROBE_ALARM_PREFIX }], state: { value: ['ALARM'] } },
    });
    expect(rule.Properties.Targets[0]!.Arn).toEqual(critical(example));
    const role = rule.Properties.Targets[0]!.RoleArn['Fn::GetAtt'][0];
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } });
    const statements = Object.values(policies).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: critical(example) },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: { 'Fn::GetAtt': [logicalId(alerts.key), 'Arn'] },
      },
    ]);
  });

  it("lets this account's alarms publish to the encrypted critical topic, and nothing else new", () => {
    const template = Template.fromStack(example.control);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [critical(example)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('notifies the critical topic from every alarm it makes, and none from the DNS failover alarms', () => {
    const template = Template.fromStack(example.control);
    for (const { id, props } of alarmsOf(template)) {
      if (id.startsWith('Observability')) expect(props.AlarmActions, id).toEqual([critical(example)]);
      else expect(props.AlarmActions, id).toBeUndefined();
    }
  });

  it('has a dashboard with the per-region probe metrics and cross-region widgets of the probe functions', () => {
    const template = Template.fromStack(example.control);
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify((dashboards[0] as { Properties: { DashboardBody: unknown } }).Properties.DashboardBody);
    for (const region of example.appConfig.config.regions.probe) {
      expect(body).toContain(`\\"region\\":\\"${region}\\"`);
      expect(body).toContain(`\\"Region\\",\\"${region}\\"`);
    }
    for (const text of [
      'ProbeOutcome',
      'ProbeLatency',
      'DecisionLatency',
      'ActionLatency',
      REGIONS_REPORTING_METRIC,
      PROBE_NAMES.function,
      PROBE_NAMES.deadLetterQueue,
    ])
      expect(body).toContain(text);
    expect(body).toContain(OUTCOME_STATISTIC.down);
  });

  it('makes as many alarm metrics as the cost model bills, link alarms included', () => {
    for (const stacks of [example, small]) {
      const linkAlarms = [...stacks.linkAlarms.values()].flat();
      const templates = [stacks.control, ...stacks.probes.values(), ...linkAlarms].map((s) => Template.fromStack(s));
      const metrics = templates
        .flatMap(alarmsOf)
        .reduce(
          (n, a) =>
            n +
            (a.props.Metrics ? (a.props.Metrics as { MetricStat?: unknown }[]).filter((m) => m.MetricStat).length : 1),
          0,
        );
      expect(metrics).toBe(alarmCountOf(stacks.appConfig.config).total);
    }
    // examples/sites.yaml has three probe regions, record-swap records and one gated record on a site of two checked
    // links: 3 DLQs, dispatcher, DNS writer, regions, invalid messages, the reconciler's three; per probe region its
    // DLQ, FailedPublishes, SkippedChecks, StaleRounds and FailedHealthPublishes; 2 link alarms each.
    expect(alarmCountOf(example.appConfig.config).total).toBe(3 + 1 + 1 + 1 + 1 + 3 + 3 * 5 + 3 * 2);
  });
});
