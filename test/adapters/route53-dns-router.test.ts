import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  InvalidChangeBatch,
  InvalidInput,
  ListResourceRecordSetsCommand,
  NoSuchHostedZone,
  PriorRequestNotComplete,
  Route53Client,
  Route53ServiceException,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsChangeRejectedError, Route53DnsRouter } from '../../shared/adapters/aws/route53-dns-router.ts';
import { sameRecordValues } from '../../shared/domain/dns-values.ts';
import type { DnsAction } from '../../shared/domain/model.ts';
import { TransientError, type FailoverError } from '../../shared/errors.ts';
import type { DnsRecordRef } from '../../shared/ports/dns-router.ts';
import { withRetry } from '../../shared/usecases/dispatch.ts';

const route53 = mockClient(Route53Client);
afterEach(() => route53.reset());

const ZONE_ID = 'Z0123456789EXAMPLE';
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

function action(overrides: Partial<DnsAction> = {}): DnsAction {
  return {
    kind: 'dns',
    id: 'hq:4:0',
    site: 'hq',
    seq: 4,
    at: 1_700_000_000_000,
    zone: 'example.com',
    hostedZoneId: ZONE_ID,
    name: 'portal.example.com',
    type: 'A',
    ttl: 60,
    strategy: 'record-swap',
    link: 'lte',
    values: ['198.51.100.20'],
    ...overrides,
  };
}

const record = (overrides: Partial<DnsRecordRef> = {}): DnsRecordRef => ({
  zone: 'example.com',
  hostedZoneId: ZONE_ID,
  name: 'portal.example.com',
  type: 'A',
  ttl: 60,
  strategy: 'record-swap',
  ...overrides,
});

const router = (options: ConstructorParameters<typeof Route53DnsRouter>[0] = {}) =>
  new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }), ...options });

const changeInfo = (Status: 'PENDING' | 'INSYNC') => ({
  ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status, SubmittedAt: new Date(0) },
});

const throttling = () =>
  new Route53ServiceException({ name: 'Throttling', $fault: 'client', ...meta(400), message: 'Rate exceeded' });
const priorRequest = () =>
  new PriorRequestNotComplete({
    ...meta(400),
    message: 'The request was rejected because Route 53 was still processing a prior request.',
  });
const internal500 = () =>
  new Route53ServiceException({
    name: 'UnknownError',
    $fault: 'client',
    ...meta(500),
    message: 'Internal Server Error',
  });

describe('Route53DnsRouter.apply', () => {
  it('sends one UPSERT of the record to the values of the link, and returns the change id', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING'));
    const result = await router().apply(action());

    const calls = route53.commandCalls(ChangeResourceRecordSetsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      ChangeBatch: {
        Comment: 'failover hq:4:0: site hq to link lte',
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'portal.example.com.',
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '198.51.100.20' }],
            },
          },
        ],
      },
    });
    expect(result).toEqual({
      changeId: 'C2682N5HXP0BZ4',
      status: 'PENDING',
      detail:
        'portal.example.com A -> 198.51.100.20 (link lte, TTL 60 s) in hosted zone Z0123456789EXAMPLE, change C2682N5HXP0BZ4 PENDING',
    });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(0);
  });

  it('writes several values, AAAA as given and a CNAME target fully qualified', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING'));
    await router().apply(action({ type: 'AAAA', values: ['2001:db8::10', '2001:db8::11'] }));
    await router().apply(action({ name: 'www.example.com.', type: 'CNAME', ttl: 300, values: ['lte.example.net'] }));
    const sets = route53
      .commandCalls(ChangeResourceRecordSetsCommand)
      .map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet);
    expect(sets).toEqual([
      {
        Name: 'portal.example.com.',
        Type: 'AAAA',
        TTL: 60,
        ResourceRecords: [{ Value: '2001:db8::10' }, { Value: '2001:db8::11' }],
      },
      { Name: 'www.example.com.', Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'lte.example.net.' }] },
    ]);
  });

  it('with waitForSync, polls GetChange until INSYNC', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING'));
    route53
      .on(GetChangeCommand, { Id: 'C2682N5HXP0BZ4' })
      .resolvesOnce(changeInfo('PENDING'))
      .resolvesOnce(changeInfo('PENDING'))
      .resolves(changeInfo('INSYNC'));
    const result = await router({ waitForSync: true, waitTimeoutMs: 10_000, pollDelayMs: { min: 5, max: 10 } }).apply(
      action(),
    );
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(3);
    expect(result.status).toBe('INSYNC');
    expect(result.changeId).toBe('C2682N5HXP0BZ4');
    expect(result.detail).toMatch(/change C2682N5HXP0BZ4 INSYNC after \d+ s$/);
  });

  it('with waitForSync, reports a change still PENDING at the deadline without failing, and why GetChange failed', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING'));
    route53
      .on(GetChangeCommand)
      .rejectsOnce(
        new Route53ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          ...meta(403),
          message: 'not authorized to perform: route53:GetChange',
        }),
      )
      .resolves(changeInfo('PENDING'));
    let now = 0;
    const clock = { now: () => (now += 1000) };
    const result = await router({
      waitForSync: true,
      waitTimeoutMs: 300,
      pollDelayMs: { min: 5, max: 20 },
      clock,
    }).apply(action());
    expect(result.status).toBe('PENDING');
    expect(result.detail).toContain('still PENDING after 1 s');
    expect(result.detail).toContain('403: not authorized to perform: route53:GetChange x1');
    expect(route53.commandCalls(GetChangeCommand).length).toBeGreaterThanOrEqual(2);
  });

  it('does not wait when the change is already INSYNC', async () => {
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('INSYNC'));
    const result = await router({ waitForSync: true }).apply(action());
    expect(result.status).toBe('INSYNC');
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(0);
  });

  const transient: Array<[string, () => Error]> = [
    ['Throttling', throttling],
    [
      'ThrottlingException',
      () =>
        new Route53ServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          ...meta(400),
          message: 'Rate exceeded',
        }),
    ],
    ['PriorRequestNotComplete', priorRequest],
    ['a 500 without a modeled name', internal500],
    [
      'ServiceUnavailable (503, server fault)',
      () =>
        new Route53ServiceException({
          name: 'ServiceUnavailable',
          $fault: 'server',
          ...meta(503),
          message: 'unavailable',
        }),
    ],
    ['ECONNRESET', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['ETIMEDOUT', () => Object.assign(new Error('connect ETIMEDOUT 52.46.0.1:443'), { code: 'ETIMEDOUT' })],
    ['TimeoutError', () => Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' })],
  ];
  it.each(transient)('maps %s to TransientError, the SDK error as cause', async (_label, make) => {
    const error = make();
    route53.on(ChangeResourceRecordSetsCommand).rejects(error);
    const thrown = await router()
      .apply(action())
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(TransientError);
    expect((thrown as TransientError).cause).toBe(error);
    expect((thrown as Error).message).toMatch(
      /^Route 53 change of portal\.example\.com A in hosted zone Z0123456789EXAMPLE failed, retry later/,
    );
  });

  const permanent: Array<[string, () => Error, string]> = [
    [
      'InvalidChangeBatch',
      () =>
        new InvalidChangeBatch({
          ...meta(400),
          message: 'Invalid request',
          messages: [
            'RRSet of type A with DNS name portal.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.com.',
          ],
        }),
      'was rejected as invalid: RRSet of type A with DNS name portal.example.com. is not permitted',
    ],
    [
      'NoSuchHostedZone',
      () => new NoSuchHostedZone({ ...meta(404), message: 'No hosted zone found with ID: Z0123456789EXAMPLE' }),
      'hosted zone Z0123456789EXAMPLE does not exist; check hostedZoneId in the configuration',
    ],
    [
      'AccessDenied',
      () =>
        new Route53ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          ...meta(403),
          message:
            'User: arn:aws:sts::123456789012:assumed-role/dispatch is not authorized to perform: route53:ChangeResourceRecordSets',
        }),
      'is not allowed (AccessDenied: User: arn:aws:sts::123456789012:assumed-role/dispatch is not authorized',
    ],
    [
      'InvalidInput',
      () =>
        new InvalidInput({
          ...meta(400),
          message: 'Invalid XML ; cvc-maxInclusive-valid: Value 2147483648 is not facet-valid',
        }),
      'was refused as invalid input: Invalid XML',
    ],
  ];
  it.each(permanent)('maps %s to a permanent DnsChangeRejectedError a person understands', async (name, make, text) => {
    const error = make();
    route53.on(ChangeResourceRecordSetsCommand).rejects(error);
    const thrown = await router()
      .apply(action())
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DnsChangeRejectedError);
    expect(thrown).not.toBeInstanceOf(TransientError);
    expect(thrown).toMatchObject({ code: 'DNS_REJECTED', reason: name, cause: error });
    expect((thrown as Error).message).toContain(text);
  });

  it('gets there through throttling, PriorRequestNotComplete and a 500 when the caller retries TransientError', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttling())
      .rejectsOnce(priorRequest())
      .rejectsOnce(internal500())
      .resolves(changeInfo('PENDING'));
    const retried: string[] = [];
    const dns = router();
    const { value, attempts } = await withRetry(() => dns.apply(action()), {
      policy: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
      wait: async () => undefined,
      onRetry: (_attempt, _delay, error) => retried.push((error as FailoverError).code),
    });
    expect(attempts).toBe(4);
    expect(retried).toEqual(['TRANSIENT', 'TRANSIENT', 'TRANSIENT']);
    expect(value.changeId).toBe('C2682N5HXP0BZ4');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(4);
  });

  it('stops at once on a permanent error when the caller retries', async () => {
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttling())
      .rejects(new NoSuchHostedZone({ ...meta(404), message: 'No hosted zone' }));
    const dns = router();
    const thrown = await withRetry(() => dns.apply(action()), { wait: async () => undefined }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DnsChangeRejectedError);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(2);
  });
});

describe('Route53DnsRouter.read', () => {
  const listed = (sets: ResourceRecordSet[]) => ({ ResourceRecordSets: sets, IsTruncated: true, MaxItems: 1 });

  it('asks for the exact name and type, one item, and returns its values and TTL', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves(
        listed([{ Name: 'portal.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.10' }] }]),
      );
    await expect(router().read(record())).resolves.toEqual({ values: ['203.0.113.10'], ttl: 60 });
    expect(route53.commandCalls(ListResourceRecordSetsCommand)[0]!.args[0].input).toEqual({
      HostedZoneId: ZONE_ID,
      StartRecordName: 'portal.example.com.',
      StartRecordType: 'A',
      MaxItems: 1,
    });
  });

  it('returns null when Route 53 lists the next record instead (the asked one is missing)', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves(
        listed([{ Name: 'pos12.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.40' }] }]),
      );
    await expect(router().read(record())).resolves.toBeNull();
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves(
        listed([{ Name: 'portal.example.com.', Type: 'AAAA', TTL: 60, ResourceRecords: [{ Value: '2001:db8::1' }] }]),
      );
    await expect(router().read(record())).resolves.toBeNull();
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 1 });
    await expect(router().read(record())).resolves.toBeNull();
  });

  it('compares names without the trailing dot and case, and returns CNAME targets without the dot', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves(
        listed([
          { Name: 'www.example.com.', Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'LTE.Example.NET.' }] },
        ]),
      );
    const read = await router().read(record({ name: 'WWW.example.com', type: 'CNAME' }));
    expect(read).toEqual({ values: ['lte.example.net'], ttl: 300 });
    expect(sameRecordValues('CNAME', read!.values, ['lte.example.net.'])).toBe(true);
    expect(sameRecordValues('AAAA', ['2001:0db8:0:0::10'], ['2001:db8::10'])).toBe(true);
    expect(sameRecordValues('A', ['192.0.2.1', '192.0.2.2'], ['192.0.2.2', '192.0.2.1'])).toBe(true);
    expect(sameRecordValues('A', ['192.0.2.1'], ['192.0.2.2'])).toBe(false);
  });

  it('maps read errors the same way', async () => {
    route53.on(ListResourceRecordSetsCommand).rejects(throttling());
    await expect(router().read(record())).rejects.toBeInstanceOf(TransientError);
    route53
      .on(ListResourceRecordSetsCommand)
      .rejects(new NoSuchHostedZone({ ...meta(404), message: 'No hosted zone' }));
    const thrown = await router()
      .read(record())
      .catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(DnsChangeRejectedError);
    expect((thrown as Error).message).toContain(
      'Route 53 read of portal.example.com A in hosted zone Z0123456789EXAMPLE',
    );
  });
});
