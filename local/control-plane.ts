import { join, resolve } from 'node:path';
import { DynamoDbCommandStore } from '../shared/adapters/aws/dynamodb-command-store.ts';
import { DynamoDbHistoryStore } from '../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbMaintenanceStore } from '../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbReplayGuard } from '../shared/adapters/aws/dynamodb-replay-guard.ts';
import { DynamoDbStateStore } from '../shared/adapters/aws/dynamodb-state-store.ts';
import { DynamoDbWebhookStore } from '../shared/adapters/aws/dynamodb-webhook-store.ts';
import { agentUpgrade, LocalAgentChannel } from './agent-socket-server.ts';
import { startDnsServer, type DnsServer } from '../shared/adapters/local/dns-server.ts';
import { startDynalite, type LocalDynamo } from '../shared/adapters/local/dynalite.ts';
import { FileAgentKeyring } from '../shared/adapters/local/file-agent-keyring.ts';
import { localApiKeys } from '../shared/adapters/local/file-api-key-store.ts';
import { checkLocalSecrets, ensurePrivateDir } from '../shared/adapters/local/private-dir.ts';
import { LocalDnsRouter } from '../shared/adapters/local/local-dns-router.ts';
import { TtlSweeper } from '../shared/adapters/local/ttl-sweeper.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { ObservationBatch } from '../shared/contracts/observation.ts';
import type { Transition } from '../shared/domain/model.ts';
import type { AgentKeyring } from '../shared/ports/agent-channel.ts';
import type { Clock } from '../shared/ports/clock.ts';
import { apiMaintenanceWindows } from '../shared/ports/maintenance-store.ts';
import type { Notifier } from '../shared/ports/notifier.ts';
import type { DeliveryTicket } from '../shared/ports/webhook-store.ts';
import type { AgentChannelDeps, AgentChannelEvent } from '../shared/usecases/agent/deps.ts';
import { deliverPending, viaChannel } from '../shared/usecases/agent/deliver-pending.ts';
import { sweepCommands } from '../shared/usecases/agent/expire-commands.ts';
import { agentCommandHandler } from '../shared/usecases/agent/issue-command.ts';
import { decideSite, type DecideSiteOutput } from '../shared/usecases/decide-site.ts';
import { dispatchSite, type DispatchEvent } from '../shared/usecases/dispatch.ts';
import { foldHistory } from '../shared/usecases/history/fold-history.ts';
import { reconcileDns } from '../shared/usecases/reconcile-dns.ts';
import type { DeliverOutcome } from '../shared/usecases/webhooks/deliver-webhook.ts';
import { startLocalWebhookDelivery } from '../shared/usecases/webhooks/local-delivery.ts';
import { webhookHandler } from '../shared/usecases/webhooks/publish-webhook-event.ts';
import { createSecretResolver } from '../shared/webhooks/secrets.ts';
import { localSecretBox } from '../shared/webhooks/secret-box.ts';
import { agentRoutes } from '../functions/agent/http.ts';
import type { ApiDeps } from '../functions/api/deps.ts';
import { apiRoutes } from '../functions/api/routes.ts';
import type { HttpRoute } from '../shared/api/http-route.ts';
import { startHttpServer, type EventStreamRoute, type HttpServer } from './http-server.ts';
import type { DecisionOutcome } from './observability.ts';
import { ResendTimers } from './resend-timers.ts';

export interface ControlPlaneOptions {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  readonly notifier: Notifier;
  /** Port of the embedded DNS server (UDP and TCP); 0 picks a free one. */
  readonly dnsPort: number;
  /** Port of the HTTP API, which also serves the agents' WebSocket and polling endpoints; 0 picks a free one. */
  readonly apiPort: number;
  /** Keep the state on disk here (dynalite's LevelDB); in memory when absent. */
  readonly dataDir?: string;
  /**
   * Where the local secrets live, made on first use with mode 0600: the API keys and their pepper, the command
   * signing key (its public half in `agent-signing-key.pub`, for agent.yaml), the challenge secret and the webhook
   * key ring. Kept across runs even when the state is in memory, so that keys and agents keep working.
   */
  readonly secretsDir: string;
  /**
   * Routes served beside the API's (the demo's fault switches); a function gets the API's dependencies, so that its
   * handlers can use the API's middleware (keys, validation, problem details).
   */
  readonly extraRoutes?: readonly HttpRoute[] | ((api: ApiDeps) => readonly HttpRoute[]);
  /** Server-sent event streams served beside the routes; a function gets the API's dependencies like extraRoutes. */
  readonly streams?: (api: ApiDeps) => readonly EventStreamRoute[];
  /** How often DNS records are compared with the state. @default 60 s */
  readonly reconcileEveryMs?: number;
  /** How often finished hours and days of history are folded into hourly and daily rows. @default 5 minutes */
  readonly foldEveryMs?: number;
  /** How often agent commands past their expiry are expired and queued ones pushed again. @default 60 s */
  readonly sweepEveryMs?: number;
  /**
   * How often the next page of the table is read and its items past their `expiresAt` deleted (dynalite has no TTL).
   * @default 10 s, 250 items a page
   */
  readonly ttlSweep?: { readonly everyMs?: number; readonly pageSize?: number };
  readonly onTransition: (transition: Transition) => void;
  readonly onDispatch: (event: DispatchEvent) => void;
  readonly onAgentEvent?: (event: AgentChannelEvent) => void;
  readonly onWebhook?: (outcome: DeliverOutcome, ticket: DeliveryTicket) => void;
  readonly onError: (error: unknown, where: string) => void;
  /** Told how each decision ended (observations, API commands). */
  readonly onDecision?: (site: string, outcome: DecisionOutcome) => void;
}

/** The control region on one machine. */
export interface ControlPlane {
  /** The embedded DNS server; undefined when the configuration manages no DNS record. */
  readonly dns: DnsServer | undefined;
  /** The HTTP API, the agents' WebSocket (`/v1/agent/ws`) and polling endpoints. */
  readonly api: HttpServer;
  readonly dynamo: LocalDynamo;
  readonly store: DynamoDbStateStore;
  /** Each check's outcomes and latency over time. */
  readonly history: DynamoDbHistoryStore;
  /** The keyring commands are signed with; agents need its public key. */
  readonly keys: AgentKeyring;
  /** The API keys (hashed) and their pepper, in the secrets directory. */
  readonly apiKeys: ApiDeps['apiKeys'];
  readonly pepper: ApiDeps['pepper'];
  /** Hands a round's batches to the decider: per site in arrival order, like the FIFO queue's message groups. */
  submit(batches: readonly ObservationBatch[]): void;
  /** Resolves when every submitted batch has been decided and its actions dispatched. */
  idle(): Promise<void>;
  /** Stops taking requests and agents, finishes the decisions and actions in flight, and closes everything. */
  close(): Promise<void>;
}

/**
 * Starts dynalite with the state table, the embedded DNS server answering what each site's state says, the HTTP API
 * with the agent endpoints on one port, local webhook delivery, and the same use cases as the cloud: decideSite per
 * batch (and per API command or agent report), dispatchSite after every decision that left actions, reconcileDns
 * and the agent command sweep on timers.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { config, clock } = options;
  // Every secret file is checked here, at start, not at its first use (an agent's login, a key's first request).
  await checkLocalSecrets(options.secretsDir);
  if (options.dataDir && resolve(options.dataDir) !== resolve(options.secretsDir))
    await ensurePrivateDir(options.dataDir, 'the data directory');
  const dynamo = await startDynalite(options.dataDir ? { path: options.dataDir } : {});
  const closers: (() => Promise<void>)[] = [() => dynamo.close()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch((e) => options.onError(e, 'close'));
  };
  try {
    const { tableName, client } = dynamo;
    const store = new DynamoDbStateStore({ tableName, client, clock });
    const maintenanceStore = new DynamoDbMaintenanceStore({ tableName, client });
    const history = new DynamoDbHistoryStore({ tableName, client, clock });
    const maintenance = apiMaintenanceWindows(maintenanceStore, clock);
    const zones = [...new Set(config.sites.flatMap((s) => s.dns.map((r) => r.zone)))];
    let dns: DnsServer | undefined;
    if (zones.length > 0) {
      dns = await startDnsServer({ port: options.dnsPort, zones, records: await currentRecords(config, store) });
      const server = dns;
      closers.push(() => server.close());
    }

    const secretBox = localSecretBox(join(options.secretsDir, 'webhook-keys'));
    const webhookStore = new DynamoDbWebhookStore({ tableName, client, clock });
    const delivery = startLocalWebhookDelivery({
      store: webhookStore,
      secretBox,
      clock,
      onError: (error, ticket) => options.onError(error, `webhook delivery ${ticket.deliveryId}`),
      ...(options.onWebhook ? { onOutcome: options.onWebhook } : {}),
    });
    closers.push(() => delivery.close());

    const keys = new FileAgentKeyring({ dir: options.secretsDir });
    const channel = new LocalAgentChannel();
    closers.push(() => channel.close());
    const queues = new Map<string, Promise<void>>();
    const run = (site: string, work: () => Promise<void>) => {
      const next = (queues.get(site) ?? Promise.resolve()).then(work).catch((error) => options.onError(error, site));
      queues.set(site, next);
      return next;
    };
    // Not in the site's queue of decisions and dispatches: a hung alert lane must not hold back a resend.
    const resends = new ResendTimers({
      resend: (site) => deliverPending(agentDeps, { site, send: viaChannel(agentDeps, site) }),
      now: () => clock.now(),
      onError: (error, site) => options.onError(error, `agent command resend ${site}`),
    });
    closers.push(() => resends.close());
    const agentDeps: AgentChannelDeps & { channel: LocalAgentChannel } = {
      config,
      clock,
      store,
      commands: new DynamoDbCommandStore({ tableName, client, clock }),
      keys,
      replay: new DynamoDbReplayGuard({ tableName, client, clock }),
      channel,
      maintenance,
      // Agents' inside-out observations join the probe regions' in the site's queue.
      observations: { publish: async (batches) => submit(batches) },
      dispatch: (site) => void run(site, () => dispatch(site)),
      resendAt: (site, at) => resends.at(site, at),
      ...(options.onAgentEvent ? { log: options.onAgentEvent } : {}),
      onError: options.onError,
    };

    const deps = {
      config,
      store,
      clock,
      maintenance,
      history,
      onHistoryError: (error: unknown, site: string) => options.onError(error, `history ${site}`),
      notifier: options.notifier,
      ...(dns ? { dns: new LocalDnsRouter(dns) } : {}),
      agentCommands: agentCommandHandler(agentDeps),
      webhooks: webhookHandler({ store: webhookStore, queue: delivery.queue, clock }),
      log: options.onDispatch,
    };
    const dispatch = async (site: string) => {
      const out = await dispatchSite(deps, { site });
      // Failures given up on leave a critical alert behind: deliver it now rather than at the next decision.
      if (out.failed.length > 0) await dispatchSite(deps, { site });
    };
    const submit = (batches: readonly ObservationBatch[]) => {
      for (const batch of batches) {
        void run(batch.site, async () => {
          const out = await decideSite(deps, { site: batch.site, batches: [batch] }).catch((error: unknown) => {
            options.onDecision?.(batch.site, 'error');
            throw error;
          });
          options.onDecision?.(batch.site, decisionOutcome(out));
          for (const t of out.transitions) options.onTransition(t);
          if (out.state.outbox.some((a) => a.kind !== 'history')) await dispatch(batch.site);
        });
      }
    };

    const { store: apiKeys, pepper } = localApiKeys(options.secretsDir);
    // Read (or made) now, so that a bad secret stops the start instead of failing an agent's login or a request.
    await Promise.all([keys.signingKey(), keys.challengeSecret(), pepper()]);
    const api: ApiDeps = {
      config,
      store,
      clock,
      apiKeys,
      pepper,
      maintenance: maintenanceStore,
      history,
      // The brake's release alert goes to the console and the alert file, as the dispatcher's alerts do.
      notifier: options.notifier,
      webhooks: { store: webhookStore, secretBox, allowPrivateUrls: true },
      // Inbound sources' secrets come from environment variables locally (a Secrets Manager reference is refused).
      hooks: { secrets: createSecretResolver(), replay: new DynamoDbReplayGuard({ tableName, client, clock }) },
      onDecision: (out) => {
        options.onDecision?.(out.state.site, decisionOutcome(out));
        for (const t of out.transitions) options.onTransition(t);
        return run(out.state.site, () => dispatch(out.state.site));
      },
      log: { error: (message, ...extra) => options.onError(new Error(`${message} ${JSON.stringify(extra)}`), 'api') },
    };
    const extra = typeof options.extraRoutes === 'function' ? options.extraRoutes(api) : (options.extraRoutes ?? []);
    const server = await startHttpServer({
      port: options.apiPort,
      routes: [...apiRoutes(api), ...agentRoutes(agentDeps), ...extra],
      upgrade: agentUpgrade(agentDeps),
      streams: options.streams?.(api) ?? [],
      onError: (error, route) => options.onError(error, `${route.method} ${route.path}`),
    });
    // Closed first: no request or agent message starts work while the rest shuts down. The agents are told first
    // (close 1001), so that the server does not just drop their sockets.
    closers.push(async () => {
      await channel.close();
      await server.close();
    });

    // Actions left pending by a previous run (killed mid-failover) are finished first, then webhooks resumed.
    for (const site of config.sites) void run(site.id, () => dispatch(site.id));
    await delivery.resume();

    const fold = () =>
      foldHistory({ config, history, clock })
        .then((out) => {
          for (const f of out.failed) options.onError(f.error, `history fold ${f.site}`);
        })
        .catch((error) => options.onError(error, 'history fold'));
    // Hours that finished while it was stopped are folded at once.
    let folding: Promise<void> | undefined = fold().finally(() => (folding = undefined));
    // The sweeps in flight, so that close() waits for them before the table goes: a query on a closed dynalite
    // throws out of dynalite's own callback and takes the process down.
    let reconciling: Promise<void> | undefined;
    let sweeping: Promise<void> | undefined;
    const timers = [
      setInterval(() => {
        folding ??= fold().finally(() => (folding = undefined));
      }, options.foldEveryMs ?? 300_000),
      setInterval(() => {
        if (!deps.dns || reconciling) return;
        reconciling = reconcileDns({ ...deps, dns: deps.dns })
          .then((out) => {
            for (const d of out.drifted) void run(d.site, () => dispatch(d.site));
            for (const f of out.failed) options.onError(f.error, `reconcile ${f.site}`);
          })
          .catch((error) => options.onError(error, 'reconcile'))
          .finally(() => (reconciling = undefined));
      }, options.reconcileEveryMs ?? 60_000),
      setInterval(() => {
        sweeping ??= sweepCommands(agentDeps)
          .then((out) => {
            for (const f of out.failed) options.onError(f.error, `agent command sweep ${f.site}`);
          })
          .catch((error) => options.onError(error, 'agent command sweep'))
          .finally(() => (sweeping = undefined));
      }, options.sweepEveryMs ?? 60_000),
    ];
    const ttl = new TtlSweeper({
      client,
      tableName,
      now: () => clock.now(),
      pageSize: options.ttlSweep?.pageSize ?? 250,
    });
    let ttlStep: Promise<void> | undefined;
    timers.push(
      setInterval(() => {
        // One page at a time: a slow step is not overtaken by the next.
        ttlStep ??= ttl
          .step()
          .then(() => undefined)
          .catch((error) => options.onError(error, 'TTL sweep'))
          .finally(() => (ttlStep = undefined));
      }, options.ttlSweep?.everyMs ?? 10_000),
    );
    for (const timer of timers) timer.unref();

    const idle = async () => {
      for (let settled = 0; settled !== queues.size;) {
        settled = queues.size;
        await Promise.all(queues.values());
      }
      await delivery.idle();
    };
    return {
      dns,
      api: server,
      dynamo,
      store,
      history,
      keys,
      apiKeys,
      pepper,
      submit,
      idle,
      async close() {
        for (const timer of timers) clearInterval(timer);
        // The server and the agents go first; then the decisions and actions in flight finish.
        const server = closers.pop()!;
        await server();
        await idle();
        await Promise.all([ttlStep, folding, reconciling, sweeping]);
        await idle();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
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

function decisionOutcome(out: Pick<DecideSiteOutput, 'transitions' | 'written'>): DecisionOutcome {
  return out.transitions.length > 0 ? 'transition' : out.written ? 'updated' : 'unchanged';
}
