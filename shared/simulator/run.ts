import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbStateStore } from '../adapters/aws/dynamodb-state-store.ts';
import { createTable } from '../adapters/aws/table.ts';
import { startDynalite } from '../adapters/local/dynalite.ts';
import type { ObservationBatch } from '../contracts/observation.ts';
import type { OperatorCommand, SiteState } from '../domain/model.ts';
import type { Clock } from '../ports/clock.ts';
import type { Notifier } from '../ports/notifier.ts';
import { BrakeNotEngagedError, releaseBrakeNow } from '../usecases/operator/brake.ts';
import { planRounds } from '../probes/schedule.ts';
import { completeActions } from '../usecases/complete-actions.ts';
import { decideSite } from '../usecases/decide-site.ts';
import { CountingStateStore } from './counting-store.ts';
import { agentBatch, batchEndMs, regionBatch } from './observations.ts';
import type { SimEffect, SimRejection, SimRelease, SimTransition } from './records.ts';
import type { BrakeReleaseCommand, Scenario } from './scenario.ts';
import { checkExpectations, judgeFailovers, summarize, type ExpectationResult, type Summary } from './summary.ts';
import { Timeline } from './timeline.ts';

/** Everything a run produced. */
export interface SimulationResult {
  readonly scenario: Scenario;
  readonly transitions: readonly SimTransition[];
  readonly effects: readonly SimEffect[];
  readonly rejected: readonly SimRejection[];
  /** The brake's releases by `release-brake` commands. */
  readonly releases: readonly SimRelease[];
  readonly finalState: SiteState | null;
  readonly summary: Summary;
  readonly expectations: readonly ExpectationResult[];
  /** Every expectation met. */
  readonly passed: boolean;
}

/** A DynamoDB endpoint to run on: one started with startDynalite (or compatible). */
export interface SimulationDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBDocumentClient;
}

export interface SimulateOptions {
  /**
   * Run against this endpoint, in a table of its own created for the run (so that runs never share state). Default:
   * an in-process dynalite started for the run and stopped after it.
   */
  readonly dynamo?: SimulationDynamo;
  /** Keep the stored state when a batch only makes it fresher (decideSite's default); false writes every change. */
  readonly skipFreshOnly?: boolean;
}

/** The Clock port on virtual time: the simulation sets it before each decision. */
export class VirtualClock implements Clock {
  #now: number;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}

type Step =
  | { readonly atMs: number; readonly order: number; readonly site: string; readonly batch: ObservationBatch }
  | { readonly atMs: number; readonly order: number; readonly site: string; readonly command: OperatorCommand }
  | { readonly atMs: number; readonly order: number; readonly release: BrakeReleaseCommand };

let tables = 0;

/**
 * Replays a scenario on a virtual clock through the real engine (decideSite) and the real DynamoDB adapter: every
 * region's round becomes one batch decided at its round time, commands are decided at theirs, and after each decision
 * an instant dispatcher records the new effects and completes them, so the outbox never grows.
 */
export async function simulate(scenario: Scenario, options: SimulateOptions = {}): Promise<SimulationResult> {
  const own = options.dynamo ? undefined : await startDynalite({ tableName: 'simulation' });
  const dynamo = options.dynamo ?? own!;
  const tableName = own ? own.tableName : `simulation-${process.pid}-${++tables}`;
  try {
    if (!own) await createFreshTable(dynamo.endpoint, tableName);
    return await run(scenario, dynamo.client, tableName, options.skipFreshOnly ?? true);
  } finally {
    await own?.close();
  }
}

async function createFreshTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await createTable(client, tableName);
  } finally {
    client.destroy();
  }
}

async function run(
  scenario: Scenario,
  client: DynamoDBDocumentClient,
  tableName: string,
  skipFreshOnly: boolean,
): Promise<SimulationResult> {
  const { site, startMs, durationMs } = scenario;
  const clock = new VirtualClock(startMs);
  const store = new CountingStateStore(new DynamoDbStateStore({ tableName, client, clock }));
  const timeline = new Timeline(scenario);
  const windows = timeline.maintenanceWindows();
  const deps = { config: scenario.config, store, clock, maintenance: async () => windows, skipFreshOnly };

  const transitions: SimTransition[] = [];
  const effects: SimEffect[] = [];
  const rejected: SimRejection[] = [];
  const releases: SimRelease[] = [];
  const finalStates = new Map<string, SiteState | null>();
  let decisions = 0;
  let batches = 0;
  let skippedWrites = 0;

  // The brake's release alert is an effect like any other: recorded by the instant dispatcher, never sent.
  const recorder: Notifier = {
    notify: async (alert) => {
      effects.push({ offsetMs: clock.now() - startMs, action: alert });
      return { detail: 'recorded by the simulation' };
    },
  };
  for (const step of steps(scenario, timeline)) {
    clock.set(step.atMs);
    const offsetMs = step.atMs - startMs;
    if ('release' in step) {
      const { by, reason } = step.release;
      try {
        const out = await releaseBrakeNow(
          { config: scenario.config, store, clock, notifier: recorder },
          { by, reason },
        );
        releases.push({ offsetMs, release: out.release });
      } catch (error) {
        if (!(error instanceof BrakeNotEngagedError)) throw error;
        rejected.push({ offsetMs, command: step.release, reason: error.message });
      }
      continue;
    }
    const out = await decideSite(
      deps,
      'batch' in step ? { site: step.site, batches: [step.batch] } : { site: step.site, commands: [step.command] },
    );
    decisions++;
    if ('batch' in step) batches++;
    if (out.skipped) skippedWrites++;
    finalStates.set(step.site, out.state);
    for (const t of out.transitions) {
      const operator = 'command' in step && commandKinds[step.command.type].includes(t.kind);
      transitions.push({ transition: t, offsetMs, trigger: operator ? 'operator' : 'automatic' });
    }
    for (const r of out.rejected) rejected.push({ offsetMs, command: r.command, reason: r.reason });
    const applied = out.actions.filter((a): a is SimEffect['action'] => a.kind !== 'history');
    for (const action of applied) effects.push({ offsetMs, action });
    if (applied.length > 0) {
      finalStates.set(step.site, await completeActions({ store }, { site: step.site, ids: applied.map((a) => a.id) }));
    }
  }
  const finalState = finalStates.get(site.id) ?? null;

  const judged = judgeFailovers(transitions, timeline.faultEpisodes(), site.policy.intervalSeconds * 1000);
  const summary = summarize({
    scenario,
    transitions: judged,
    effects,
    rejected,
    finalState,
    finalStates: scenario.sites.map((s) => finalStates.get(s.id) ?? null),
    decisions,
    batches,
    skippedWrites,
    store,
    durationMs,
  });
  const expectations = checkExpectations(scenario, judged, summary);
  return {
    scenario,
    transitions: judged,
    effects,
    rejected,
    releases,
    finalState,
    summary,
    expectations,
    passed: expectations.every((e) => e.met),
  };
}

/** Transition kinds an operator command causes directly. */
const commandKinds: Record<OperatorCommand['type'], readonly string[]> = {
  override: ['override'],
  'clear-override': ['override-cleared'],
  failover: ['failover'],
  failback: ['failback'],
  acknowledge: ['acknowledged'],
};

/**
 * Every decision of the run in time order: region batches (by region), then the agent's, then commands. A batch is
 * decided when its round ends (after any confirming retry), as it reaches the decider in a real deployment.
 */
function steps(scenario: Scenario, timeline: Timeline): Step[] {
  const { config, startMs, durationMs } = scenario;
  const end = startMs + durationMs;
  const out: Step[] = [];
  // Each site of a fleet is the site as written, under its own id: one batch per site per round, in site order.
  const count = scenario.sites.length;
  scenario.sites.forEach((site, siteIndex) => {
    const view: Scenario = { ...scenario, site };
    config.regions.probe.forEach((region, regionIndex) => {
      for (const round of planRounds(config, region, startMs, end)) {
        const checks = round.checks.filter((c) => c.site === null || c.site === site.id);
        const batch = regionBatch(view, timeline, { region, regionIndex, ...round, checks });
        const order = regionIndex * count + siteIndex;
        if (batch) out.push({ atMs: batchEndMs(view, batch, site.checks), order, site: site.id, batch });
      }
    });
    if (site.agent && site.dependencies.length > 0) {
      const intervalMs = site.policy.intervalSeconds * 1000;
      for (let at = Math.ceil(startMs / intervalMs) * intervalMs; at < end; at += intervalMs) {
        site.links.forEach((link, i) => {
          const batch = agentBatch(view, timeline, link.id, at);
          const order = 1_000_000 + i * count + siteIndex;
          if (batch) out.push({ atMs: batchEndMs(view, batch, site.checks), order, site: site.id, batch });
        });
      }
    }
    for (const c of timeline.commands()) {
      if (c.command.type === 'release-brake') continue;
      out.push({
        atMs: startMs + c.atMs,
        order: 2_000_000 + c.index * count + siteIndex,
        site: site.id,
        command: c.command,
      });
    }
  });
  // A release is the fleet's: one decision after the sites' commands of its instant.
  for (const c of timeline.commands())
    if (c.command.type === 'release-brake')
      out.push({ atMs: startMs + c.atMs, order: 3_000_000 + c.index, release: c.command });
  return out.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
}
