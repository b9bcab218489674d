import { DynamoDbStateStore } from '../shared/adapters/aws/dynamodb-state-store.ts';
import { startDnsServer, type DnsServer } from '../shared/adapters/local/dns-server.ts';
import { startDynalite, type LocalDynamo } from '../shared/adapters/local/dynalite.ts';
import { LocalDnsRouter } from '../shared/adapters/local/local-dns-router.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { ObservationBatch } from '../shared/contracts/observation.ts';
import type { Transition } from '../shared/domain/model.ts';
import type { Clock } from '../shared/ports/clock.ts';
import type { Notifier } from '../shared/ports/notifier.ts';
import { decideSite } from '../shared/usecases/decide-site.ts';
import { dispatchSite, type DispatchEvent } from '../shared/usecases/dispatch.ts';
import { reconcileDns } from '../shared/usecases/reconcile-dns.ts';

export interface ControlPlaneOptions {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /** Port of the embedded DNS server (UDP and TCP); 0 picks a free one. */
  readonly dnsPort: number;
  /** Keep the state on disk here (dynalite's LevelDB); in memory when absent. */
  readonly dataDir?: string;
  /** How often DNS records are compared with the state. @default 60 s */
  readonly reconcileEveryMs?: number;
  readonly onTransition: (transition: Transition) => void;
  readonly onDispatch: (event: DispatchEvent) => void;
  readonly onError: (error: unknown, where: string) => void;
}

/** The control region on one machine: the decider, the dispatcher and the embedded DNS server. */
export interface ControlPlane {
  /** The embedded DNS server; undefined when the configuration manages no DNS record. */
  readonly dns: DnsServer | undefined;
  readonly dynamo: LocalDynamo;
  readonly store: DynamoDbStateStore;
  /** Hands a round's batches to the decider: per site in arrival order, like the FIFO queue's message groups. */
  submit(batches: readonly ObservationBatch[]): void;
  /** Resolves when every submitted batch has been decided and its actions dispatched. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts dynalite with the state table, the embedded DNS server answering what each site's state says, and the
 * same use cases as the cloud: decideSite per batch, dispatchSite after every decision that left actions, and
 * reconcileDns on a timer.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { config, clock } = options;
  const dynamo = await startDynalite(options.dataDir ? { path: options.dataDir } : {});
  let dns: DnsServer | undefined;
  try {
    const store = new DynamoDbStateStore({ tableName: dynamo.tableName, client: dynamo.client, clock });
    const zones = [...new Set(config.sites.flatMap((s) => s.dns.map((r) => r.zone)))];
    if (zones.length > 0)
      dns = await startDnsServer({ port: options.dnsPort, zones, records: await currentRecords(config, store) });
    const deps = { config, store, clock, notifier: options.notifier, ...(dns ? { dns: new LocalDnsRouter(dns) } : {}) };
    const queues = new Map<string, Promise<void>>();

    const dispatch = async (site: string) => {
      const out = await dispatchSite({ ...deps, log: options.onDispatch }, { site });
      // Failures given up on leave a critical alert behind: deliver it now rather than at the next decision.
      if (out.failed.length > 0) await dispatchSite({ ...deps, log: options.onDispatch }, { site });
    };
    const run = (site: string, work: () => Promise<void>) => {
      const next = (queues.get(site) ?? Promise.resolve()).then(work).catch((error) => options.onError(error, site));
      queues.set(site, next);
    };
    // Actions left pending by a previous run (killed mid-failover) are finished first.
    for (const site of config.sites) run(site.id, () => dispatch(site.id));

    const reconcile = setInterval(() => {
      if (!deps.dns) return;
      reconcileDns({ ...deps, dns: deps.dns })
        .then((out) => {
          for (const d of out.drifted) run(d.site, () => dispatch(d.site));
          for (const f of out.failed) options.onError(f.error, `reconcile ${f.site}`);
        })
        .catch((error) => options.onError(error, 'reconcile'));
    }, options.reconcileEveryMs ?? 60_000);
    reconcile.unref();

    const idle = async () => {
      for (let settled = 0; settled !== queues.size;) {
        settled = queues.size;
        await Promise.all(queues.values());
      }
    };
    return {
      dns,
      dynamo,
      store,
      submit(batches) {
        for (const batch of batches) {
          run(batch.site, async () => {
            const out = await decideSite(deps, { site: batch.site, batches: [batch] });
            for (const t of out.transitions) options.onTransition(t);
            if (out.state.outbox.some((a) => a.kind !== 'history')) await dispatch(batch.site);
          });
        }
      },
      idle,
      async close() {
        clearInterval(reconcile);
        await idle();
        await dns?.close();
        await dynamo.close();
      },
    };
  } catch (error) {
    await dns?.close();
    await dynamo.close();
    throw error;
  }
}

/** What each managed record should answer now: the values of its site's active link (the primary before any state). */
async function currentRecords(config: FailoverConfig, store: DynamoDbStateStore) {
  const records = [];
  for (const site of config.sites) {
    const state = await store.load(site.id);
    const link = state?.activeLink ?? site.primary.id;
    for (const r of site.dns) records.push({ name: r.name, type: r.type, ttl: r.ttl, values: r.values[link] ?? [] });
  }
  return records;
}
