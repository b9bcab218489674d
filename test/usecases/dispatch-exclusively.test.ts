import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbDispatchLease } from '../../shared/adapters/aws/dynamodb-dispatch-lease.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { Outcome } from '../../shared/contracts/observation.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import type { Notifier } from '../../shared/ports/notifier.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { dispatchExclusively, type DispatchExclusivelyDeps } from '../../shared/usecases/dispatch-exclusively.ts';
import { testBatch } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

let dynamo: LocalDynamo;
let store: DynamoDbStateStore;
let lease: DynamoDbDispatchLease;
let config: FailoverConfig;

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'dispatch-exclusively-test' });
  store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client });
  lease = new DynamoDbDispatchLease({ tableName: dynamo.tableName, client: dynamo.client });
  config = parseConfig(
    twoLinkConfigYaml({
      regions: REGIONS,
      policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
      extra: 'contacts: [{ name: noc, email: noc@example.com }]',
      sites: [{ id: 'hq' }],
    }).replace('control: us-east-1', 'control: [us-west-2, us-east-2], witness: us-east-1'),
  ).config!;
});
afterAll(() => dynamo.close());

/** One round of every region, decided at its own time. */
async function decide(round: number, fiber: Outcome, lte: Outcome): Promise<void> {
  const at = T0 + round * 60_000;
  const batches = REGIONS.map((region) =>
    testBatch({
      site: 'hq',
      vantage: `region:${region}`,
      at,
      results: [
        { check: 'web-fiber', link: 'fiber', outcome: fiber },
        { check: 'web-lte', link: 'lte', outcome: lte },
      ],
    }),
  );
  await decideSite({ config, store, clock: { now: () => at + 5_000 } }, { site: 'hq', batches });
}

describe('dispatchExclusively', () => {
  it('leaves a site whose lease another region holds, and applies what was committed while it held the lease', async () => {
    for (const [round, fiber] of (['up', 'up', 'down', 'down'] as const).entries()) await decide(round, fiber, 'up');
    expect((await store.load('hq'))!.mode).toBe('BACKUP_ACTIVE');
    const jsonl = join(inject('scratchDir'), 'dispatch-exclusively.jsonl');
    const console = new ConsoleNotifier({ jsonlPath: jsonl, out: () => undefined });
    const now = T0 + 4 * 60_000;
    const depsOf = (holder: string, notifier: Notifier): DispatchExclusivelyDeps => ({
      config,
      store,
      clock: { now: () => now },
      notifier,
      lease,
      holder,
      leaseMs: 240_000,
      wait: async () => undefined,
    });

    // The standby holds the lease: the primary does nothing.
    expect(await lease.acquire('hq', 'us-east-2', now, now + 240_000)).toBe(true);
    const left = await dispatchExclusively(depsOf('us-west-2', console), { site: 'hq' });
    expect(left).toMatchObject({ heldElsewhere: true, applied: [], skipped: [], failed: [] });
    await lease.release('hq', 'us-east-2');

    // The primary takes it. While it sends the failover alert, the next rounds are decided (the backup fails too:
    // a new critical alert) and the standby, woken by that write, finds the lease taken and leaves.
    let raced: Awaited<ReturnType<typeof dispatchExclusively>> | undefined;
    const racing: Notifier = {
      notify: async (alert: AlertAction) => {
        const sent = await console.notify(alert);
        if (!raced) {
          await decide(4, 'down', 'down');
          await decide(5, 'down', 'down');
          raced = await dispatchExclusively(depsOf('us-east-2', console), { site: 'hq' });
        }
        return sent;
      },
    };
    const out = await dispatchExclusively(depsOf('us-west-2', racing), { site: 'hq' });

    expect(raced).toMatchObject({ heldElsewhere: true, applied: [] });
    expect((await store.load('hq'))!.mode).toBe('BOTH_DOWN');
    expect(out.heldElsewhere).toBe(false);
    // Both alerts applied, by the primary, once each: the second in its pass after giving the lease up.
    expect(out.applied.filter((a) => a.kind === 'alert')).toHaveLength(2);
    const sent = (await readFile(jsonl, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; severity: string });
    expect(sent.map((a) => a.severity)).toEqual(['critical', 'critical']);
    expect(new Set(sent.map((a) => a.event)).size).toBe(2);
    expect((await store.load('hq'))!.outbox.filter((a) => a.kind !== 'history')).toEqual([]);
    // And the lease is free again for whoever is next.
    expect(await lease.acquire('hq', 'us-east-2', now, now + 240_000)).toBe(true);
  });
});
