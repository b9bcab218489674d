import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudWatchLinkHealthSink } from '../../shared/adapters/aws/cloudwatch-link-health-sink.ts';
import { DataPlaneDnsRouter } from '../../shared/adapters/aws/data-plane-dns-router.ts';
import { Route53DnsRouter } from '../../shared/adapters/aws/route53-dns-router.ts';
import { StrategyDnsRouter } from '../../shared/adapters/aws/strategy-dns-router.ts';
import type { DnsAction } from '../../shared/domain/model.ts';

const cloudwatch = mockClient(CloudWatchClient);
const route53 = mockClient(Route53Client);
afterEach(() => {
  cloudwatch.reset();
  route53.reset();
});

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function action(link: string, overrides: Partial<DnsAction> = {}): DnsAction {
  return {
    kind: 'dns',
    id: 'hq:4:1',
    site: 'hq',
    seq: 4,
    at: NOW - 5000,
    zone: 'example.com',
    hostedZoneId: 'Z0123456789EXAMPLE',
    name: 'vpn.example.com',
    type: 'A',
    ttl: 60,
    strategy: 'health-check-gated',
    link,
    values: [link === 'fiber' ? '203.0.113.10' : '198.51.100.20'],
    ...overrides,
  };
}

describe('DataPlaneDnsRouter', () => {
  it('moves nothing and says why: Route 53 answers a gated record by the probe regions health checks', async () => {
    const result = await new DataPlaneDnsRouter().apply(action('lte'));
    expect(result.detail).toBe(
      "vpn.example.com A is answered by Route 53 from the probe regions' health checks (data plane); the control plane's choice of link lte does not move it",
    );
    expect(result.changeId).toBeUndefined();
  });
});

describe('CloudWatchLinkHealthSink', () => {
  const sample = (i: number, value: 0 | 1 = 1) => ({
    site: `s${i}`,
    link: 'fiber',
    role: 'primary' as const,
    value,
    atMs: NOW,
  });

  it('puts LinkHealth with Site and Link, stamped with the round time, 1,000 data points a request', async () => {
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const sink = new CloudWatchLinkHealthSink({ client: new CloudWatchClient({ region: 'eu-west-1' }) });
    await sink.publish(Array.from({ length: 1001 }, (_, i) => sample(i, i === 0 ? 0 : 1)));
    const calls = cloudwatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.MetricData!.length)).toEqual([1000, 1]);
    expect(calls[0]!.Namespace).toBe('Failover');
    expect(calls[0]!.MetricData![0]).toEqual({
      MetricName: 'LinkHealth',
      Dimensions: [
        { Name: 'Site', Value: 's0' },
        { Name: 'Link', Value: 'fiber' },
      ],
      Timestamp: new Date(NOW),
      Value: 0,
      Unit: 'None',
    });
  });

  it('names how many samples were lost when a request fails', async () => {
    cloudwatch
      .on(PutMetricDataCommand)
      .resolvesOnce({})
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' }));
    const sink = new CloudWatchLinkHealthSink({ client: new CloudWatchClient({ region: 'eu-west-1' }) });
    const thrown = await sink.publish(Array.from({ length: 1500 }, (_, i) => sample(i))).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'LINK_HEALTH_NOT_PUBLISHED', lost: 500, total: 1500 });
    expect((thrown as Error).message).toBe(
      '500 of 1500 link health sample(s) not published: Error: connect ECONNREFUSED',
    );
  });
});

describe('StrategyDnsRouter', () => {
  const routers = () =>
    new StrategyDnsRouter({
      'record-swap': new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }) }),
      'health-check-gated': new DataPlaneDnsRouter(),
    });

  it('sends each action to the router of its strategy', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date(0) } });
    const dns = routers();

    const swapped = await dns.apply(action('lte', { strategy: 'record-swap', name: 'portal.example.com' }));
    expect(swapped.changeId).toBe('C1');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);

    const gated = await dns.apply(action('lte'));
    expect(gated.detail).toContain('answered by Route 53');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
  });

  it('reads by the record strategy', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: 'portal.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.10' }] },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });
    const dns = routers();
    const base = {
      zone: 'example.com',
      hostedZoneId: 'Z0123456789EXAMPLE',
      name: 'portal.example.com',
      type: 'A',
      ttl: 60,
    } as const;
    await expect(dns.read({ ...base, strategy: 'record-swap' })).resolves.toEqual({
      values: ['203.0.113.10'],
      ttl: 60,
    });
    await expect(dns.read({ ...base, strategy: 'health-check-gated' })).resolves.toBeUndefined();
    expect(route53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);
  });

  it('refuses an action of a strategy it has no router for', async () => {
    const thrown = await routers()
      .apply(action('lte', { strategy: 'weighted' as DnsAction['strategy'] }))
      .catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'DNS_STRATEGY_UNKNOWN' });
  });
});
