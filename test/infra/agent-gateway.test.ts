import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentGateway, agentChannelThrottle } from '../../infra/constructs/agent-gateway.ts';
import { addFailoverStacks } from '../../infra/stacks/failover-app.ts';
import { FailoverFunction } from '../../infra/constructs/failover-function.ts';
import { StateTable } from '../../infra/constructs/state-table.ts';
import { TWO_REGION_CONFIG } from '../support/two-region-config.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

// Validated at synthesis, like every configuration a function carries.
const CONFIG = TWO_REGION_CONFIG;
let outdir: string;
let stack: Stack;
let gateway: AgentGateway;
let dispatcher: FailoverFunction;
let template: Template;
let table: StateTable;
let nag: { violations: unknown[]; suppressedViolations?: { ruleName: string }[] };

const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnResource);

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'failover-agent-cdk-'));
  // No bundling: this file looks at the gateway's resources and permissions, the app test at the bundles.
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'AgentGatewayTest', { env: { region: 'eu-west-1' } });
  table = new StateTable(stack, 'State');
  gateway = new AgentGateway(stack, 'AgentGateway', {
    configYaml: CONFIG,
    table,
    stageName: 'v1',
    rateLimit: 10,
    webSocketAccessLogs: true,
  });
  dispatcher = new FailoverFunction(stack, 'Dispatcher', { entry: 'functions/dispatch/handler.ts', serviceName: 'x' });
  gateway.grantIssueCommands(dispatcher);
  for (const [k, v] of Object.entries(gateway.commandEnvironment)) dispatcher.addEnvironment(k, v);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  template = Template.fromStack(stack);
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: unknown[]; suppressedViolations?: { ruleName: string }[] }[];
  };
  nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
}, 60_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('AgentGateway', () => {
  it('lets a dispatcher issue commands: the signing key, command items, and PostToConnection on its stage only', () => {
    const role = id(dispatcher.executionRole);
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
    });
    const statements = Object.values(policies).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: id(gateway.signingKey) } },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          Resource: { 'Fn::GetAtt': [id(table.table), 'Arn'] },
          Condition: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AGENT#*'] },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
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
                ':execute-api:eu-west-1:',
                { Ref: 'AWS::AccountId' },
                ':',
                { Ref: id(gateway.webSocketApi) },
                '/v1/POST/@connections/*',
              ],
            ],
          },
        },
      ]),
    );
    const env = (
      template.findResources('AWS::Lambda::Function')[id(dispatcher)]!.Properties as {
        Environment: { Variables: Record<string, unknown> };
      }
    ).Environment.Variables;
    expect(env).toMatchObject({
      AGENT_SIGNING_KEY_SECRET_ARN: { Ref: id(gateway.signingKey) },
      AGENT_CALLBACK_URL: expect.objectContaining({ 'Fn::Join': expect.anything() }),
    });
  });

  it.each([
    ['authorizer', () => gateway.authorizerFunction, 'dynamodb:PutItem', ['REPLAY#*']],
    [
      'gateway',
      () => gateway.gatewayFunction,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      ['AGENT#*', 'REPLAY#*', 'SITE#*', 'HISTORY#*', 'MAINTENANCE#*', 'FLEET*'],
    ],
    [
      'sweep',
      () => gateway.sweepFunction,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      ['AGENT#*', 'SITE#*'],
    ],
  ])('holds the %s function to its item families in the table, and to nothing else there', (_, fn, actions, keys) => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: id(fn().executionRole) }]) },
    });
    const onTable = Object.values(policies)
      .flatMap(
        (p) =>
          (p as { Properties: { PolicyDocument: { Statement: { Action: unknown }[] } } }).Properties.PolicyDocument
            .Statement,
      )
      .filter((st) => [st.Action].flat().some((a) => String(a).startsWith('dynamodb:')));
    expect(onTable).toEqual([
      {
        Effect: 'Allow',
        Action: actions,
        Resource: { 'Fn::GetAtt': [id(table.table), 'Arn'] },
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
    ]);
  });

  it('writes WebSocket access logs when asked to, on the named stage, with its throttle', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: id(gateway.webSocketApi) },
      StageName: 'v1',
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
    });
    const format = (
      Object.values(template.findResources('AWS::ApiGatewayV2::Stage')).find(
        (r) => (r as { Properties: { StageName: string } }).Properties.StageName === 'v1',
      ) as { Properties: { AccessLogSettings: { Format: string } } }
    ).Properties.AccessLogSettings.Format;
    // The connect query string holds the agent's signature: it must never reach a log.
    expect(format).not.toMatch(/querystring|request\.query|header/i);
  });

  it('passes cdk-nag, acknowledging no missing access log then', () => {
    expect(nag.violations).toEqual([]);
    const rules = new Set((nag.suppressedViolations ?? []).map((s) => s.ruleName));
    expect(rules.has('AwsSolutions-APIG1')).toBe(false);
    expect(rules.has('AwsSolutions-SMG4')).toBe(true);
  });
});

describe('the agent channel throttle, sized from the fleet', () => {
  it.each([
    [0, 50, 100],
    [1, 50, 100],
    [300, 50, 100],
    [301, 51, 102],
    [1200, 200, 400],
    // The issue's fleet: 5,000 agents with 20 s heartbeats need 250 requests/s; polling agents about 417.
    [5000, 834, 1668],
  ])('%i agents: %i requests/s, burst %i', (agents, rateLimit, burstLimit) => {
    expect(agentChannelThrottle(agents)).toEqual({ rateLimit, burstLimit });
  });

  it("gives the control stack's agent stages the throttle of the configuration's agents", () => {
    const dir = mkdtempSync(join(tmpdir(), 'failover-agent-fleet-'));
    try {
      const key = 'xB2O6o8kS5BGX6ZkoTtVxpUn91FghSmQXa9n1Z3kXD0=';
      const sites = Array.from({ length: 420 }, (_, i) => ({ id: `site-${i}`, agentKey: key }));
      const file = join(dir, 'sites.yaml');
      writeFileSync(file, twoLinkConfigYaml({ sites, control: 'eu-west-1' }));
      const app = new App({ outdir: join(dir, 'out'), context: { config: file, 'aws:cdk:bundling-stacks': [] } });
      const { control } = addFailoverStacks(app);
      const stages = Object.values(Template.fromStack(control).findResources('AWS::ApiGatewayV2::Stage'));
      const throttles = stages.map(
        (r) => (r as { Properties: { DefaultRouteSettings: object } }).Properties.DefaultRouteSettings,
      );
      // The agents' WebSocket and HTTP stages, and the public API's at its own 50/s.
      expect(throttles).toHaveLength(3);
      expect(throttles).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ ThrottlingRateLimit: 70, ThrottlingBurstLimit: 140 }),
          expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
        ]),
      );
      expect(throttles.filter((t) => (t as { ThrottlingRateLimit: number }).ThrottlingRateLimit === 70)).toHaveLength(
        2,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
