import {
  CloudWatchClient,
  CloudWatchServiceException,
  InternalServiceFault,
  InvalidParameterValueException,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricDnsRouter,
  PRIMARY_ACTIVE_ALARM,
  primaryActiveMetric,
  primaryLinksOf,
} from '../../shared/adapters/aws/metric-dns-router.ts';
import { DnsChangeRejectedError, Route53DnsRouter } from '../../shared/adapters/aws/route53-dns-router.ts';
import { StrategyDnsRouter } from '../../shared/adapters/aws/strategy-dns-router.ts';
import type { DnsAction } from '../../shared/domain/model.ts';
import { FailoverError, TransientError } from '../../shared/errors.ts';

const cloudwatch = mockClient(CloudWatchClient);
const route53 = mockClient(Route53Client);
afterEach(() => {
  cloudwatch.reset();
  route53.reset();
});

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const clock = { now: () => NOW };
const primaryLinks = new Map([['hq', 'fiber']]);

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

const metricRouter = () =>
  new MetricDnsRouter({ client: new CloudWatchClient({ region: 'us-east-1' }), primaryLinks, clock });

const putInput = (value: number) => ({
  Namespace: 'Failover',
  MetricData: [
    {
      MetricName: 'PrimaryActive',
      Dimensions: [
        { Name: 'Site', Value: 'hq' },
        { Name: 'Record', Value: 'vpn.example.com/A' },
      ],
      Timestamp: new Date(NOW),
      Value: value,
      Unit: 'None',
    },
  ],
});

describe('MetricDnsRouter', () => {
  it('publishes PrimaryActive=0 when the action points at the backup link', async () => {
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const result = await metricRouter().apply(action('lte'));
    const calls = cloudwatch.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual(putInput(0));
    expect(result.detail).toContain('PrimaryActive=0 for vpn.example.com/A of site hq (link lte)');
    expect(result.detail).toContain('the backup');
  });

  it('publishes PrimaryActive=1 when the action points at the primary link', async () => {
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const result = await metricRouter().apply(action('fiber'));
    expect(cloudwatch.commandCalls(PutMetricDataCommand)[0]!.args[0].input).toEqual(putInput(1));
    expect(result.detail).toContain('PrimaryActive=1');
  });

  it('names the metric the same way for the CDK alarm, whatever the spelling of the record name', () => {
    expect(primaryActiveMetric('hq', { name: 'VPN.example.com.', type: 'A' })).toEqual({
      namespace: 'Failover',
      metricName: 'PrimaryActive',
      dimensionsMap: { Site: 'hq', Record: 'vpn.example.com/A' },
    });
    expect(PRIMARY_ACTIVE_ALARM).toMatchObject({ threshold: 1, comparisonOperator: 'LessThanThreshold' });
  });

  it('takes the primary links from the configuration, or from a function', async () => {
    const links = primaryLinksOf([
      {
        id: 'hq',
        links: [
          { id: 'lte', role: 'backup' },
          { id: 'fiber', role: 'primary' },
        ],
      },
    ]);
    expect([...links]).toEqual([['hq', 'fiber']]);
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const byFunction = new MetricDnsRouter({ client: new CloudWatchClient({}), primaryLinks: () => 'lte', clock });
    await byFunction.apply(action('lte'));
    expect(cloudwatch.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData?.[0]?.Value).toBe(1);
  });

  it('refuses, permanently, a site whose primary link it does not know', async () => {
    const thrown = await metricRouter()
      .apply(action('lte', { site: 'elsewhere' }))
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(FailoverError);
    expect(thrown).not.toBeInstanceOf(TransientError);
    expect((thrown as FailoverError).message).toBe('no primary link is known for site elsewhere');
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  it('cannot read the record back', async () => {
    await expect(metricRouter().read(action('lte'))).resolves.toBeUndefined();
  });

  const transient: Array<[string, () => Error]> = [
    [
      'Throttling',
      () =>
        new CloudWatchServiceException({
          name: 'Throttling',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Rate exceeded',
        }),
    ],
    ['InternalServiceFault', () => new InternalServiceFault({ $metadata: { httpStatusCode: 500 }, message: 'boom' })],
    ['ECONNRESET', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ];
  it.each(transient)('maps %s to TransientError', async (_name, make) => {
    const error = make();
    cloudwatch.on(PutMetricDataCommand).rejects(error);
    const thrown = await metricRouter()
      .apply(action('lte'))
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(TransientError);
    expect((thrown as Error).cause).toBe(error);
    expect((thrown as Error).message).toContain('CloudWatch PutMetricData of Failover/PrimaryActive for hq failed');
  });

  const permanent: Array<[string, () => Error, string]> = [
    [
      'AccessDenied',
      () =>
        new CloudWatchServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
          message: 'not authorized to perform: cloudwatch:PutMetricData',
        }),
      'is not allowed (AccessDenied',
    ],
    [
      'InvalidParameterValueException',
      () => new InvalidParameterValueException({ $metadata: { httpStatusCode: 400 }, message: 'bad dimension' }),
      'was refused as invalid input: bad dimension',
    ],
  ];
  it.each(permanent)('maps %s to a permanent error', async (name, make, text) => {
    cloudwatch.on(PutMetricDataCommand).rejects(make());
    const thrown = await metricRouter()
      .apply(action('lte'))
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DnsChangeRejectedError);
    expect(thrown).toMatchObject({ code: 'DNS_REJECTED', reason: name });
    expect((thrown as Error).message).toContain(text);
  });
});

describe('StrategyDnsRouter', () => {
  const routers = () =>
    new StrategyDnsRouter({
      'record-swap': new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }) }),
      'health-check-gated': metricRouter(),
    });

  it('sends each action to the router of its strategy', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date(0) } });
    cloudwatch.on(PutMetricDataCommand).resolves({});
    const dns = routers();

    const swapped = await dns.apply(action('lte', { strategy: 'record-swap', name: 'portal.example.com' }));
    expect(swapped.changeId).toBe('C1');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);

    const gated = await dns.apply(action('lte'));
    expect(gated.detail).toContain('PrimaryActive=0');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(1);
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
