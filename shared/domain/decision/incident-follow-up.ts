import { linkName, type Decision } from './context.ts';
import { resolveIncident, SEVERITY_OF } from './incident.ts';
import { alert, record } from './transitions.ts';

/** Resolves an open incident once the site is healthy on its primary, however it got there (even while frozen). */
export function settleIncident(d: Decision): void {
  const s = d.state;
  const incident = s.incident;
  const primary = d.site.primary.id;
  const link = s.links[primary];
  if (!incident || s.mode !== 'PRIMARY_ACTIVE' || link?.verdict !== 'up' || link.degraded) return;
  const kind = incident.kind === 'degraded' ? 'degraded-cleared' : 'recovered';
  const t = record(
    d,
    kind,
    s.mode,
    s.activeLink,
    `${linkName(d, primary)} is healthy again; incident ${incident.id} is resolved.`,
  );
  alert(d, t, SEVERITY_OF[incident.kind], 'RESOLVED', `${primary} healthy again`);
  resolveIncident(d);
}

/** Reminds people of an open incident nobody acknowledged, every `remindEveryMinutes`. */
export function remind(d: Decision): void {
  const s = d.state;
  const every = d.site.policy.remindEveryMinutes * 60_000;
  if (!s.incident || s.incident.acknowledged || every <= 0 || d.now - s.incident.lastAlertAt < every) return;
  const t = record(d, 'reminder', s.mode, s.activeLink, `Still unresolved: ${s.incident.summary}`);
  alert(d, t, SEVERITY_OF[s.incident.kind], 'REMINDER', `still unresolved: ${s.incident.summary}`);
}
