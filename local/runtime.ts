import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlPlanePublicKey } from '../shared/adapters/local/file-agent-keyring.ts';
import type { AgentLogger } from '../shared/agent/log.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { Clock } from '../shared/ports/clock.ts';
import { runRound, toSiteBatches, type RoundResult } from '../shared/probes/round.ts';
import { planRounds } from '../shared/probes/schedule.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { demoAgentSites, startDemoAgent, type DemoAgent } from './demo-agent.ts';
import { demoFaultRoutes, ensureDemoApiKey } from './demo-api.ts';
import { DemoFaults } from './demo-faults.ts';
import { startDemoTargets, type DemoTarget } from './demo-targets.ts';
import { LiveEvents } from './live-events.ts';
import { dnsAnswers, observabilityRoutes, RuntimeMetrics, within } from './observability.ts';
import { WEB_DIR } from './web-build.ts';
import { webRoutes } from './web-routes.ts';
import { loadWebAssets, type WebAssets } from '../shared/api/web-assets.ts';
import { regionVantage } from '../shared/contracts/ids.ts';

export interface LocalRuntimeOptions {
  readonly config: FailoverConfig;
  readonly clock: Clock;
  /** Stop each region after this many rounds; run until stopped when absent. */
  readonly rounds?: number;
  /** Told about every finished round. */
  readonly onRound: (round: RoundResult) => void;
  /** Told about a failure in one round or one site's decision; the rest carries on. */
  readonly onError: (error: unknown, where: string) => void;
  /** The decider, the dispatcher and the DNS server; without it, the runtime only probes. */
  readonly control?: Omit<ControlPlaneOptions, 'config' | 'clock' | 'onError'>;
  /** The configuration's file, for messages that name a setting to change. */
  readonly configFile?: string;
  /** Where the demo agents log (see LocalRuntime.agents). @default nowhere */
  readonly demoAgentLog?: AgentLogger;
  /** The web build served at `/` (dashboard) and `/status` (status page). @default WEB_DIR (dist/web) */
  readonly webDir?: string;
}

/** The system on one machine: demo targets and one probe worker per configured region. */
export interface LocalRuntime {
  readonly targets: readonly DemoTarget[];
  readonly control: ControlPlane | undefined;
  /** The demo's fault switches (demo targets, probe regions, voice loss), also served at `/v1/demo/faults`. */
  readonly faults: DemoFaults;
  /**
   * With a control plane and demo targets: the in-process agents of the sites whose agent key is the demo key
   * (examples/demo-agent.key), and the demo's write API key, in `<secretsDir>/demo-api-key`.
   */
  readonly agents: readonly DemoAgent[];
  readonly demoApiKey: { readonly key: string; readonly file: string } | undefined;
  /** The dashboard's build as served (its `problem` says why the pages are missing, when they are). */
  readonly web: WebAssets;
  /** What `GET /v1/events` streams to the dashboard. */
  readonly events: LiveEvents;
  /** The Prometheus metrics served at `/metrics` on the API port. */
  readonly metrics: RuntimeMetrics;
  /** Counted since the start, across regions (the local counterpart of the probe function's metrics). */
  readonly counters: RuntimeCounters;
  /** Resolves when every worker has finished (after `rounds`, or after stop()). */
  readonly done: Promise<void>;
  /**
   * Stops the workers (in-flight rounds are aborted), lets the decisions and actions in flight finish, stops the
   * demo agents (an action in progress finishes and is acked), then closes the control plane and the demo targets.
   */
  stop(): Promise<void>;
}

/** What the local runtime counts as it runs. */
export interface RuntimeCounters {
  /** Rounds that ran to the end. */
  readonly rounds: number;
  /** Checks a round's budget kept from running (`SkippedChecks` in the cloud): their region abstained on them. */
  readonly skippedChecks: number;
}

/**
 * Starts demo targets, the control plane, and with demo targets the demo's fault routes, API key and agents, then a
 * worker per probe region that runs its rounds at their scheduled, staggered times.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config, clock } = options;
  const targets = await startDemoTargets(
    config.local.demoTargets,
    options.configFile ? { configFile: options.configFile } : {},
  );
  const faults = new DemoFaults({ config, targets, now: () => clock.now() });
  const demo = config.local.demoTargets.length > 0;
  let control: ControlPlane | undefined;
  const agents: DemoAgent[] = [];
  const scratch: string[] = [];
  let demoApiKey: LocalRuntime['demoApiKey'];
  const metrics = new RuntimeMetrics({ config, store: () => control?.store });
  const events = new LiveEvents();
  const web = loadWebAssets(options.webDir ?? WEB_DIR);
  const working = new Set<string>();
  let started = false;
  const readiness = {
    store: async () => {
      if (!control) return 'starting';
      const store = control.store;
      return within(
        store.load(config.sites[0]!.id).then(() => undefined),
        2000,
        'the state store',
      );
    },
    dns: async () => {
      if (!control) return 'starting';
      const dns = control.dns;
      const zone = config.sites.flatMap((s) => s.dns.map((r) => r.zone))[0];
      return dns && zone ? dnsAnswers(dns.host, dns.port, zone) : undefined;
    },
    probeWorkers: async () => {
      const idle = config.regions.probe.filter((r) => !working.has(r));
      if (idle.length === 0) return undefined;
      return `${started ? 'stopped' : 'not started'}: ${idle.join(', ')}`;
    },
  };
  const cleanUp = async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
    await control?.close();
    await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    await Promise.all(targets.map((t) => t.close()));
  };
  try {
    if (options.control) {
      const given = options.control.extraRoutes;
      const { onTransition, onDispatch, onDecision } = options.control;
      control = await startControlPlane({
        ...options.control,
        config,
        clock,
        onError: options.onError,
        onTransition: (t) => {
          metrics.transition(t);
          events.transition(t);
          onTransition(t);
        },
        onDispatch: (e) => {
          metrics.dispatch(e);
          onDispatch(e);
        },
        onDecision: (site, outcome) => {
          metrics.decision(site, outcome);
          if (outcome === 'updated') events.state(site, clock.now());
          onDecision?.(site, outcome);
        },
        extraRoutes: (api) => [
          ...(typeof given === 'function' ? given(api) : (given ?? [])),
          ...(demo ? demoFaultRoutes(faults, api) : []),
          ...observabilityRoutes(metrics, readiness),
          ...webRoutes(
            web,
            config.statusPages.map((p) => p.id),
          ),
        ],
        streams: (api) => [events.route(api)],
      });
      if (demo) {
        const { secretsDir, dataDir } = options.control;
        const keyDeps = { store: control.apiKeys, pepper: control.pepper, clock };
        demoApiKey = await ensureDemoApiKey(keyDeps, secretsDir);
        const controlPlaneKey = await controlPlanePublicKey(control.keys);
        for (const site of await demoAgentSites(config)) {
          // Command ids restart with an in-memory state, so the agent's memory of them must not outlive it.
          const stateDir = dataDir
            ? join(dataDir, 'demo-agent', site.id)
            : await mkdtemp(join(tmpdir(), `failover-demo-agent-${site.id}-`));
          if (!dataDir) scratch.push(stateDir);
          const to = options.demoAgentLog;
          const log: AgentLogger = {
            log: (level, event, message, fields) => to?.log(level, event, message, { site: site.id, ...fields }),
          };
          agents.push(
            await startDemoAgent({ site, apiUrl: control.api.url, controlPlaneKey, secretsDir, stateDir, log }),
          );
        }
      }
    }
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const controller = new AbortController();
  const signal = controller.signal;
  // Every in-flight check of every region listens on this one signal (and lets go when done): not a leak.
  setMaxListeners(0, signal);
  const counters = { rounds: 0, skippedChecks: 0 };
  const horizonMs = Math.max(...config.sites.map((s) => s.policy.intervalSeconds)) * 1000 + 1;

  const worker = async (region: string): Promise<void> => {
    const inFlight = new Set<Promise<void>>();
    let from = clock.now();
    working.add(region);
    started = true;
    for (let n = 0; options.rounds === undefined || n < options.rounds; n++) {
      const next = planRounds(config, region, from, from + horizonMs)[0];
      if (!next || signal.aborted) break;
      const delay = next.atMs - clock.now();
      if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      from = next.atMs + 1;
      const running = runRound({
        vantage: regionVantage(region),
        probe: faults.probeFor(region),
        roundId: next.roundId,
        checks: next.checks,
        concurrency: config.probing.concurrency,
        jitterMs: config.probing.jitterMs,
        budgetMs: config.probing.roundBudgetMs,
        clock,
        signal,
      })
        .then((round) => {
          if (signal.aborted) return;
          metrics.round(region, round, next.atMs);
          counters.rounds++;
          counters.skippedChecks += round.skipped.length;
          options.onRound(round);
          control?.submit(toSiteBatches(round));
        })
        .catch((error: unknown) => options.onError(error, region));
      inFlight.add(running);
      void running.finally(() => inFlight.delete(running));
    }
    working.delete(region);
    await Promise.all(inFlight);
  };

  const done = Promise.all(config.regions.probe.map(worker)).then(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    targets,
    control,
    faults,
    agents,
    demoApiKey,
    web,
    events,
    metrics,
    counters,
    done,
    stop: () =>
      (stopping ??= (async () => {
        controller.abort();
        await done;
        await control?.idle();
        await cleanUp();
      })()),
  };
}
