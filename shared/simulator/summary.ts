import type { SiteMode, SiteState, TransitionKind } from '../domain/model.ts';
import { formatOffset } from './duration.ts';
import type { SimEffect, SimRejection, SimTransition } from './records.ts';
import type { Scenario, Span } from './scenario.ts';
import { COUNTED, type Count } from './schema.ts';

/** The numbers of a run; docs/scenarios.md defines each. */
export interface Summary {
  readonly failovers: number;
  readonly failbacks: number;
  /** Returns to a working link out of BOTH_DOWN (not counted as failbacks). */
  readonly recovered: number;
  readonly bothDown: number;
  /** Automatic failovers the ground truth did not justify. */
  readonly falseFailovers: number;
  /** Seconds from the start of the primary's fault to the first justified automatic failover; null without one. */
  readonly detectionSeconds: number | null;
  /** Alerts sent to people. */
  readonly alerts: number;
  /** Alerts recorded only (maintenance or override). */
  readonly alertsSuppressed: number;
  readonly webhooks: number;
  readonly dnsChanges: number;
  readonly agentCommands: number;
  readonly rejectedCommands: number;
  /** Transitions by kind (kinds that never happened are left out). */
  readonly transitionsByKind: Partial<Record<TransitionKind, number>>;
  /** The (first) site's mode and link at the end. */
  readonly finalMode: SiteMode;
  readonly finalLink: string;
  /** How many sites were simulated: 1, or the scenario's `fleet`. */
  readonly sites: number;
  /** Sites by their mode at the end (every site of a fleet). */
  readonly finalModes: Partial<Record<SiteMode, number>>;
  /** Sites by the link traffic is on at the end. */
  readonly finalLinks: Partial<Record<string, number>>;
  /** decideSite calls: one per batch and per command. */
  readonly decisions: number;
  readonly batches: number;
  /** DynamoDB requests that wrote: state items (conditional puts) and history items. */
  readonly dynamoWrites: { readonly state: number; readonly history: number; readonly total: number };
  /** Batches whose state was only fresher than the stored one: no write (docs/state.md, "Writes"). */
  readonly skippedWrites: number;
  /** State writes per batch (a batch is one site's round from one vantage): at most 1 plus flushes of history. */
  readonly stateWritesPerBatch: number;
  readonly dynamoReads: number;
  /** Actions left in the outbox at the end (0: the dispatcher kept up). */
  readonly pendingActions: number;
}

/** One expectation of the scenario and how the run did against it. */
export interface ExpectationResult {
  readonly name: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly met: boolean;
}

/** Computes the summary of a run from what it recorded. */
export function summarize(run: {
  scenario: Scenario;
  transitions: readonly SimTransition[];
  effects: readonly SimEffect[];
  rejected: readonly SimRejection[];
  finalState: SiteState | null;
  /** Every simulated site's state at the end, in site order (null: never decided). */
  finalStates: readonly (SiteState | null)[];
  decisions: number;
  batches: number;
  skippedWrites: number;
  store: { reads: number; stateWrites: number; historyWrites: number };
  durationMs: number;
}): Summary {
  const kinds: Partial<Record<TransitionKind, number>> = {};
  for (const { transition } of run.transitions) kinds[transition.kind] = (kinds[transition.kind] ?? 0) + 1;
  const effects = (kind: SimEffect['action']['kind']) => run.effects.filter((e) => e.action.kind === kind);
  const alerts = effects('alert').map((e) => e.action as Extract<SimEffect['action'], { kind: 'alert' }>);
  const detected = run.transitions.find(
    (t) => t.transition.kind === 'failover' && typeof t.detectionSeconds === 'number',
  );
  return {
    failovers: kinds.failover ?? 0,
    failbacks: kinds.failback ?? 0,
    recovered: kinds.recovered ?? 0,
    bothDown: kinds['both-down'] ?? 0,
    falseFailovers: run.transitions.filter((t) => t.falseFailover === true).length,
    detectionSeconds: detected?.detectionSeconds ?? null,
    alerts: alerts.filter((a) => !a.suppressed).length,
    alertsSuppressed: alerts.filter((a) => a.suppressed).length,
    webhooks: effects('webhook').length,
    dnsChanges: effects('dns').length,
    agentCommands: effects('agent-command').length,
    rejectedCommands: run.rejected.length,
    transitionsByKind: kinds,
    finalMode: run.finalState?.mode ?? 'PRIMARY_ACTIVE',
    finalLink: run.finalState?.activeLink ?? run.scenario.site.primary.id,
    sites: run.finalStates.length,
    finalModes: tally(run.finalStates.map((st) => st?.mode ?? 'PRIMARY_ACTIVE')),
    finalLinks: tally(run.finalStates.map((st) => st?.activeLink ?? run.scenario.site.primary.id)),
    decisions: run.decisions,
    batches: run.batches,
    dynamoWrites: {
      state: run.store.stateWrites,
      history: run.store.historyWrites,
      total: run.store.stateWrites + run.store.historyWrites,
    },
    skippedWrites: run.skippedWrites,
    stateWritesPerBatch: run.batches === 0 ? 0 : Math.round((run.store.stateWrites / run.batches) * 1000) / 1000,
    dynamoReads: run.store.reads,
    pendingActions: run.finalStates.reduce((n, st) => n + (st?.outbox.length ?? 0), 0),
  };
}

function tally<K extends string>(values: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

const inCount = (count: Count, n: number) =>
  typeof count === 'number' ? n === count : (count.min ?? 0) <= n && n <= (count.max ?? Number.POSITIVE_INFINITY);

/** Checks each expectation of the scenario against the run, in the order docs/scenarios.md lists them. */
export function checkExpectations(
  scenario: Scenario,
  transitions: readonly SimTransition[],
  summary: Summary,
): ExpectationResult[] {
  const e = scenario.expect;
  const out: ExpectationResult[] = [];
  const add = (name: string, expected: unknown, actual: unknown, met: boolean) =>
    out.push({ name, expected, actual, met });

  for (const key of COUNTED) {
    const expected = e[key];
    if (expected !== undefined) add(key, expected, summary[key], inCount(expected, summary[key]));
  }
  const detection = summary.detectionSeconds;
  if (e.maxDetectionSeconds !== undefined)
    add(
      'maxDetectionSeconds',
      e.maxDetectionSeconds,
      detection,
      detection !== null && detection <= e.maxDetectionSeconds,
    );
  if (e.minDetectionSeconds !== undefined)
    add(
      'minDetectionSeconds',
      e.minDetectionSeconds,
      detection,
      detection !== null && detection >= e.minDetectionSeconds,
    );
  // With a fleet, finalMode and finalLink must hold at every site; the actual value lists what the sites ended in.
  const every = (tallied: Partial<Record<string, number>>, wanted: string, single: string) => {
    const keys = Object.keys(tallied);
    const actual = summary.sites === 1 ? single : keys.map((k) => `${k} x${tallied[k]}`).join(', ');
    return { actual, met: (tallied[wanted] ?? 0) === summary.sites };
  };
  if (e.finalMode !== undefined) {
    const r = every(summary.finalModes, e.finalMode, summary.finalMode);
    add('finalMode', e.finalMode, r.actual, r.met);
  }
  if (e.finalLink !== undefined) {
    const r = every(summary.finalLinks, e.finalLink, summary.finalLink);
    add('finalLink', e.finalLink, r.actual, r.met);
  }
  for (const [mode, expected] of Object.entries(e.finalModes ?? {}) as [SiteMode, Count][]) {
    const actual = summary.finalModes[mode] ?? 0;
    add(`finalModes.${mode}`, expected, actual, inCount(expected, actual));
  }
  if (e.transitions !== undefined) {
    const actual = transitions.map((t) => t.transition.kind).filter((k) => k !== 'reminder');
    add('transitions', e.transitions, actual, JSON.stringify(actual) === JSON.stringify(e.transitions));
  }
  for (const [kind, expected] of Object.entries(e.count ?? {}) as [TransitionKind, Count][]) {
    const actual = summary.transitionsByKind[kind] ?? 0;
    add(`count.${kind}`, expected, actual, inCount(expected, actual));
  }
  for (const w of e.when ?? []) {
    const t = transitions.filter((x) => x.transition.kind === w.transition)[w.n - 1];
    const bounds = [
      w.after === undefined ? undefined : `at or after ${formatOffset(w.after)}`,
      w.before === undefined ? undefined : `at or before ${formatOffset(w.before)}`,
    ].filter(Boolean);
    const met =
      t !== undefined &&
      (w.after === undefined || t.offsetMs >= w.after) &&
      (w.before === undefined || t.offsetMs <= w.before);
    add(
      `when ${w.transition}${w.n > 1 ? ` #${w.n}` : ''}`,
      bounds.length > 0 ? bounds.join(' and ') : 'happens',
      t === undefined ? null : formatOffset(t.offsetMs),
      met,
    );
  }
  return out;
}

/**
 * Marks each automatic failover false or justified, with its detection delay. It is justified when, at some instant
 * of the interval before it, the ground truth (`episodes`: see Timeline.faultEpisodes) had the primary failing for a
 * quorum of healthy, reporting regions; its delay runs from the start of that episode. Operator failovers are neither.
 */
export function judgeFailovers(
  transitions: readonly SimTransition[],
  episodes: readonly Span[],
  intervalMs: number,
): SimTransition[] {
  return transitions.map((t) => {
    if (t.transition.kind !== 'failover') return t;
    if (t.trigger === 'operator') return { ...t, falseFailover: false, detectionSeconds: null };
    const episode = episodes.findLast((e) => e.fromMs <= t.offsetMs && e.toMs > t.offsetMs - intervalMs);
    return episode
      ? { ...t, falseFailover: false, detectionSeconds: (t.offsetMs - episode.fromMs) / 1000 }
      : { ...t, falseFailover: true, detectionSeconds: null };
  });
}
