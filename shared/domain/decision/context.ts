import type { SiteConfig } from '../../config/model.ts';
import type { Action, OperatorFailover, PathEvidence, Rejection, SiteState, Transition } from '../model.ts';
import type { BrakeHold, ProbeEvidence } from '../brake.ts';
import type { ActionDraft } from './effects.ts';

/** The working state of one decision, passed to each of its steps; `state` is the decision's own copy. */
export interface Decision {
  readonly site: SiteConfig;
  readonly regions: readonly string[];
  readonly state: SiteState;
  readonly now: number;
  readonly transitions: Transition[];
  readonly actions: Action[];
  readonly rejected: Rejection[];
  evidence: Record<string, PathEvidence>;
  actionCount: number;
  /** An operator failover whose `until` passed in this decision, for the failback's explanation. */
  endedFailover: OperatorFailover | null;
  /** An incident opened by this step, announced right after the transition that opened it is recorded. */
  opening: boolean;
  /** The mass-failover brake holds this decision's automatic failover (decideSite asked the fleet item). */
  brake: BrakeHold | null;
  /** The automatic failover this decision made or, with `brake`, held; null when it wanted none. */
  wantedFailover: { readonly to: string; readonly evidence: ProbeEvidence } | null;
}

export function newDecision(site: SiteConfig, regions: readonly string[], state: SiteState, now: number): Decision {
  return {
    site,
    regions,
    state,
    now,
    transitions: [],
    actions: [],
    rejected: [],
    evidence: {},
    actionCount: 0,
    endedFailover: null,
    opening: false,
    brake: null,
    wantedFailover: null,
  };
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** Automation is frozen while an operator pins the site or a maintenance window is in force. */
export function frozen(d: Decision): boolean {
  return d.state.override !== null || d.state.maintenance !== null;
}

export function verdict(d: Decision, link: string) {
  return d.state.links[link]?.verdict ?? 'unknown';
}

export function linkName(d: Decision, id: string): string {
  return `${id} (${d.site.links.find((l) => l.id === id)?.role ?? 'link'})`;
}

export function updatePrimaryUpSince(d: Decision): void {
  const p = d.state.links[d.site.primary.id];
  d.state.primaryUpSince = p?.verdict === 'up' ? p.since : null;
}

/** When the hold-down starts counting: the later of the primary's recovery and the switch to the backup. */
export function holdDownFrom(s: SiteState): number | null {
  if (s.primaryUpSince === null) return null;
  return s.mode === 'BACKUP_ACTIVE' ? Math.max(s.primaryUpSince, s.modeSince) : s.primaryUpSince;
}

/** Appends an action to the decision and the outbox, with its deterministic id `<site>:<seq>:<n>`. */
export function push(d: Decision, action: ActionDraft): void {
  const full = {
    ...action,
    id: `${d.site.id}:${d.state.seq}:${++d.actionCount}`,
    site: d.site.id,
    seq: d.state.seq,
    at: d.now,
  } as Action;
  d.actions.push(full);
  d.state.outbox.push(full);
}
