import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsWriter, recordSwapRecordsByZone } from '../../infra/constructs/dns-writer.ts';
import { StateTable } from '../../infra/constructs/state-table.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

// Two zones of record-swap records (one name in upper case) and a gated record, which the writer must not touch.
const CONFIG_YAML = twoLinkConfigYaml({
  sites: [
    { id: 'hq', dns: [{ name: 'Portal.example.com', hostedZoneId: 'ZAAAAAAAAAAAAA' }] },
    {
      id: 'shop',
      dns: [
        { name: 'shop.example.com', hostedZoneId: 'ZAAAAAAAAAAAAA' },
        { name: 'vpn.example.com', hostedZoneId: 'ZAAAAAAAAAAAAA', strategy: 'health-check-gated' },
      ],
    },
    { id: 'dublin', dns: [{ name: 'sbc.example.com', hostedZoneId: 'ZBBBBBBBBBBBBB' }] },
  ],
});
const dirs: string[] = [];
let config: FailoverConfig;
let stack: Stack;
let writer: DnsWriter;

const logicalId = (c: { node: { defaultChild?: unknown } }) => {
  const resource = c.node.defaultChild as CfnResource;
  return Stack.of(resource).getLogicalId(resource);
};
const zoneArn = (id: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:route53:::hostedzone/${id}`]],
});

beforeAll(() => {
  config = parseConfig(CONFIG_YAML).config!;
  const outdir = mkdtempSync(join(tmpdir(), 'failover-dns-writer-'));
  dirs.push(outdir);
  const app = new App({ outdir });
  stack = new Stack(app, 'Control', { env: { region: 'eu-west-1' } });
  const table = new StateTable(stack, 'State');
  writer = new DnsWriter(stack, 'DnsWriter', { configYaml: CONFIG_YAML, config, table });
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('DnsWriter', () => {
  it('may UPSERT the configured record-swap names and types of each zone and nothing else in Route 53', () => {
    const template = Template.fromStack(stack);
    const role = logicalId(writer.function.role as unknown as { node: { defaultChild?: unknown } });
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument
          .Statement,
    );
    const route53 = statements.filter((s) => [s.Action].flat().some((a) => String(a).startsWith('route53:')));
    expect(route53).toEqual([
      {
        Effect: 'Allow',
        Action: 'route53:ChangeResourceRecordSets',
        Resource: zoneArn('ZAAAAAAAAAAAAA'),
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['portal.example.com', 'shop.example.com'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: 'route53:ChangeResourceRecordSets',
        Resource: zoneArn('ZBBBBBBBBBBBBB'),
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['sbc.example.com'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      },
    ]);
    // No wildcard resource anywhere but X-Ray's (which has no resource-level permissions).
    const wildcard = statements.filter((s) => [s.Resource].flat().includes('*'));
    expect(wildcard.flatMap((s) => [s.Action].flat())).toEqual(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
    // The table: the budget item and a refused change's action-failed, single items only.
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StateTable/), 'Arn'] },
    });
  });

  it('leaves the gated record out of the scope', () => {
    expect([...recordSwapRecordsByZone(config)]).toEqual([
      ['ZAAAAAAAAAAAAA', { names: ['portal.example.com', 'shop.example.com'], types: ['A'] }],
      ['ZBBBBBBBBBBBBB', { names: ['sbc.example.com'], types: ['A'] }],
    ]);
  });

  it('drains a FIFO queue without a dead-letter queue, ten messages a batch, with partial batch responses', () => {
    const template = Template.fromStack(stack);
    expect(template.findResources('AWS::SQS::Queue')[logicalId(writer.queue)]!.Properties).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 14 * 86_400,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(writer.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(writer.function) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          STATE_TABLE_NAME: { Ref: logicalId(stack.node.findChild('State').node.findChild('Table')) },
          DNS_CHANGE_QUEUE_URL: { Ref: logicalId(writer.queue) },
          POWERTOOLS_SERVICE_NAME: 'failover-dns-writer',
        }),
      },
    });
  });
});
