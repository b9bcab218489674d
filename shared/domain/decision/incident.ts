import type { IncidentRecord, OpenIncident, Severity } from '../model.ts';
import { frozen, push, type Decision } from './context.ts';
import { webhookAction } from './effects.ts';

export const SEVERITY_OF: Record<OpenIncident['kind'], Severity> = {
  failover: 'critical',
  'both-down': 'critical',
  degraded: 'warning',
  'provider-outage': 'warning',
};

/**
 * Opens an incident, announced once the transition that opened it is recorded; an open one is kept (one id for its
 * whole life) and takes over the kind and summary of a critical cause.
 */
export function openIncident(d: Decision, kind: OpenIncident['kind'], summary: string): void {
  const s = d.state;
  if (s.incident) {
    if (SEVERITY_OF[kind] === 'critical') {
      s.incident.kind = kind;
      s.incident.summary = summary;
    }
    return;
  }
  s.incident = {
    id: `${s.site}.${s.seq + 1}`,
    openedAt: d.now,
    openedSeq: s.seq + 1,
    kind,
    summary,
    acknowledged: false,
    lastAlertAt: d.now,
    announced: false,
  };
  d.opening = true;
}

export function incidentSeverity(d: Decision): Severity {
  return d.state.incident ? SEVERITY_OF[d.state.incident.kind] : 'warning';
}

function incidentRecord(d: Decision, status: IncidentRecord['status']): IncidentRecord | null {
  const i = d.state.incident;
  if (!i) return null;
  return {
    id: i.id,
    site: d.state.site,
    kind: i.kind,
    status,
    openedAt: i.openedAt,
    resolvedAt: status === 'resolved' ? d.now : null,
    openedSeq: i.openedSeq,
    lastSeq: d.state.seq,
    summary: i.summary,
    acknowledged: i.acknowledged,
  };
}

/** Writes the open incident, as it is now, to the history. */
export function incidentSnapshot(d: Decision): void {
  const incident = incidentRecord(d, 'open');
  if (incident) push(d, { kind: 'history', record: { type: 'incident', incident } });
}

/** Tells subscribed tools an incident is open (not while frozen: see `webhook` in transitions.ts). */
export function announceIncident(d: Decision): void {
  const s = d.state;
  if (!s.incident || s.incident.announced || frozen(d)) return;
  s.incident.announced = true;
  const { id, kind, summary } = s.incident;
  push(d, webhookAction(d.site, 'incident.opened', id, { kind, summary }));
}

/** Closes the open incident when the site is healthy on its primary. */
export function resolveIncident(d: Decision): void {
  const s = d.state;
  if (!s.incident) return;
  const healthy = s.mode === 'PRIMARY_ACTIVE' && !s.links[s.activeLink]?.degraded;
  if (!healthy) return;
  const incident = incidentRecord(d, 'resolved')!;
  push(d, { kind: 'history', record: { type: 'incident', incident } });
  // Tools hear of the resolution of what they heard open; this one is sent even while frozen.
  if (s.incident.announced) push(d, webhookAction(d.site, 'resolved', incident.id, { summary: incident.summary }));
  s.incident = null;
}
