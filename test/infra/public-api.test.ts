import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../shared/api/routes.ts';
import { WEB_ROUTES } from '../../shared/api/web-assets.ts';
import { parseConfig } from '../../shared/config/load.ts';
import { ControlStack } from '../../infra/stacks/control-stack.ts';

const YAML = `version: 1
regions: { probe: [us-east-1, us-west-2, eu-west-1], control: eu-west-1 }
sites:
  - id: shop
    links:
      - { id: dsl, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: dsl, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
integrations:
  inbound:
    - { source: crm, scheme: stripe, secret: { secretsManager: failover/crm-hook }, allow: [failover], sites: [shop] }
    - { source: itsm, scheme: standard-webhooks, secret: { env: ITSM_SECRET }, allow: [maintenance.open], sites: ['*'] }
`;

let outdir: string;
let stack: ControlStack;
let template: Template;
let assembly: CloudAssembly;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'failover-api-cdk-'));
  const app = new App({ outdir });
  stack = new ControlStack(app, 'Failover-Control', {
    env: { region: 'eu-west-1' },
    configYaml: YAML,
    config: parseConfig(YAML).config!,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assembly = app.synth();
  template = Template.fromStack(stack);
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  Stack.of(stack).getLogicalId(c.node.defaultChild as CfnResource);

describe('the public API construct', () => {
  it('has one route per route table entry plus $default, all on one Lambda proxy integration (payload 2.0)', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => (r as { Properties: { RouteKey: string; Target: unknown } }).Properties,
    );
    // The pages' routes (WebConsole) have their own function: test/infra/web-console.test.ts.
    const pages = new Set<string>(WEB_ROUTES.map((r) => `${r.method} ${r.path}`));
    const api = routes.filter((r) => !pages.has(r.RouteKey));
    expect(api.map((r) => r.RouteKey).sort()).toEqual(
      [...API_ROUTES.map((r) => `${r.method} ${r.path}`), '$default'].sort(),
    );
    expect(new Set(api.map((r) => JSON.stringify(r.Target))).size).toBe(1);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(stack.api.function), 'Arn'] },
    });
  });

  it('throttles the $default stage and writes JSON access logs without headers to their own log group', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: {
          'Fn::GetAtt': [logicalId({ node: { defaultChild: stack.api.accessLogs.node.defaultChild } }), 'Arn'],
        },
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
    });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as {
      Properties: { AccessLogSettings: { Format: string } };
    };
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(Object.values(format).join(' ')).not.toMatch(/header|authorization|querystring|body/i);
  });

  it('runs the API function with the table and the pepper secret, and lets API Gateway invoke it per route', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Timeout: 25,
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'failover-api',
          STATE_TABLE_NAME: { Ref: logicalId(stack.state.table) },
          API_KEY_PEPPER_SECRET_ARN: { Ref: logicalId({ node: { defaultChild: stack.api.pepper.node.defaultChild } }) },
          CRITICAL_TOPIC_ARN: { Ref: logicalId(stack.alerts.critical) },
          WARNING_TOPIC_ARN: { Ref: logicalId(stack.alerts.warning) },
        }),
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'failover/api-key-pepper',
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: { 'Fn::GetAtt': [logicalId(stack.api.function), 'Arn'] } },
      }),
    ) as { Properties: { Principal: string; SourceArn: unknown } }[];
    expect(permissions).toHaveLength(API_ROUTES.length + 1);
    for (const p of permissions) {
      expect(p.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(logicalId(stack.api.httpApi));
    }
  });

  it('grants the function its table items, the pepper, the critical topic, the webhook key ring and the inbound secrets; nothing more', () => {
    const role = logicalId({ node: { defaultChild: stack.api.function.executionRole.node.defaultChild } });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    );
    const table = logicalId(stack.state.table);
    const secret = logicalId({ node: { defaultChild: stack.api.pepper.node.defaultChild } });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: {
          'Fn::GetAtt': [
            logicalId({ node: { defaultChild: stack.api.function.functionLogGroup.node.defaultChild } }),
            'Arn',
          ],
        },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        Resource: [
          { 'Fn::GetAtt': [table, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/gsi1']] },
        ],
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: secret },
      },
      // The brake's release alert (POST /v1/brake/release): the critical topic only, and its key.
      { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: logicalId(stack.alerts.critical) } },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.alerts.key), 'Arn'] },
      },
      // The webhook subscription routes (WebhookDelivery.grantManage): subscriptions, delivery logs, the key ring.
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        Resource: [
          { 'Fn::GetAtt': [table, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [table, 'Arn'] }, '/index/gsi1']] },
        ],
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: logicalId({ node: { defaultChild: stack.webhooks.keySecret.node.defaultChild } }) },
      },
      // The inbound sources' signing secrets named in sites.yaml, and no other.
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':secretsmanager:eu-west-1:',
              { Ref: 'AWS::AccountId' },
              ':secret:failover/crm-hook-??????',
            ],
          ],
        },
      },
    ]);
  });

  it('outputs the API URL and the dashboard URL', () => {
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalId(stack.api.httpApi), 'ApiEndpoint'] } });
    template.hasOutput('DashboardUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.api.httpApi), 'ApiEndpoint'] }, '/']] },
    });
  });

  it('passes cdk-nag, the API acknowledging only its own authorization and the unrotated pepper, with reasons', () => {
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: unknown[];
        suppressedViolations?: { ruleName: string; reason: string; violatingConstructs?: unknown }[];
      }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.violations).toEqual([]);
    const suppressed = nag.suppressedViolations ?? [];
    for (const s of suppressed) expect(s.reason.length).toBeGreaterThan(30);
    const rules = new Set(suppressed.map((s) => s.ruleName));
    expect(rules.has('AwsSolutions-APIG4')).toBe(true);
    expect(rules.has('AwsSolutions-SMG4')).toBe(true);
    expect(rules.has('AwsSolutions-APIG1')).toBe(false);
  });
});
