import type { PathEvidence } from '../model.ts';
import type { PathChange } from '../verdicts.ts';
import { linkName, type Decision } from './context.ts';
import { transitionData } from './effects.ts';
import { openIncident, resolveIncident } from './incident.ts';
import { alert, record, webhook } from './transitions.ts';

/** Tells people when the active link becomes degraded (an incident) and when it no longer is. */
export function degradation(d: Decision, changes: readonly PathChange[]): void {
  const s = d.state;
  const active = changes.find((c) => c.path === s.activeLink);
  if (!active) return;
  const now = s.links[s.activeLink]!;
  if (now.degraded && !active.degradedBefore) {
    const why = `${linkName(d, s.activeLink)} is degraded (latency, loss or MOS over budget)`;
    openIncident(d, 'degraded', why);
    const t = record(
      d,
      'degraded',
      s.mode,
      s.activeLink,
      `${why}; ${d.site.policy.failoverOn.includes('degraded') ? 'failing over when it persists' : 'not failing over (policy failoverOn: [down])'}.`,
    );
    alert(d, t, 'warning', 'DEGRADED', why);
    webhook(d, 'degraded', transitionData(d.site, t));
  } else if (!now.degraded && active.degradedBefore && now.verdict !== 'down') {
    const t = record(
      d,
      'degraded-cleared',
      s.mode,
      s.activeLink,
      `${linkName(d, s.activeLink)} is no longer degraded.`,
    );
    if (s.incident?.kind === 'degraded') {
      alert(d, t, 'warning', 'RESOLVED', `${s.activeLink} no longer degraded`);
      resolveIncident(d);
    }
  }
}

/** Tells people when a dependency is down everywhere (a provider outage, no failover) and when it is reachable again. */
export function dependencies(
  d: Decision,
  changes: readonly PathChange[],
  evidence: Record<string, PathEvidence>,
): void {
  const s = d.state;
  for (const change of changes) {
    const outage = s.dependencies[change.path]!.outage;
    const paths = [evidence[change.path]!];
    if (outage) {
      const why = `${change.path} is down from every vantage, this site's own included: a provider outage`;
      const t = record(
        d,
        'provider-outage',
        s.mode,
        s.activeLink,
        `${why}. Not failing over: switching links would not help.`,
        paths,
      );
      alert(d, t, 'warning', 'PROVIDER DOWN', `${change.path} down everywhere (provider outage); not failing over`);
    } else {
      const t = record(d, 'provider-restored', s.mode, s.activeLink, `${change.path} is reachable again.`, paths);
      alert(d, t, 'warning', 'RESOLVED', `${change.path} reachable again`);
    }
  }
}
