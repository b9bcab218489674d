import type { MaintenanceWindow } from '../model.ts';
import { verdict, type Decision } from './context.ts';
import { announceIncident, SEVERITY_OF } from './incident.ts';
import { alert, record, webhook } from './transitions.ts';

/** Starts and ends maintenance windows; returns true when one ended. */
export function maintenance(d: Decision, windows: readonly MaintenanceWindow[]): boolean {
  const s = d.state;
  let ended = false;
  const active = windows.find((w) => w.startMs <= d.now && d.now < w.endMs);
  if (s.maintenance && (!active || active.id !== s.maintenance.id)) {
    const window = s.maintenance;
    ended = true;
    s.maintenance = null;
    record(d, 'maintenance-ended', s.mode, s.activeLink, `maintenance window ${window.id} ended; automation resumes`);
    webhook(d, 'maintenance.ended', { window: window.id });
    // Tell people again only if the site is still in trouble now; what healed during the window stays quiet.
    if (s.incident && (s.mode !== 'PRIMARY_ACTIVE' || verdict(d, d.site.primary.id) === 'down')) {
      announceIncident(d);
      const t = record(
        d,
        'reminder',
        s.mode,
        s.activeLink,
        `still unresolved after maintenance ${window.id}: ${s.incident.summary}`,
      );
      alert(
        d,
        t,
        SEVERITY_OF[s.incident.kind],
        'STILL DOWN',
        `still unresolved after maintenance: ${s.incident.summary}`,
      );
      s.incident.lastAlertAt = d.now;
    }
  }
  if (active && !s.maintenance) {
    s.maintenance = {
      id: active.id,
      startedAt: d.now,
      endsAt: active.endMs,
      healthyAtStart: s.mode === 'PRIMARY_ACTIVE' && s.incident === null,
    };
    const ticket = active.ticket ? ` (${active.ticket})` : '';
    record(
      d,
      'maintenance-started',
      s.mode,
      s.activeLink,
      `maintenance window ${active.id}${ticket} until ${new Date(active.endMs).toISOString()}: ${active.reason}; automation frozen, alerts recorded only`,
    );
    webhook(d, 'maintenance.started', { window: active.id, reason: active.reason, ticket: active.ticket ?? null });
  }
  return ended;
}
