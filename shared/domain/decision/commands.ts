import type { OperatorCommand, Rejection } from '../model.ts';
import { bestBackup, failback, failover } from './automation.ts';
import { iso, linkName, verdict, type Decision } from './context.ts';
import { incidentSnapshot } from './incident.ts';
import { move, record } from './transitions.ts';

/** Applies one operator command, or adds it to `rejected` with the reason. */
export function command(d: Decision, c: OperatorCommand): void {
  const s = d.state;
  const primary = d.site.primary.id;
  switch (c.type) {
    case 'override': {
      const o = s.override;
      if (o && o.pin !== c.pin)
        return reject(
          d,
          c,
          `the site is pinned to ${o.link} (${o.pin}) by ${o.by} since ${iso(o.at)}; clear the override first`,
          'override-conflict',
        );
      const link = c.pin === 'primary' ? primary : bestBackup(d)?.id;
      if (!link) return reject(d, c, 'no backup link to pin to');
      s.override = { pin: c.pin, link, reason: c.reason, by: c.by, at: d.now, until: c.until ?? null };
      const until = c.until ? ` until ${iso(c.until)}` : '';
      move(d, 'override', link, `${c.by} pinned the site to ${linkName(d, link)}${until}: ${c.reason}`);
      return;
    }
    case 'clear-override':
      if (!s.override) return reject(d, c, 'no override to clear');
      s.override = null;
      record(
        d,
        'override-cleared',
        s.mode,
        s.activeLink,
        `${c.by} cleared the override: ${c.reason}; automation resumes`,
      );
      return;
    case 'failover': {
      if (s.override) return reject(d, c, `the site is pinned to ${s.override.link}; clear the override first`);
      if (s.mode === 'BACKUP_ACTIVE') return reject(d, c, `already on backup ${s.activeLink}`);
      if (c.until !== undefined && c.until <= d.now) return reject(d, c, 'until must be in the future');
      const backup = bestBackup(d);
      if (!backup) return reject(d, c, 'every backup link is down');
      const until = c.until === undefined ? '' : ` or until ${iso(c.until)}`;
      failover(
        d,
        backup.id,
        `${c.by} asked for a failover to ${linkName(d, backup.id)}: ${c.reason}; it holds until an operator fails back${until}`,
      );
      s.operatorFailover = { by: c.by, reason: c.reason, at: d.now, until: c.until ?? null };
      return;
    }
    case 'failback':
      if (s.override) return reject(d, c, `the site is pinned to ${s.override.link}; clear the override first`);
      if (s.mode === 'PRIMARY_ACTIVE') return reject(d, c, 'already on the primary link');
      if (verdict(d, primary) === 'down') return reject(d, c, `primary ${primary} is down`);
      failback(d, `${c.by} asked for a failback to ${linkName(d, primary)}: ${c.reason}`);
      return;
    case 'acknowledge':
      if (!s.incident) return reject(d, c, 'no open incident');
      if (s.incident.acknowledged) return;
      s.incident.acknowledged = true;
      record(
        d,
        'acknowledged',
        s.mode,
        s.activeLink,
        `${c.by} acknowledged incident ${s.incident.id}; no more reminders`,
      );
      incidentSnapshot(d);
      return;
  }
}

function reject(d: Decision, command: OperatorCommand, reason: string, code: Rejection['code'] = 'rejected'): void {
  d.rejected.push({ command, reason, code });
}

/** Ends an override whose `until` has passed: automation resumes. */
export function expireOverride(d: Decision): void {
  const o = d.state.override;
  if (!o || o.until === null || d.now < o.until) return;
  d.state.override = null;
  record(
    d,
    'override-cleared',
    d.state.mode,
    d.state.activeLink,
    `the override to ${o.link} expired; automation resumes`,
  );
}

/** Ends an operator failover whose `until` has passed: automatic failback may follow, hold-down permitting. */
export function expireOperatorFailover(d: Decision): void {
  const f = d.state.operatorFailover;
  if (!f || f.until === null || d.now < f.until) return;
  d.state.operatorFailover = null;
  d.endedFailover = f;
}
