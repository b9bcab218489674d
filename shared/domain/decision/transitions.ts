import { decayedPenalty, secondsUntilReuse } from '../damping.ts';
import type {
  Explanation,
  PathEvidence,
  Severity,
  SiteMode,
  Transition,
  TransitionKind,
  WebhookEvent,
} from '../model.ts';
import { frozen, holdDownFrom, push, type Decision } from './context.ts';
import { alertAction, switchTraffic, webhookAction } from './effects.ts';
import { announceIncident, incidentSnapshot } from './incident.ts';

/**
 * Records a transition to mode `to` on `toLink`, with its explanation (the evidence of every link unless `paths` are
 * given), and writes it to the history; the open incident follows it.
 */
export function record(
  d: Decision,
  kind: TransitionKind,
  to: SiteMode,
  toLink: string,
  summary: string,
  paths?: PathEvidence[],
  extra?: Pick<Explanation, 'regions' | 'brake'>,
): Transition {
  const s = d.state;
  const policy = d.site.policy;
  s.seq += 1;
  const explanation: Explanation = {
    summary,
    quorum: policy.quorum,
    failureThreshold: policy.failureThreshold,
    recoveryThreshold: policy.recoveryThreshold,
    paths: paths ?? d.site.links.map((l) => d.evidence[l.id]!).filter(Boolean),
    ...(kind === 'damping-hold' || kind === 'failover'
      ? {
          damping: {
            penalty: Math.round(decayedPenalty(s.damping, policy.damping, d.now)),
            suppressLimit: policy.damping.suppressLimit,
            reuseLimit: policy.damping.reuseLimit,
            reuseInSeconds: secondsUntilReuse(s.damping, policy.damping, d.now),
          },
        }
      : {}),
    ...(kind === 'failback' || kind === 'damping-hold'
      ? {
          holdDown: {
            primaryUpSince: s.primaryUpSince,
            countedFrom: holdDownFrom(s),
            holdDownSeconds: policy.holdDownSeconds,
          },
        }
      : {}),
    ...extra,
  };
  const t: Transition = {
    site: s.site,
    seq: s.seq,
    at: d.now,
    kind,
    from: s.mode,
    to,
    fromLink: s.activeLink,
    toLink,
    suppressed: frozen(d) && kind !== 'override' && kind !== 'maintenance-started',
    incidentId: s.incident?.id ?? null,
    explanation,
  };
  if (to !== s.mode) s.modeSince = d.now;
  s.mode = to;
  s.activeLink = toLink;
  d.transitions.push(t);
  push(d, { kind: 'history', record: { type: 'transition', transition: t } });
  if (s.incident && kind !== 'acknowledged') incidentSnapshot(d);
  if (d.opening && s.incident) {
    d.opening = false;
    announceIncident(d);
  }
  return t;
}

/** Records a transition that moves traffic to `to` (DNS records and the agent follow when the link changes). */
export function move(d: Decision, kind: TransitionKind, to: string, summary: string): Transition {
  const s = d.state;
  const from = s.activeLink;
  const primary = d.site.primary.id;
  const mode: SiteMode = to === primary ? 'PRIMARY_ACTIVE' : 'BACKUP_ACTIVE';
  // Back on the primary, whoever moved it: an operator's failover no longer holds.
  if (to === primary && s.operatorFailover) s.operatorFailover = null;
  const t = record(d, kind, mode, to, summary);
  if (from !== to) for (const action of switchTraffic(d.site, t)) push(d, action);
  return t;
}

/** Tells people of a transition; an open incident counts it as its last alert. */
export function alert(d: Decision, t: Transition, severity: Severity, tag: string, what: string): void {
  push(d, alertAction(d.site, t, severity, tag, what, d.actions));
  if (d.state.incident) d.state.incident.lastAlertAt = d.now;
}

export function webhook(d: Decision, event: WebhookEvent, data: Record<string, unknown>): void {
  // Tools hear of maintenance itself, but not of incidents inside it (a ticket for planned work is noise).
  if (frozen(d) && !event.startsWith('maintenance.')) return;
  push(d, webhookAction(d.site, event, d.state.incident?.id ?? null, data));
}
