import type { LinkConfig } from '../../config/model.ts';
import { regionVantage } from '../../contracts/ids.ts';
import { probeEvidence, type BrakeHold, type ProbeEvidence } from '../brake.ts';
import { decayedPenalty, penalize, secondsUntilReuse } from '../damping.ts';
import { clipText, smsText, SUBJECT_MAX_CHARS } from '../alert-text.ts';
import { renderExplanation } from '../explain.ts';
import type { Transition } from '../model.ts';
import { holdDownFrom, iso, linkName, push, verdict, type Decision } from './context.ts';
import { transitionData, type ActionDraft } from './effects.ts';
import { incidentSeverity, openIncident, resolveIncident } from './incident.ts';
import { alert, move, record, webhook } from './transitions.ts';

/** The site state machine: fails over, fails back, goes BOTH_DOWN or recovers as the link verdicts say. */
export function automate(d: Decision): void {
  const s = d.state;
  const primary = d.site.primary.id;
  const primaryVerdict = verdict(d, primary);
  const upBackup = d.site.backups.find((b) => b.id !== s.activeLink && verdict(d, b.id) === 'up');
  const allBackupsDown = d.site.backups.every((b) => verdict(d, b.id) === 'down');
  const name = (id: string) => linkName(d, id);

  if (s.mode === 'PRIMARY_ACTIVE') {
    if (primaryVerdict !== 'down') return;
    if (upBackup)
      autoFailover(d, upBackup.id, `${name(primary)} is ${failing(d, primary)}; ${name(upBackup.id)} is up`);
    else if (allBackupsDown) bothDown(d, `${name(primary)} is ${failing(d, primary)} and every backup is down too`);
    return;
  }

  if (s.mode === 'BOTH_DOWN') {
    if (primaryVerdict === 'up') recovered(d, primary, `${name(primary)} is up again`);
    else if (s.activeLink !== primary && verdict(d, s.activeLink) === 'up')
      recovered(d, s.activeLink, `${name(s.activeLink)} is up again; the primary is still down`);
    else if (upBackup) autoFailover(d, upBackup.id, `${name(primary)} is still down; ${name(upBackup.id)} is up`);
    return;
  }

  // BACKUP_ACTIVE
  if (verdict(d, s.activeLink) === 'down') {
    if (primaryVerdict === 'up') failback(d, `${name(s.activeLink)} failed and the primary is up`);
    else if (upBackup) autoFailover(d, upBackup.id, `${name(s.activeLink)} failed; ${name(upBackup.id)} is up`);
    else if (allBackupsDown && primaryVerdict === 'down') bothDown(d, 'every link is down');
    return;
  }
  if (primaryVerdict !== 'up' || d.site.policy.failback !== 'auto' || s.operatorFailover) return;
  const holdDown = d.site.policy.holdDownSeconds;
  const upSince = s.primaryUpSince ?? d.now;
  const from = holdDownFrom(s) ?? d.now;
  if (d.now - from < holdDown * 1000) return;
  if (s.damping.suppressed) {
    if (!s.damping.announced) dampingHold(d);
    return;
  }
  const seconds = (since: number) => Math.round((d.now - since) / 1000);
  const ended = d.endedFailover;
  const held = ended ? `${ended.by}'s failover held until ${iso(ended.until!)} is over; ` : '';
  failback(
    d,
    from > upSince
      ? `${held}${name(primary)} has been up for ${seconds(upSince)} s, ${seconds(from)} s since the switch to ${s.activeLink} (hold-down ${holdDown} s, counted from the switch)`
      : `${held}${name(primary)} has been up for ${seconds(upSince)} s (hold-down ${holdDown} s)`,
  );
}

/** The first backup, in order of preference, that is up; else the first that is not down. */
export function bestBackup(d: Decision): LinkConfig | undefined {
  const backups = d.site.backups;
  return backups.find((b) => verdict(d, b.id) === 'up') ?? backups.find((b) => verdict(d, b.id) !== 'down');
}

/** How a link failed: `down`, or `degraded` when only latency or MOS over budget made its votes fail. */
function failing(d: Decision, link: string): string {
  const threshold = d.site.policy.failureThreshold;
  const votes = d.evidence[link]?.votes.filter((v) => v.vote === 'down') ?? [];
  const hardDown = votes.some((v) => v.checks.some((c) => c.down >= threshold));
  return hardDown || votes.length === 0 ? 'down' : 'degraded (latency, loss or MOS over budget)';
}

/**
 * An automatic failover, which the mass-failover brake may hold: the decision says what it wanted and on what
 * evidence (decideSite asks the fleet item), and with `d.brake` set it records the hold instead of moving traffic.
 */
function autoFailover(d: Decision, to: string, why: string): void {
  const evidence = probeEvidence(d.evidence[d.state.activeLink], d.state.vantages, d.site.policy.quorum);
  d.wantedFailover = { to, evidence };
  if (d.brake) return brakeHold(d, to, why, d.brake, evidence);
  const held = d.state.brakeHeld;
  delete d.state.brakeHeld;
  failover(d, to, held ? `${why} (held by the mass-failover brake since ${iso(held.since)})` : why);
}

/** Records, once per engagement, that the brake holds this site's failover; the announcing site alerts for all. */
function brakeHold(d: Decision, to: string, why: string, hold: BrakeHold, evidence: ProbeEvidence): void {
  const s = d.state;
  if (s.brakeHeld?.engagement === hold.engagement.id) return;
  s.brakeHeld = { engagement: hold.engagement.id, since: d.now, to };
  const minutes = Math.round(hold.windowSeconds / 60);
  const withChecks = evidence.voted.filter((r) => s.vantages[regionVantage(r)]?.control !== undefined).length;
  const control =
    withChecks === 0
      ? `none of the ${evidence.voted.length} regions voting ran control checks`
      : `${evidence.clean.length} of the ${evidence.voted.length} regions voting had every control check answer (${evidence.quorum} needed)`;
  const t = record(
    d,
    'failover-held',
    s.mode,
    s.activeLink,
    `Automatic failover to ${linkName(d, to)} held by the mass-failover brake: ${why}, but ${hold.failedOver} of ${hold.sites} sites failed over within ${minutes} min (at most ${hold.limit} may), and ${control}, so the probes may be what failed. Traffic stays on ${s.activeLink}. The brake releases at ${iso(hold.releaseAt)} if no other site fails over; an operator's failover (POST /v1/sites/${s.site}/failover) is never held.`,
    undefined,
    {
      brake: {
        engagement: hold.engagement.id,
        failedOver: hold.failedOver,
        limit: hold.limit,
        sites: hold.sites,
        windowSeconds: hold.windowSeconds,
        releaseAt: hold.releaseAt,
        voted: [...evidence.voted],
        clean: [...evidence.clean],
        quorum: evidence.quorum,
      },
    },
  );
  if (hold.announce) push(d, brakeAlert(t, hold, control));
}

/** The engagement's one alert, carried by the announcing site's outbox: it speaks for the fleet, not the site. */
function brakeAlert(t: Transition, hold: BrakeHold, control: string): ActionDraft {
  const minutes = Math.round(hold.windowSeconds / 60);
  const release = iso(hold.releaseAt);
  return {
    kind: 'alert',
    severity: 'critical',
    event: 'failover-held',
    dedupKey: hold.engagement.id,
    incidentId: null,
    subject: clipText(
      `[BRAKE] automatic failovers held: ${hold.failedOver} of ${hold.sites} sites in ${minutes} min`,
      SUBJECT_MAX_CHARS,
    ),
    short: smsText(
      `BRAKE: failovers held, ${hold.failedOver}/${hold.sites} sites failed over in ${minutes} min; probes suspect; releases ${release.slice(11, 16)}Z`,
    ),
    body: [
      `The mass-failover brake engaged at ${iso(hold.engagement.since)} (${hold.engagement.id}).`,
      '',
      `${hold.failedOver} of ${hold.sites} sites failed over automatically within ${minutes} min; at most ${hold.limit} may. ` +
        `The next, ${t.site}, wanted to fail over too, and ${control}: the probes, not the sites, may be what failed.`,
      '',
      'Every further automatic failover is held (traffic stays where it is; each held site records a failover-held transition).',
      'DNS records gated on health checks are not held: Route 53 fails them over on its own (docs/dns.md).',
      '',
      'What to do:',
      '  - Check the probe regions (their control checks, FailedPublishes, the dashboard) and a few held sites by hand.',
      '  - A site that is really down: fail it over yourself, POST /v1/sites/<site>/failover (never held by the brake).',
      `  - Or wait: the brake releases by itself at ${release} once no site failed over for ${minutes} min;`,
      '    the held sites still down then fail over, at most the limit a window, and the brake holds again beyond it.',
      '',
      renderExplanation(t.explanation),
    ].join('\n'),
    suppressed: false,
  };
}

export function failover(d: Decision, to: string, why: string): void {
  const s = d.state;
  const from = s.activeLink;
  s.damping = penalize(s.damping, d.site.policy.damping, d.now);
  openIncident(d, 'failover', `failover ${from} -> ${to}: ${why}`);
  const t = move(d, 'failover', to, `Failing over from ${linkName(d, from)} to ${linkName(d, to)}: ${why}.`);
  alert(d, t, 'critical', 'FAILOVER', `failover ${from} -> ${to}: ${why}`);
  webhook(d, 'failover.started', transitionData(d.site, t));
}

export function failback(d: Decision, why: string): void {
  const from = d.state.activeLink;
  const to = d.site.primary.id;
  const t = move(d, 'failback', to, `Failing back from ${linkName(d, from)} to ${linkName(d, to)}: ${why}.`);
  alert(d, t, incidentSeverity(d), 'RESOLVED', `back on ${to} (from ${from}): ${why}`);
  webhook(d, 'failback', transitionData(d.site, t));
  resolveIncident(d);
}

function bothDown(d: Decision, why: string): void {
  const s = d.state;
  openIncident(d, 'both-down', `all links down: ${why}`);
  const t = record(
    d,
    'both-down',
    'BOTH_DOWN',
    s.activeLink,
    `No healthy link: ${why}. Traffic stays on ${s.activeLink}; nothing to switch to.`,
  );
  alert(d, t, 'critical', 'ALL DOWN', `no healthy link: ${why}; no switch possible`);
  webhook(d, 'both-down', transitionData(d.site, t));
}

function recovered(d: Decision, to: string, why: string): void {
  const t = move(d, 'recovered', to, `Recovered: ${why}.`);
  const resolved = to === d.site.primary.id;
  alert(d, t, incidentSeverity(d), resolved ? 'RESOLVED' : 'PARTLY UP', `traffic on ${to}: ${why}`);
  if (resolved) resolveIncident(d);
  else if (d.state.incident) d.state.incident.kind = 'failover';
}

function dampingHold(d: Decision): void {
  const s = d.state;
  const damping = d.site.policy.damping;
  const reuse = secondsUntilReuse(s.damping, damping, d.now);
  const minutes = reuse === null ? 0 : Math.ceil(reuse / 60);
  const penalty = Math.round(decayedPenalty(s.damping, damping, d.now));
  s.damping = { ...s.damping, announced: true };
  const t = record(
    d,
    'damping-hold',
    s.mode,
    s.activeLink,
    `Automatic failback held by flap damping: the primary failed over often enough to pass the suppress limit ${damping.suppressLimit}; its penalty is ${penalty} now, and failback resumes once it decays below ${damping.reuseLimit} (in about ${minutes} min).`,
  );
  alert(d, t, 'warning', 'FLAPPING', `failback held by flap damping for about ${minutes} min`);
}
