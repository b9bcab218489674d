import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { lambdaContext } from '../support/lambda.ts';
import { testBatch } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

// The real decide handler on dynalite: a probe-side fault takes every site down at once, the brake lets two fail
// over, holds the rest with one alert, lets through a site whose regions' control checks all answered, and a
// throttled fleet item returns the site's messages instead of losing its decision.

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
const SITES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
const CONFIG_YAML = twoLinkConfigYaml({
  regions: REGIONS,
  policy: 'intervalSeconds: 60, failureThreshold: 2, recoveryThreshold: 2',
  // 10% of 10 sites is 1, so minSites decides: two failovers in 15 minutes, then the brake holds.
  extra: 'brake: { maxShare: 0.1, minSites: 2, windowSeconds: 900 }',
  sites: SITES.map((id, i) => ({ id, fiber: `203.0.113.${i + 1}`, lte: `198.51.100.${i + 1}` })),
});

const context = lambdaContext('failover-decide', 30_000);
let dynamo: LocalDynamo;
let proxy: FaultProxy;
let store: DynamoDbStateStore;
let handler: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** Control summaries: `partial` rounds had one of three control checks down (the region still votes). */
const CONTROL = {
  clean: { ok: true, passed: 3, total: 3, detail: '3/3 control checks passed' },
  partial: { ok: true, passed: 2, total: 3, detail: '2/3 control checks passed' },
} as const;

function record(batch: ObservationBatch): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: `rh-${randomUUID()}`,
    body: JSON.stringify(batch),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AROAEXAMPLE:failover-probe',
      ApproximateFirstReceiveTimestamp: now,
      SequenceNumber: '18849496460467696128',
      MessageGroupId: batch.site,
      MessageDeduplicationId: randomUUID(),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:failover-observations.fifo',
    awsRegion: 'us-east-1',
  };
}

/** Every region's batch of one round for `sites`, the fiber as given, the LTE up. */
function round(sites: string[], at: number, fiber: Outcome, control: keyof typeof CONTROL): SQSEvent {
  return {
    Records: sites.flatMap((site) =>
      REGIONS.map((region) =>
        record(
          testBatch({
            site,
            vantage: `region:${region}`,
            at,
            control: CONTROL[control],
            results: [
              { check: 'web-fiber', link: 'fiber', outcome: fiber, kind: 'http' },
              { check: 'web-lte', link: 'lte', outcome: 'up', kind: 'http' },
            ],
          }),
        ),
      ),
    ),
  };
}

const times = (count: number) =>
  Array.from({ length: count }, (_, i) => Date.now() - 10_000 - (count - 1 - i) * 60_000);
const alertsOf = async (site: string) =>
  ((await store.load(site))?.outbox ?? []).filter((a): a is AlertAction => a.kind === 'alert');

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'decide-brake-test' });
  proxy = await startFaultProxy(dynamo.endpoint);
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  vi.resetModules();
  const env = {
    FAILOVER_CONFIG_JSON: configJsonOf(CONFIG_YAML).json,
    STATE_TABLE_NAME: dynamo.tableName,
    POWERTOOLS_SERVICE_NAME: 'failover-decide',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
    AWS_MAX_ATTEMPTS: '2',
  };
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  handler = (await import('../../functions/decide/handler.ts')).handler;
});

afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await proxy?.close();
  await dynamo?.close();
});

describe('decide handler with the mass-failover brake', () => {
  it('fails two sites over, holds the rest with one alert, and lets a ruled-out failover through', async () => {
    const [t1, t2, t3, t4] = times(4) as [number, number, number, number];
    const held = SITES.slice(0, 8);
    for (const at of [t1, t2])
      expect(await handler(round(held, at, 'up', 'partial'), context)).toEqual({ batchItemFailures: [] });
    // The probe-side fault: every site's fiber down from every region, one control check down in each.
    for (const at of [t3, t4])
      expect(await handler(round(held, at, 'down', 'partial'), context)).toEqual({ batchItemFailures: [] });

    const states = await Promise.all(held.map((s) => store.load(s)));
    const moved = states.filter((s) => s!.mode === 'BACKUP_ACTIVE').map((s) => s!.site);
    expect(moved).toHaveLength(2);
    const stayed = states.filter((s) => s!.mode === 'PRIMARY_ACTIVE');
    expect(stayed).toHaveLength(6);
    for (const s of stayed) {
      expect(s!.activeLink).toBe('fiber');
      expect(s!.brakeHeld?.to).toBe('lte');
      expect(s!.outbox.filter((a) => a.kind === 'dns' || a.kind === 'agent-command')).toEqual([]);
      const kinds = (await store.listTransitions(s!.site)).map((t) => t.kind);
      expect(kinds).toEqual(['failover-held']);
    }
    // One alert for the engagement, in the announcing site's outbox, not one per held site.
    const brakeAlerts = (await Promise.all(stayed.map((s) => alertsOf(s!.site)))).flat();
    expect(brakeAlerts).toHaveLength(1);
    expect(brakeAlerts[0]).toMatchObject({ severity: 'critical', event: 'failover-held', suppressed: false });
    expect(brakeAlerts[0]!.subject).toBe('[BRAKE] automatic failovers held: 2 of 10 sites in 15 min');
    expect(brakeAlerts[0]!.body).toContain('POST /v1/sites/<site>/failover');
    const transition = (await store.listTransitions(stayed[0]!.site))[0]!;
    expect(transition.explanation.brake).toMatchObject({ failedOver: 2, limit: 2, sites: 10, clean: [], quorum: 2 });

    // Another round of the same fault: no new transition, no new alert.
    expect(await handler(round(held, t4 + 5000, 'down', 'partial'), context)).toEqual({ batchItemFailures: [] });
    for (const s of stayed) expect(await store.listTransitions(s!.site)).toHaveLength(1);
    expect((await Promise.all(stayed.map((s) => alertsOf(s!.site)))).flat()).toHaveLength(1);

    // Site i is really down: every region's control checks answered, so the probes are ruled out.
    for (const [at, fiber] of [
      [t1, 'up'],
      [t2, 'up'],
      [t3, 'down'],
      [t4, 'down'],
    ] as const)
      await handler(round(['i'], at, fiber, 'clean'), context);
    const i = (await store.load('i'))!;
    expect(i.mode).toBe('BACKUP_ACTIVE');
    expect((await store.listTransitions('i')).map((t) => t.kind)).toEqual(['failover']);
  });

  it('a throttled fleet item returns the site to the queue, and its next delivery decides it', async () => {
    const [t1, t2, t3, t4] = times(4) as [number, number, number, number];
    for (const [at, fiber] of [
      [t1, 'up'],
      [t2, 'up'],
      [t3, 'down'],
    ] as const)
      await handler(round(['j'], at, fiber, 'clean'), context);
    proxy.throttleWith = 'ProvisionedThroughputExceededException';
    proxy.throttle = (body) => body.includes('"FLEET"');
    const event = round(['j'], t4, 'down', 'clean');
    const out = await handler(event, context);
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      event.Records.map((r) => r.messageId).sort(),
    );
    expect(proxy.throttled).toBeGreaterThan(0);
    expect((await store.load('j'))!.mode).toBe('PRIMARY_ACTIVE');
    proxy.throttle = () => false;
    expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
    expect((await store.load('j'))!.mode).toBe('BACKUP_ACTIVE');
  });

  it('a fleet item no retry can reach (access denied) lets the failover go ahead, and says so', async () => {
    const [t1, t2, t3, t4] = times(4) as [number, number, number, number];
    for (const [at, fiber] of [
      [t1, 'up'],
      [t2, 'up'],
      [t3, 'down'],
    ] as const)
      await handler(round(['h'], at, fiber, 'partial'), context);
    proxy.throttleWith = 'AccessDeniedException';
    proxy.throttle = (body) => body.includes('"FLEET"');
    const lines = vi.mocked(process.stderr.write).mock.calls.length;
    expect(await handler(round(['h'], t4, 'down', 'partial'), context)).toEqual({ batchItemFailures: [] });
    proxy.throttle = () => false;
    // The brake holds (site h is past the limit), but could not be asked: h fails over rather than wait.
    expect((await store.load('h'))!.mode).toBe('BACKUP_ACTIVE');
    // Powertools writes errors to stderr.
    const logged = vi
      .mocked(process.stderr.write)
      .mock.calls.slice(lines)
      .map((c) => String(c[0]));
    expect(logged.some((l) => l.includes('mass-failover brake not consulted') && l.includes('AccessDenied'))).toBe(
      true,
    );
  });
});
