import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChangeResourceRecordSetsCommand, Route53Client, Route53ServiceException } from '@aws-sdk/client-route-53';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { Route53DnsRouter } from '../../shared/adapters/aws/route53-dns-router.ts';
import { SnsNotifier } from '../../shared/adapters/aws/sns-notifier.ts';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { startDnsServer, type DnsServer } from '../../shared/adapters/local/dns-server.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { LocalDnsRouter } from '../../shared/adapters/local/local-dns-router.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { Outcome } from '../../shared/contracts/observation.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { dispatchSite, type DispatchEvent } from '../../shared/usecases/dispatch.ts';
import { reconcileDns } from '../../shared/usecases/reconcile-dns.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const CRITICAL = 'arn:aws:sns:us-east-1:123456789012:failover-critical';
const WARNING = 'arn:aws:sns:us-east-1:123456789012:failover-warning';

function configText(sites: string[]): string {
  return twoLinkConfigYaml({
    regions: REGIONS,
    policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
    // Every site fails over at T0 on one table: the mass-failover brake is not what these tests are about.
    extra: 'contacts: [{ name: noc, email: noc@example.com }]\nbrake: { enabled: false }',
    sites: sites.map((id) => ({ id, dns: [{ name: `${id}.example.com` }] })),
  });
}

let dynamo: LocalDynamo;
let store: DynamoDbStateStore;
let dns: DnsServer;
let config: FailoverConfig;
const SITES = ['happy', 'retry', 'outage', 'denied', 'crash', 'drift'];

beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  dns = await startDnsServer({ port: 0, zones: ['example.com'] });
  config = parseConfig(configText(SITES)).config!;
});
afterAll(async () => {
  await dns.close();
  await dynamo.close();
});

/** Decides rounds until the site has failed over: a real outbox of DNS, alert and webhook actions. */
async function failover(site: string): Promise<void> {
  let now = T0;
  const deps = { config, store, clock: { now: () => now } };
  const outcomes: Outcome[] = ['up', 'up', 'down', 'down'];
  for (const [round, fiber] of outcomes.entries()) {
    now = T0 + round * 60_000;
    const batches = twoLinkRound({ site, regions: REGIONS, at: T0 + round * 60_000, fiber });
    await decideSite(deps, { site, batches });
  }
  expect((await store.load(site))!.mode).toBe('BACKUP_ACTIVE');
}

const pending = async (site: string) =>
  (await store.load(site))!.outbox.filter((a) => a.kind !== 'history').map((a) => a.kind);

const noWait = async () => undefined;

describe('dispatchSite', () => {
  it('applies the DNS change and the alert, then clears the outbox', async () => {
    await failover('happy');
    const alerts = join(inject('scratchDir'), 'happy.jsonl');
    const events: DispatchEvent[] = [];
    const out = await dispatchSite(
      {
        config,
        store,
        clock: { now: () => T0 + 4 * 60_000 },
        dns: new LocalDnsRouter(dns),
        notifier: new ConsoleNotifier({ jsonlPath: alerts, out: () => undefined }),
        log: (e) => events.push(e),
      },
      { site: 'happy' },
    );
    expect(out.applied.map((a) => a.kind).sort()).toEqual(['alert', 'dns']);
    expect(out.skipped.map((a) => a.kind).sort()).toEqual(['webhook', 'webhook']); // no subscribers yet
    expect(out.failed).toEqual([]);
    expect(dns.getRecord('happy.example.com', 'A')).toEqual({ ttl: 60, values: ['198.51.100.20'] });
    const lines = (await readFile(alerts, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ severity: 'critical', event: 'failover', site: 'happy' });
    expect(await pending('happy')).toEqual([]);
    // Dispatching again finds nothing to do.
    const again = await dispatchSite({ config, store, clock: { now: () => T0 } }, { site: 'happy' });
    expect(again.applied).toEqual([]);
  });

  it('retries throttling, PriorRequestNotComplete and a 500 with backoff and full jitter, then succeeds', async () => {
    await failover('retry');
    const route53 = mockClient(Route53Client);
    const error = (name: string, status: number) =>
      new Route53ServiceException({
        name,
        $fault: status >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode: status },
        message: name,
      });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(error('Throttling', 400))
      .rejectsOnce(error('PriorRequestNotComplete', 400))
      .rejectsOnce(error('InternalError', 500))
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    const waits: number[] = [];
    const out = await dispatchSite(
      {
        config,
        store,
        clock: { now: () => T0 + 4 * 60_000 },
        dns: new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }) }),
        retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
        wait: async (ms) => {
          waits.push(ms);
        },
        random: () => 0.99,
      },
      { site: 'retry' },
    );
    route53.restore();
    expect(out.applied.map((a) => a.kind)).toContain('dns');
    // Full jitter: attempt n waits random * min(max, base * 2^(n-1)).
    expect(waits).toEqual([99, 198, 396]);
    expect(await pending('retry')).toEqual([]);
  });

  it('does not let an SNS outage delay the DNS failover; the alert is given up and reported', async () => {
    await failover('outage');
    const route53 = mockClient(Route53Client);
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).rejects(
      new SNSServiceException({
        name: 'Throttled',
        $fault: 'client',
        $metadata: { httpStatusCode: 429 },
        message: 'slow down',
      }),
    );
    const events: DispatchEvent[] = [];
    const out = await dispatchSite(
      {
        config,
        store,
        clock: { now: () => T0 + 4 * 60_000 },
        dns: new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }) }),
        notifier: new SnsNotifier({
          topics: { critical: CRITICAL, warning: WARNING },
          client: new SNSClient({ region: 'us-east-1' }),
        }),
        retry: { attempts: 5, baseDelayMs: 5, maxDelayMs: 20 },
        log: (e) => events.push(e),
      },
      { site: 'outage' },
    );
    route53.restore();
    sns.restore();
    expect(out.applied.map((a) => a.kind)).toEqual(['dns']);
    expect(out.failed).toEqual([
      expect.objectContaining({ attempts: 5, error: expect.stringMatching(/slow down|Throttled/) }),
    ]);
    const order = events
      .filter((e) => e.type === 'applied' || e.type === 'dead-letter')
      .map((e) => `${e.type}:${e.action.kind}`);
    expect(order).toEqual(['applied:dns', 'dead-letter:alert']);
    const history = await store.listTransitions('outage');
    expect(history.map((t) => t.kind)).toEqual(['failover', 'action-failed']);
    // The failure itself is a critical alert, waiting for the next dispatch.
    const state = (await store.load('outage'))!;
    expect(state.outbox.filter((a) => a.kind === 'alert')).toEqual([
      expect.objectContaining({ severity: 'critical', event: 'action-failed' }),
    ]);
  });

  it('gives up at once on a permanent error (access denied)', async () => {
    await failover('denied');
    const route53 = mockClient(Route53Client);
    route53.on(ChangeResourceRecordSetsCommand).rejects(
      new Route53ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'not authorized',
      }),
    );
    const out = await dispatchSite(
      {
        config,
        store,
        clock: { now: () => T0 + 4 * 60_000 },
        dns: new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1' }) }),
        wait: noWait,
      },
      { site: 'denied' },
    );
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
    route53.restore();
    expect(out.failed).toEqual([
      expect.objectContaining({ attempts: 1, error: expect.stringMatching(/not authorized/) }),
    ]);
  });

  it('is harmless to run again after a dispatcher killed between applying and clearing its actions', async () => {
    await failover('crash');
    const scratch = inject('scratchDir');
    const configFile = join(scratch, 'dispatch-crash.yaml');
    await writeFile(configFile, configText(SITES));
    const alerts = join(scratch, 'crash.jsonl');
    const child = fork(
      join(REPO_ROOT, 'bin/run-ts.js'),
      ['test/support/dispatch-child.ts', dynamo.endpoint, dynamo.tableName, configFile, alerts, 'crash'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const [message] = (await once(child, 'message')) as [{ type: string }];
    expect(message.type).toBe('applied');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await pending('crash')).toEqual(expect.arrayContaining(['dns', 'alert']));
    expect((await readFile(alerts, 'utf8')).trim().split('\n')).toHaveLength(1);

    const out = await dispatchSite(
      {
        config,
        store,
        clock: { now: () => T0 + 4 * 60_000 },
        dns: new LocalDnsRouter(dns),
        notifier: new ConsoleNotifier({ jsonlPath: alerts, out: () => undefined }),
      },
      { site: 'crash' },
    );
    expect(out.applied.map((a) => a.kind)).toEqual(['dns']); // the UPSERT again: harmless
    expect(out.skipped.map((a) => a.kind)).toContain('alert'); // remembered as sent: not sent twice
    expect((await readFile(alerts, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(dns.getRecord('crash.example.com', 'A')?.values).toEqual(['198.51.100.20']);
    expect(await pending('crash')).toEqual([]);
  }, 60_000);
});

describe('reconcileDns', () => {
  it('puts back a record changed by hand, with a drift transition and a warning alert', async () => {
    await failover('drift');
    const deps = { config, store, clock: { now: () => T0 + 4 * 60_000 }, dns: new LocalDnsRouter(dns) };
    await dispatchSite(deps, { site: 'drift' });
    expect(dns.getRecord('drift.example.com', 'A')?.values).toEqual(['198.51.100.20']);
    dns.setRecord('drift.example.com', 'A', 60, ['192.0.2.66']); // someone edits the zone by hand
    const out = await reconcileDns(deps, { sites: ['drift'] });
    expect(out.drifted).toEqual([{ site: 'drift', name: 'drift.example.com', type: 'A' }]);
    expect((await store.listTransitions('drift')).map((t) => t.kind)).toEqual(['failover', 'dns-drift']);
    await dispatchSite(deps, { site: 'drift' });
    expect(dns.getRecord('drift.example.com', 'A')?.values).toEqual(['198.51.100.20']);
    const again = await reconcileDns(deps, { sites: ['drift'] });
    expect(again).toMatchObject({ checked: 1, drifted: [] });
  });
});
