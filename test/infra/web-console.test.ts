import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeLocally } from '../../shared/api/http-route.ts';
import { WEB_ROUTES } from '../../shared/api/web-assets.ts';
import { WebConsole } from '../../infra/constructs/web-console.ts';

const STAND_IN = 'the stand-in HTTP API of this test (the real one is PublicApi, test/infra/public-api.test.ts)';

let outdir: string;
let stack: Stack;
let web: WebConsole;
let httpApi: apigwv2.HttpApi;
let template: Template;
let assembly: CloudAssembly;

// The construct on an HTTP API of its own: only the web function is bundled (the control stack's wiring and its
// DashboardUrl output are in test/infra/public-api.test.ts).
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'failover-web-cdk-'));
  const app = new App({ outdir });
  stack = new Stack(app, 'Failover-Web', { env: { region: 'eu-west-1' } });
  httpApi = new apigwv2.HttpApi(stack, 'HttpApi', { createDefaultStage: false });
  const stage = new apigwv2.HttpStage(stack, 'Stage', { httpApi, stageName: '$default', autoDeploy: true });
  // This test's stand-in for PublicApi, which has access logs and says why its routes have no authorizer.
  Validations.of(stage).acknowledge({ id: 'AwsSolutions::AwsSolutions-APIG1', reason: STAND_IN });
  Validations.of(httpApi).acknowledge({ id: 'AwsSolutions::AwsSolutions-APIG4', reason: STAND_IN });
  web = new WebConsole(stack, 'Web', { httpApi, statusPages: ['public', 'staff'] });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assembly = app.synth();
  template = Template.fromStack(stack);
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  Stack.of(stack).getLogicalId(c.node.defaultChild as CfnResource);

describe('the web console construct (dashboard and status pages in the cloud)', () => {
  it("routes the pages and assets to a function of their own on the API's origin", () => {
    const fn = logicalId(web.function);
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: { IntegrationUri: { 'Fn::GetAtt': [fn, 'Arn'] } },
    });
    expect(Object.keys(integrations)).toHaveLength(1);
    const target = { 'Fn::Join': ['', ['integrations/', { Ref: Object.keys(integrations)[0] }]] };
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { Target: target } }))
      .map((r) => (r as { Properties: { RouteKey: string; ApiId: unknown } }).Properties)
      .map((p) => {
        expect(p.ApiId).toEqual({ Ref: logicalId(httpApi) });
        return p.RouteKey;
      });
    expect(routes.sort()).toEqual(WEB_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Timeout: 5,
      TracingConfig: Match.absent(),
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'failover-web', FAILOVER_STATUS_PAGES: 'public,staff' }),
      },
    });
  });

  it('may write its own logs and nothing else: no table, no secret, no tracing', () => {
    const role = logicalId({ node: { defaultChild: web.function.executionRole.node.defaultChild } });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    );
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: {
          'Fn::GetAtt': [logicalId({ node: { defaultChild: web.function.functionLogGroup.node.defaultChild } }), 'Arn'],
        },
      },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: Match.absent(),
      ManagedPolicyArns: Match.absent(),
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
    });
  });

  it('bundles the built pages with the handler', () => {
    const fn = template.toJSON().Resources[logicalId(web.function)] as {
      Properties: { Code: { S3Key: string } };
    };
    const asset = join(assembly.directory, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    expect(existsSync(join(asset, 'index.mjs'))).toBe(true);
    expect(existsSync(join(asset, 'web', 'index.html'))).toBe(true);
    expect(existsSync(join(asset, 'web', 'status.html'))).toBe(true);
    expect(readdirSync(join(asset, 'web', 'assets')).some((f) => f.endsWith('.js'))).toBe(true);
  });

  it('serves the pages from the bundle as API Gateway calls it, /status going to the first status page', async () => {
    const fn = template.toJSON().Resources[logicalId(web.function)] as {
      Properties: { Code: { S3Key: string } };
    };
    const asset = join(assembly.directory, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    process.env.FAILOVER_STATUS_PAGES = 'public,staff';
    const { handler } = (await import(pathToFileURL(join(asset, 'index.mjs')).href)) as {
      handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
    };
    const call = (rawPath: string) =>
      invokeLocally(handler, { rawPath, headers: {}, requestContext: { http: { method: 'GET', path: rawPath } } });
    const page = await call('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<title>failover dashboard</title>');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body!)![1]!;
    expect((await call(script)).headers?.['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await call('/status')).headers?.location).toBe('/status/public');
    expect((await call('/assets/..%2F..%2Findex.mjs')).statusCode).toBe(404);
  });

  it('passes cdk-nag with no acknowledgement of its own', () => {
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: unknown[];
        suppressedViolations?: {
          ruleName: string;
          reason: string;
          violatingConstructs?: { constructPath: string }[];
        }[];
      }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions')!;
    expect(nag.violations).toEqual([]);
    const mine = (nag.suppressedViolations ?? []).filter((s) =>
      JSON.stringify(s.violatingConstructs ?? []).includes('/Web/'),
    );
    expect(mine).toEqual([]);
  });
});
