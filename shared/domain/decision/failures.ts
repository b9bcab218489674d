import type { SiteConfig } from '../../config/model.ts';
import type { Action } from '../model.ts';
import { linkName, push, type Decision } from './context.ts';
import { dnsUpsert } from './effects.ts';
import { alert, record, webhook } from './transitions.ts';

/** Records an action the dispatcher gave up on, and tells people (critical): act by hand. */
export function actionFailed(d: Decision, a: Action, error: string, attempts: number): void {
  const s = d.state;
  const what =
    a.kind === 'dns'
      ? `DNS change of ${a.name} ${a.type} to ${a.values.join(', ')} (${a.link})`
      : a.kind === 'agent-command'
        ? `agent command ${a.command} to ${a.link}`
        : a.kind === 'alert'
          ? `alert "${a.subject}"`
          : a.kind === 'webhook'
            ? `webhook ${a.event}`
            : `${a.kind} action`;
  const summary = `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error}. It will not be retried; act by hand.`;
  const t = record(d, 'action-failed', s.mode, s.activeLink, summary, []);
  alert(d, t, 'critical', 'ACTION FAILED', `${what} failed: ${error}`);
  if (a.kind === 'agent-command')
    webhook(d, 'agent.command_failed', { action: a.id, command: a.command, link: a.link, error });
}

/** Records a DNS record found answering something else than the state says (null: missing), and sets it back. */
export function drift(d: Decision, r: SiteConfig['dns'][number], answers: readonly string[] | null): void {
  const s = d.state;
  const expected = r.values[s.activeLink] ?? [];
  const actual = answers === null ? 'no such record' : answers.join(', ') || 'nothing';
  const t = record(
    d,
    'dns-drift',
    s.mode,
    s.activeLink,
    `${r.name} ${r.type} answers ${actual}, but traffic belongs on ${linkName(d, s.activeLink)} (${expected.join(', ')}): changed by hand or by another tool. Setting it back.`,
    [],
  );
  push(d, dnsUpsert(r, s.activeLink, expected));
  alert(d, t, 'warning', 'DNS DRIFT', `${r.name} ${r.type} was ${actual}; set back to ${expected.join(', ')}`);
}
