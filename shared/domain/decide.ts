import type { ObservationBatch } from '../contracts/observation.ts';
import type { SiteConfig } from '../config/model.ts';
import type { BrakeHold, ProbeEvidence } from './brake.ts';
import { refresh } from './damping.ts';
import { automate } from './decision/automation.ts';
import { command, expireOperatorFailover, expireOverride } from './decision/commands.ts';
import { frozen, newDecision, updatePrimaryUpSince } from './decision/context.ts';
import { degradation, dependencies } from './decision/degradation.ts';
import { actionFailed, drift } from './decision/failures.ts';
import { remind, settleIncident } from './decision/incident-follow-up.ts';
import { maintenance } from './decision/maintenance.ts';
import { watchQuorum } from './decision/quorum-watch.ts';
import type { Action, MaintenanceWindow, OperatorCommand, Rejection, SiteState, Transition } from './model.ts';
import { applyBatch } from './streaks.ts';
import { evaluateDependencies, evaluateLinks } from './verdicts.ts';

export { QUORUM_GRACE_INTERVALS } from './decision/quorum-watch.ts';

export interface DecideInput {
  readonly site: SiteConfig;
  /** The configured probe regions: the vantages that vote on links. */
  readonly regions: readonly string[];
  /** The stored state, or null before the first decision. */
  readonly state: SiteState | null;
  readonly batches?: readonly ObservationBatch[];
  readonly commands?: readonly OperatorCommand[];
  /** Maintenance windows of the site (sites.yaml and API); default the site's configured ones. */
  readonly maintenance?: readonly MaintenanceWindow[];
  /** The time of the decision, from the caller's clock. */
  readonly now: number;
  /** The mass-failover brake holds this site's automatic failover (decideSite asked the fleet item); default none. */
  readonly brake?: BrakeHold | null;
}

export interface DecideOutput {
  /** The next state; its `version` is the caller's to set when it saves. */
  readonly state: SiteState;
  readonly transitions: readonly Transition[];
  /** Actions this decision appended to the outbox. */
  readonly actions: readonly Action[];
  readonly rejected: readonly Rejection[];
  /** False when the state is exactly as it was: nothing to write. */
  readonly changed: boolean;
  /** The automatic failover this decision made, or held with `brake`: where to, and what the control checks said. */
  readonly wantedFailover: { readonly to: string; readonly evidence: ProbeEvidence } | null;
}

/** The state of a site before anything is known: on its primary link, all paths unknown. */
export function initialState(site: SiteConfig, now: number): SiteState {
  return {
    v: 1,
    site: site.id,
    version: 0,
    mode: 'PRIMARY_ACTIVE',
    activeLink: site.primary.id,
    modeSince: now,
    streaks: {},
    vantages: {},
    links: {},
    dependencies: {},
    primaryUpSince: null,
    damping: { penalty: 0, at: now, suppressed: false, announced: false },
    override: null,
    operatorFailover: null,
    quorum: { lost: false, since: now, pendingSince: null },
    maintenance: null,
    incident: null,
    seq: 0,
    outbox: [],
    updatedAt: now,
  };
}

/**
 * The decision function: folds observations and operator commands into a site's state, re-evaluates every path
 * against the quorum, runs the site state machine, and returns the transitions with the actions they require. Pure:
 * no I/O, and the time comes in with the input.
 */
export function decide(input: DecideInput): DecideOutput {
  const before = input.state ? JSON.stringify(input.state) : null;
  const state = input.state ? structuredClone(input.state) : initialState(input.site, input.now);
  const d = newDecision(input.site, input.regions, state, input.now);
  d.brake = input.brake ?? null;

  for (const batch of input.batches ?? []) applyBatch(state, batch, input.site, input.regions);
  const links = evaluateLinks(input.site, state, input.regions, input.now);
  const deps = evaluateDependencies(input.site, state, input.regions, input.now);
  d.evidence = links.evidence;
  updatePrimaryUpSince(d);
  state.damping = refresh(state.damping, input.site.policy.damping, input.now);

  for (const c of input.commands ?? []) command(d, c);
  expireOverride(d);
  expireOperatorFailover(d);
  if (maintenance(d, input.maintenance ?? input.site.maintenance)) {
    // Verdicts formed during the window are not acted on: they must be confirmed by the counters afresh.
    for (const link of Object.values(state.links)) link.verdict = 'unknown';
    d.evidence = evaluateLinks(input.site, state, input.regions, input.now).evidence;
    updatePrimaryUpSince(d);
  }
  dependencies(d, deps.changes, deps.evidence);
  if (!frozen(d)) automate(d);
  // No failover wanted any more (recovered, pinned, in maintenance): the site is no longer held.
  if (d.wantedFailover === null) delete state.brakeHeld;
  degradation(d, links.changes);
  settleIncident(d);
  watchQuorum(d);
  remind(d);

  const changed = before === null || JSON.stringify(state) !== before;
  if (changed) state.updatedAt = input.now;
  return {
    state,
    transitions: d.transitions,
    actions: d.actions,
    rejected: d.rejected,
    changed,
    wantedFailover: d.wantedFailover,
  };
}

/** An action the dispatcher gave up on. */
export interface ActionFailure {
  readonly action: Action;
  readonly error: string;
  readonly attempts: number;
}

/** A DNS record that does not answer what the state says it should. */
export interface DnsDrift {
  readonly record: SiteConfig['dns'][number];
  /** What it answers now; null when the record is missing. */
  readonly actual: readonly string[] | null;
}

/** Output of the functions that record an event outside a decision: the next state and what it asked for. */
export interface EventOutput {
  readonly state: SiteState;
  readonly transitions: readonly Transition[];
  readonly actions: readonly Action[];
}

/**
 * Records actions the dispatcher gave up on: a transition people hear of (critical), so that a failover that did not
 * take effect is never silent. A failed alert about a failure is not reported again, which would loop.
 */
export function recordFailures(input: {
  readonly site: SiteConfig;
  readonly regions: readonly string[];
  readonly state: SiteState;
  readonly failures: readonly ActionFailure[];
  readonly now: number;
}): EventOutput {
  const state = structuredClone(input.state);
  const d = newDecision(input.site, input.regions, state, input.now);
  for (const f of input.failures) {
    if (f.action.kind === 'alert' && f.action.event === 'action-failed') continue;
    actionFailed(d, f.action, f.error, f.attempts);
  }
  return { state, transitions: d.transitions, actions: d.actions };
}

/** Records DNS records found answering something else than the state says, and asks for them to be set right. */
export function recordDrift(input: {
  readonly site: SiteConfig;
  readonly regions: readonly string[];
  readonly state: SiteState;
  readonly drifts: readonly DnsDrift[];
  readonly now: number;
}): EventOutput {
  const state = structuredClone(input.state);
  const d = newDecision(input.site, input.regions, state, input.now);
  for (const r of input.drifts) drift(d, r.record, r.actual);
  return { state, transitions: d.transitions, actions: d.actions };
}
