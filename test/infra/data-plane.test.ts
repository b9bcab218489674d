import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculatedHealthThreshold } from '../../shared/config/data-plane.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { dnsResourceCount } from '../../infra/constructs/dns-failover.ts';
import { addDataPlaneStacks } from '../../infra/stacks/failover-app.ts';
import { dnsShards, MAX_DATA_PLANE_RESOURCES } from '../../infra/stacks/data-plane-stacks.ts';
import { DataPlaneModel, type DataPoint } from '../support/data-plane-model.ts';
import { removeDirs, synthesizeApp, type Synthesized } from '../support/synth-app.ts';

const run = promisify(execFile);
const dirs: string[] = [];

const synthesize = (configFile: string): Synthesized => synthesizeApp(configFile, dirs, 'failover-dataplane-');

/** `sites` sites of two checked links and `records` health-check-gated records each, three probe regions. */
function fleetYaml(sites: number, records: number): string {
  const lines = [
    'version: 1',
    'regions: { probe: [eu-west-1, us-west-2, us-east-2], control: eu-central-1 }',
    'sites:',
  ];
  for (let i = 0; i < sites; i++) {
    const a = `10.${i >> 8}.${i & 255}.1`;
    const b = `10.${i >> 8}.${i & 255}.2`;
    lines.push(
      `  - id: s${i}`,
      `    links: [{ id: fiber, role: primary, address: ${a} }, { id: lte, role: backup, address: ${b} }]`,
      `    checks: [{ id: f, link: fiber, tcp: { host: ${a}, port: 443 } }, { id: l, link: lte, tcp: { host: ${b}, port: 443 } }]`,
      '    dns:',
    );
    for (let r = 0; r < records; r++)
      lines.push(
        `      - { zone: example.com, hostedZoneId: Z0123456789EXAMPLE, name: r${r}.s${i}.example.com, type: A, strategy: health-check-gated, values: { fiber: [${a}], lte: [${b}] } }`,
      );
  }
  return lines.join('\n') + '\n';
}

const logicalId = (c: { node: { defaultChild?: unknown } } | CfnResource) => {
  const resource = ('attrHealthCheckId' in c ? c : c.node.defaultChild) as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
};

let example: Synthesized;
let fleet: { stacks: ReturnType<typeof addDataPlaneStacks>; assembly: CloudAssembly; config: FailoverConfig };

beforeAll(() => {
  example = synthesize('examples/sites.yaml');
  // 500 sites of two data-plane links each: 1,000 site links, 500 records. The data plane's stacks alone, under
  // cdk-nag as in the app: the function stacks inline the whole configuration into each bundle's esbuild command
  // line, which a configuration this size overflows (E2BIG; issue 14's cold-start item ships it otherwise).
  const { config, diagnostics } = parseConfig(fleetYaml(500, 1));
  expect(diagnostics).toEqual([]);
  const outdir = mkdtempSync(join(tmpdir(), 'failover-fleet-out-'));
  dirs.push(outdir);
  const app = new App({ outdir });
  const stacks = addDataPlaneStacks(app, config!);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  fleet = { stacks, assembly: app.synth(), config: config! };
}, 600_000);

afterAll(() => {
  removeDirs(dirs);
});

describe('the data plane of examples/sites.yaml (one health-check-gated record, three probe regions)', () => {
  it("alarms in each probe region on that region's LinkHealth of each data-plane link, on the region's own topic", () => {
    const { stacks, config } = example;
    const hq = config.sites.find((s) => s.id === 'hq')!;
    for (const region of config.regions.probe) {
      const [alarmStack, ...more] = stacks.linkAlarms.get(region)!;
      expect(more).toEqual([]);
      expect(alarmStack!.region).toBe(region);
      expect(alarmStack!.dependencies).toContain(stacks.probes.get(region));
      const template = Template.fromStack(alarmStack!);
      template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
      const topic = {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:sns:${region}:`, { Ref: 'AWS::AccountId' }, ':failover-probe-alerts'],
        ],
      };
      for (const link of ['fiber', 'lte'])
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `failover-link-hq-${link}`,
          Namespace: 'Failover',
          MetricName: 'LinkHealth',
          Dimensions: [
            { Name: 'Link', Value: link },
            { Name: 'Site', Value: 'hq' },
          ],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: hq.policy.failureThreshold,
          DatapointsToAlarm: hq.policy.failureThreshold,
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [topic],
          OKActions: [topic],
        });
    }
  });

  it('makes per site link a CLOUDWATCH_METRIC check per region and a CALCULATED one at R - Q + 1; PRIMARY and SECONDARY on them', () => {
    const { stacks, config } = example;
    const [dnsStack, ...more] = stacks.dns;
    expect(more).toEqual([]);
    for (const alarms of stacks.linkAlarms.values())
      expect(dnsStack!.dependencies).toEqual(expect.arrayContaining([...alarms]));
    const template = Template.fromStack(dnsStack!);
    const regions = config.regions.probe;
    template.resourcePropertiesCountIs(
      'AWS::Route53::HealthCheck',
      { HealthCheckConfig: { Type: 'CLOUDWATCH_METRIC' } },
      6,
    );
    template.resourcePropertiesCountIs('AWS::Route53::HealthCheck', { HealthCheckConfig: { Type: 'CALCULATED' } }, 2);
    const [fiber, lte] = dnsStack!.dns.links;
    for (const link of [fiber!, lte!]) {
      for (const region of regions)
        template.hasResourceProperties('AWS::Route53::HealthCheck', {
          HealthCheckConfig: {
            Type: 'CLOUDWATCH_METRIC',
            AlarmIdentifier: { Region: region, Name: `failover-link-hq-${link.link}` },
            InsufficientDataHealthStatus: 'Healthy',
          },
        });
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: {
          Type: 'CALCULATED',
          // Three regions, a majority quorum of 2: healthy while 2 of the 3 region checks are.
          HealthThreshold: calculatedHealthThreshold(3, 2),
          ChildHealthChecks: regions.map((r) => ({ 'Fn::GetAtt': [logicalId(link.regions.get(r)!), 'HealthCheckId'] })),
        },
      });
    }
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
    const common = { HostedZoneId: 'Z0123456789EXAMPLE', Name: 'vpn.example.com.', Type: 'A', TTL: '60' };
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      ...common,
      Failover: 'PRIMARY',
      SetIdentifier: 'hq-primary',
      HealthCheckId: { 'Fn::GetAtt': [logicalId(fiber!.calculated), 'HealthCheckId'] },
      ResourceRecords: ['203.0.113.10'],
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      ...common,
      Failover: 'SECONDARY',
      SetIdentifier: 'hq-secondary',
      HealthCheckId: { 'Fn::GetAtt': [logicalId(lte!.calculated), 'HealthCheckId'] },
      ResourceRecords: ['198.51.100.20'],
    });
  });

  it('answers as the quorum says, in the model of CloudWatch and Route 53 (test/support/data-plane-model.ts)', () => {
    const model = new DataPlaneModel(
      example.assembly.stacks.map((s) => ({ region: s.environment.region, template: s.template })),
    );
    const regions = example.config.regions.probe;
    const at = Date.UTC(2026, 11, 3, 12, 10);
    // The last few minutes of one region's word on a link: `down` rounds at the end, healthy before.
    const word = (down: number): DataPoint[] =>
      Array.from({ length: 5 }, (_, i) => ({ atMs: at - (5 - i) * 60_000 + 20_000, value: i >= 5 - down ? 0 : 1 }));
    const points = (fiberDown: string[], lteDown: string[] = []) =>
      new Map(
        regions.flatMap((r) => [
          [`${r}/failover-link-hq-fiber`, word(fiberDown.includes(r) ? 5 : 0)],
          [`${r}/failover-link-hq-lte`, word(lteDown.includes(r) ? 5 : 0)],
        ]),
      );
    const answer = (p: Map<string, DataPoint[]>) => model.answer('vpn.example.com.', 'A', p, at).failover;
    expect(answer(points([]))).toBe('PRIMARY');
    expect(answer(points([regions[0]!]))).toBe('PRIMARY');
    expect(answer(points([regions[0]!, regions[2]!]))).toBe('SECONDARY');
    // Both links down from a quorum: Route 53 keeps the PRIMARY, as the decider does not switch to a dead backup.
    expect(answer(points([...regions], [...regions]))).toBe('PRIMARY');
    // Silent regions abstain: no data is healthy.
    expect(answer(new Map())).toBe('PRIMARY');
  });

  it('gives the probe function PutMetricData in the Failover namespace only, and alarms on failed health puts', () => {
    for (const stack of example.stacks.probes.values()) {
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'cloudwatch:PutMetricData',
              Resource: '*',
              Condition: { StringEquals: { 'cloudwatch:namespace': 'Failover' } },
            },
          ],
        },
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `failover-probe-${stack.region}-failed-health-publishes`,
        MetricName: 'FailedHealthPublishes',
        Dimensions: [{ Name: 'service', Value: 'failover-probe' }],
        AlarmActions: [{ Ref: logicalId(stack.alerts.topic) }],
      });
      // Every critical contact of the configuration (noc by email and SMS, it-lead by email), no site filter.
      const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription')).map((r) => r.Properties);
      expect(subscriptions).toEqual(
        expect.arrayContaining([
          { TopicArn: { Ref: logicalId(stack.alerts.topic) }, Protocol: 'email', Endpoint: 'noc@example.com' },
          { TopicArn: { Ref: logicalId(stack.alerts.topic) }, Protocol: 'sms', Endpoint: '+15555550100' },
          { TopicArn: { Ref: logicalId(stack.alerts.topic) }, Protocol: 'email', Endpoint: 'it-lead@example.com' },
        ]),
      );
      expect(subscriptions).toHaveLength(3);
    }
  });
});

describe('a fleet: 500 sites, 1,000 data-plane site links', () => {
  it('synthesizes with every data-plane stack under 500 resources, the DNS in stacks of their own', () => {
    const counts = fleet.assembly.stacks.map(
      (s) => [s.stackName, Object.keys(s.template.Resources ?? {}).length] as const,
    );
    for (const [name, n] of counts) expect(n, name).toBeLessThan(500);
    // 10 DNS resources a site (2 links x (3 regions + 1 calculated) + 2 records): 45 sites a stack.
    expect(fleet.stacks.dns).toHaveLength(Math.ceil(500 / Math.floor(MAX_DATA_PLANE_RESOURCES / 10)));
    // 1,000 alarms per probe region, 450 a stack.
    for (const stacks of fleet.stacks.linkAlarms.values()) expect(stacks).toHaveLength(3);
    const all = (type: string) =>
      fleet.assembly.stacks.reduce(
        (n, s) =>
          n + Object.values(s.template.Resources ?? {}).filter((r) => (r as { Type: string }).Type === type).length,
        0,
      );
    expect(all('AWS::CloudWatch::Alarm')).toBeGreaterThanOrEqual(3 * 1000);
    expect(all('AWS::Route53::HealthCheck')).toBe(1000 * 4);
    expect(all('AWS::Route53::RecordSet')).toBe(500 * 2);
  });

  it('passes cdk-nag: nothing to acknowledge in the data-plane stacks', () => {
    const report = JSON.parse(readFileSync(join(fleet.assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[]; suppressedViolations?: unknown[] }[];
    };
    for (const r of report.pluginReports) expect([r.violations, r.suppressedViolations ?? []]).toEqual([[], []]);
  });

  it('passes cfn-lint: a DNS stack and a link alarm stack', async () => {
    const dns = fleet.assembly.getStackByName('Failover-Dns-1');
    const alarms = fleet.assembly.getStackByName('Failover-LinkAlarms-eu-west-1-1');
    const files = [dns, alarms].map((s) => join(fleet.assembly.directory, s.templateFile));
    const result = await run('cfn-lint', ['--ignore-checks', 'W3005', '--', ...files]).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect('code' in result ? result.stdout : '').toBe('');
  }, 300_000);

  it('would have failed as one stack: a site too big for a stack is refused by name', () => {
    const big = parseConfig(fleetYaml(1, 250)).config!;
    expect(() => addDataPlaneStacks(new App(), big)).toThrow(
      'site s0 needs 508 Route 53 resources for its health-check-gated records, more than one stack holds (450): split its records over more sites',
    );
    // 120 records over 12 sites (587 resources in the control stack before): one health check set per site link,
    // so 12 x (2 x 4 + 10 x 2) = 336 resources, one DNS stack.
    const twelve = parseConfig(fleetYaml(12, 10)).config!;
    const shards = dnsShards(twelve);
    expect(shards.map((s) => s.reduce((n, site) => n + dnsResourceCount(site, 3), 0))).toEqual([336]);
  });
});
