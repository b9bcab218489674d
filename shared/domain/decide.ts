import type { ObservationBatch } from '../contracts/observation.ts';
import type { LinkConfig, SiteConfig } from '../config/model.ts';
import { clipText, smsText, SUBJECT_MAX_CHARS } from './alert-text.ts';
import { decayedPenalty, penalize, refresh, secondsUntilReuse } from './damping.ts';
import { describeMissing, describePath, renderExplanation } from './explain.ts';
import type {
  Action,
  Explanation,
  IncidentRecord,
  MaintenanceWindow,
  OpenIncident,
  OperatorCommand,
  OperatorFailover,
  PathEvidence,
  Rejection,
  Severity,
  SiteMode,
  SiteState,
  Transition,
  TransitionKind,
  WebhookEvent,
} from './model.ts';
import { applyBatch } from './streaks.ts';
import { evaluateDependencies, evaluateLinks, regionReports, type PathChange } from './verdicts.ts';

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
  const d = new Decision(input.site, input.regions, state, input.now);

  for (const batch of input.batches ?? []) applyBatch(state, batch, input.site, input.regions);
  const links = evaluateLinks(input.site, state, input.regions, input.now);
  const deps = evaluateDependencies(input.site, state, input.regions, input.now);
  d.evidence = links.evidence;
  d.updatePrimaryUpSince();
  state.damping = refresh(state.damping, input.site.policy.damping, input.now);

  for (const command of input.commands ?? []) d.command(command);
  d.expireOverride();
  d.expireOperatorFailover();
  if (d.maintenance(input.maintenance ?? input.site.maintenance)) {
    // Verdicts formed during the window are not acted on: they must be confirmed by the counters afresh.
    for (const link of Object.values(state.links)) link.verdict = 'unknown';
    d.evidence = evaluateLinks(input.site, state, input.regions, input.now).evidence;
    d.updatePrimaryUpSince();
  }
  d.dependencies(deps.changes, deps.evidence);
  if (!d.frozen) d.automate();
  d.degradation(links.changes);
  d.settleIncident();
  d.watchQuorum();
  d.remind();

  const changed = before === null || JSON.stringify(state) !== before;
  if (changed) state.updatedAt = input.now;
  return { state, transitions: d.transitions, actions: d.actions, rejected: d.rejected, changed };
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
  const d = new Decision(input.site, input.regions, state, input.now);
  for (const f of input.failures) {
    if (f.action.kind === 'alert' && f.action.event === 'action-failed') continue;
    d.actionFailed(f);
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
  const d = new Decision(input.site, input.regions, state, input.now);
  for (const drift of input.drifts) d.drift(drift);
  return { state, transitions: d.transitions, actions: d.actions };
}

/** How long, in intervals, reports must stay below (or back at) the quorum before people are told. */
export const QUORUM_GRACE_INTERVALS = 1.5;

const iso = (ms: number) => new Date(ms).toISOString();

const SEVERITY_OF: Record<OpenIncident['kind'], Severity> = {
  failover: 'critical',
  'both-down': 'critical',
  degraded: 'warning',
  'provider-outage': 'warning',
};

/** The working state of one decision; methods are the steps of `decide`, in order. */
class Decision {
  readonly transitions: Transition[] = [];
  readonly actions: Action[] = [];
  readonly rejected: Rejection[] = [];
  evidence: Record<string, PathEvidence> = {};
  private actionCount = 0;
  /** An operator failover whose `until` passed in this decision, for the failback's explanation. */
  private endedFailover: OperatorFailover | null = null;
  /** An incident opened by this step, announced right after the transition that opened it is recorded. */
  private opening = false;

  constructor(
    readonly site: SiteConfig,
    readonly regions: readonly string[],
    readonly state: SiteState,
    readonly now: number,
  ) {}

  get frozen(): boolean {
    return this.state.override !== null || this.state.maintenance !== null;
  }

  private get primary(): LinkConfig {
    return this.site.primary;
  }

  private verdict(link: string) {
    return this.state.links[link]?.verdict ?? 'unknown';
  }

  private linkName(id: string): string {
    return `${id} (${this.site.links.find((l) => l.id === id)?.role ?? 'link'})`;
  }

  /** How a link failed: `down`, or `degraded` when only latency or MOS over budget made its votes fail. */
  private failing(link: string): string {
    const threshold = this.site.policy.failureThreshold;
    const votes = this.evidence[link]?.votes.filter((v) => v.vote === 'down') ?? [];
    const hardDown = votes.some((v) => v.checks.some((c) => c.down >= threshold));
    return hardDown || votes.length === 0 ? 'down' : 'degraded (latency, loss or MOS over budget)';
  }

  updatePrimaryUpSince(): void {
    const p = this.state.links[this.primary.id];
    this.state.primaryUpSince = p?.verdict === 'up' ? p.since : null;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Operator commands, override expiry, maintenance windows

  command(c: OperatorCommand): void {
    const s = this.state;
    switch (c.type) {
      case 'override': {
        const o = s.override;
        if (o && o.pin !== c.pin)
          return this.reject(
            c,
            `the site is pinned to ${o.link} (${o.pin}) by ${o.by} since ${iso(o.at)}; clear the override first`,
            'override-conflict',
          );
        const link = c.pin === 'primary' ? this.primary.id : this.bestBackup()?.id;
        if (!link) return this.reject(c, 'no backup link to pin to');
        s.override = { pin: c.pin, link, reason: c.reason, by: c.by, at: this.now, until: c.until ?? null };
        const until = c.until ? ` until ${iso(c.until)}` : '';
        this.move('override', link, `${c.by} pinned the site to ${this.linkName(link)}${until}: ${c.reason}`);
        return;
      }
      case 'clear-override':
        if (!s.override) return this.reject(c, 'no override to clear');
        s.override = null;
        this.record(
          'override-cleared',
          s.mode,
          s.activeLink,
          `${c.by} cleared the override: ${c.reason}; automation resumes`,
        );
        return;
      case 'failover': {
        if (s.override) return this.reject(c, `the site is pinned to ${s.override.link}; clear the override first`);
        if (s.mode === 'BACKUP_ACTIVE') return this.reject(c, `already on backup ${s.activeLink}`);
        if (c.until !== undefined && c.until <= this.now) return this.reject(c, 'until must be in the future');
        const backup = this.bestBackup();
        if (!backup) return this.reject(c, 'every backup link is down');
        const until = c.until === undefined ? '' : ` or until ${iso(c.until)}`;
        this.failover(
          backup.id,
          `${c.by} asked for a failover to ${this.linkName(backup.id)}: ${c.reason}; it holds until an operator fails back${until}`,
        );
        s.operatorFailover = { by: c.by, reason: c.reason, at: this.now, until: c.until ?? null };
        return;
      }
      case 'failback':
        if (s.override) return this.reject(c, `the site is pinned to ${s.override.link}; clear the override first`);
        if (s.mode === 'PRIMARY_ACTIVE') return this.reject(c, 'already on the primary link');
        if (this.verdict(this.primary.id) === 'down') return this.reject(c, `primary ${this.primary.id} is down`);
        this.failback(`${c.by} asked for a failback to ${this.linkName(this.primary.id)}: ${c.reason}`);
        return;
      case 'acknowledge':
        if (!s.incident) return this.reject(c, 'no open incident');
        if (s.incident.acknowledged) return;
        s.incident.acknowledged = true;
        this.record(
          'acknowledged',
          s.mode,
          s.activeLink,
          `${c.by} acknowledged incident ${s.incident.id}; no more reminders`,
        );
        this.incidentSnapshot();
        return;
    }
  }

  private reject(command: OperatorCommand, reason: string, code: Rejection['code'] = 'rejected'): void {
    this.rejected.push({ command, reason, code });
  }

  /** Ends an operator failover whose `until` has passed: automatic failback may follow, hold-down permitting. */
  expireOperatorFailover(): void {
    const f = this.state.operatorFailover;
    if (!f || f.until === null || this.now < f.until) return;
    this.state.operatorFailover = null;
    this.endedFailover = f;
  }

  expireOverride(): void {
    const o = this.state.override;
    if (!o || o.until === null || this.now < o.until) return;
    this.state.override = null;
    this.record(
      'override-cleared',
      this.state.mode,
      this.state.activeLink,
      `the override to ${o.link} expired; automation resumes`,
    );
  }

  /** Starts and ends maintenance windows; returns true when one ended. */
  maintenance(windows: readonly MaintenanceWindow[]): boolean {
    const s = this.state;
    let ended = false;
    const active = windows.find((w) => w.startMs <= this.now && this.now < w.endMs);
    if (s.maintenance && (!active || active.id !== s.maintenance.id)) {
      const window = s.maintenance;
      ended = true;
      s.maintenance = null;
      this.record(
        'maintenance-ended',
        s.mode,
        s.activeLink,
        `maintenance window ${window.id} ended; automation resumes`,
      );
      this.webhook('maintenance.ended', { window: window.id });
      // Tell people again only if the site is still in trouble now; what healed during the window stays quiet.
      if (s.incident && (s.mode !== 'PRIMARY_ACTIVE' || this.verdict(this.primary.id) === 'down')) {
        this.announceIncident();
        const t = this.record(
          'reminder',
          s.mode,
          s.activeLink,
          `still unresolved after maintenance ${window.id}: ${s.incident.summary}`,
        );
        this.alert(
          t,
          SEVERITY_OF[s.incident.kind],
          'STILL DOWN',
          `still unresolved after maintenance: ${s.incident.summary}`,
        );
        s.incident.lastAlertAt = this.now;
      }
    }
    if (active && !s.maintenance) {
      s.maintenance = {
        id: active.id,
        startedAt: this.now,
        endsAt: active.endMs,
        healthyAtStart: s.mode === 'PRIMARY_ACTIVE' && s.incident === null,
      };
      const ticket = active.ticket ? ` (${active.ticket})` : '';
      this.record(
        'maintenance-started',
        s.mode,
        s.activeLink,
        `maintenance window ${active.id}${ticket} until ${new Date(active.endMs).toISOString()}: ${active.reason}; automation frozen, alerts recorded only`,
      );
      this.webhook('maintenance.started', { window: active.id, reason: active.reason, ticket: active.ticket ?? null });
    }
    return ended;
  }

  // ------------------------------------------------------------------------------------------------------------
  // The state machine

  /** The first backup, in order of preference, that is up; else the first that is not down. */
  private bestBackup(): LinkConfig | undefined {
    const backups = this.site.backups;
    return backups.find((b) => this.verdict(b.id) === 'up') ?? backups.find((b) => this.verdict(b.id) !== 'down');
  }

  automate(): void {
    const s = this.state;
    const primary = this.primary.id;
    const primaryVerdict = this.verdict(primary);
    const upBackup = this.site.backups.find((b) => b.id !== s.activeLink && this.verdict(b.id) === 'up');
    const allBackupsDown = this.site.backups.every((b) => this.verdict(b.id) === 'down');

    if (s.mode === 'PRIMARY_ACTIVE') {
      if (primaryVerdict !== 'down') return;
      if (upBackup)
        this.failover(
          upBackup.id,
          `${this.linkName(primary)} is ${this.failing(primary)}; ${this.linkName(upBackup.id)} is up`,
        );
      else if (allBackupsDown)
        this.bothDown(`${this.linkName(primary)} is ${this.failing(primary)} and every backup is down too`);
      return;
    }

    if (s.mode === 'BOTH_DOWN') {
      if (primaryVerdict === 'up') this.recovered(primary, `${this.linkName(primary)} is up again`);
      else if (s.activeLink !== primary && this.verdict(s.activeLink) === 'up')
        this.recovered(s.activeLink, `${this.linkName(s.activeLink)} is up again; the primary is still down`);
      else if (upBackup)
        this.failover(upBackup.id, `${this.linkName(primary)} is still down; ${this.linkName(upBackup.id)} is up`);
      return;
    }

    // BACKUP_ACTIVE
    if (this.verdict(s.activeLink) === 'down') {
      if (primaryVerdict === 'up') this.failback(`${this.linkName(s.activeLink)} failed and the primary is up`);
      else if (upBackup)
        this.failover(upBackup.id, `${this.linkName(s.activeLink)} failed; ${this.linkName(upBackup.id)} is up`);
      else if (allBackupsDown && primaryVerdict === 'down') this.bothDown('every link is down');
      return;
    }
    if (primaryVerdict !== 'up' || this.site.policy.failback !== 'auto' || s.operatorFailover) return;
    const holdDown = this.site.policy.holdDownSeconds;
    const upSince = s.primaryUpSince ?? this.now;
    const from = this.holdDownFrom() ?? this.now;
    if (this.now - from < holdDown * 1000) return;
    if (s.damping.suppressed) {
      if (!s.damping.announced) this.dampingHold();
      return;
    }
    const seconds = (since: number) => Math.round((this.now - since) / 1000);
    const ended = this.endedFailover;
    const held = ended ? `${ended.by}'s failover held until ${iso(ended.until!)} is over; ` : '';
    this.failback(
      from > upSince
        ? `${held}${this.linkName(primary)} has been up for ${seconds(upSince)} s, ${seconds(from)} s since the switch to ${s.activeLink} (hold-down ${holdDown} s, counted from the switch)`
        : `${held}${this.linkName(primary)} has been up for ${seconds(upSince)} s (hold-down ${holdDown} s)`,
    );
  }

  /** When the hold-down starts counting: the later of the primary's recovery and the switch to the backup. */
  private holdDownFrom(): number | null {
    const s = this.state;
    if (s.primaryUpSince === null) return null;
    return s.mode === 'BACKUP_ACTIVE' ? Math.max(s.primaryUpSince, s.modeSince) : s.primaryUpSince;
  }

  private failover(to: string, why: string): void {
    const s = this.state;
    const from = s.activeLink;
    s.damping = penalize(s.damping, this.site.policy.damping, this.now);
    this.openIncident('failover', `failover ${from} -> ${to}: ${why}`);
    const t = this.move('failover', to, `Failing over from ${this.linkName(from)} to ${this.linkName(to)}: ${why}.`);
    this.alert(t, 'critical', 'FAILOVER', `failover ${from} -> ${to}: ${why}`);
    this.webhook('failover.started', this.transitionData(t));
  }

  private failback(why: string): void {
    const from = this.state.activeLink;
    const to = this.primary.id;
    const t = this.move('failback', to, `Failing back from ${this.linkName(from)} to ${this.linkName(to)}: ${why}.`);
    this.alert(t, this.incidentSeverity(), 'RESOLVED', `back on ${to} (from ${from}): ${why}`);
    this.webhook('failback', this.transitionData(t));
    this.resolveIncident();
  }

  private bothDown(why: string): void {
    const s = this.state;
    this.openIncident('both-down', `all links down: ${why}`);
    const t = this.record(
      'both-down',
      'BOTH_DOWN',
      s.activeLink,
      `No healthy link: ${why}. Traffic stays on ${s.activeLink}; nothing to switch to.`,
    );
    this.alert(t, 'critical', 'ALL DOWN', `no healthy link: ${why}; no switch possible`);
    this.webhook('both-down', this.transitionData(t));
  }

  private recovered(to: string, why: string): void {
    const t = this.move('recovered', to, `Recovered: ${why}.`);
    const resolved = to === this.primary.id;
    this.alert(t, this.incidentSeverity(), resolved ? 'RESOLVED' : 'PARTLY UP', `traffic on ${to}: ${why}`);
    if (resolved) this.resolveIncident();
    else if (this.state.incident) this.state.incident.kind = 'failover';
  }

  private dampingHold(): void {
    const s = this.state;
    const damping = this.site.policy.damping;
    const reuse = secondsUntilReuse(s.damping, damping, this.now);
    const minutes = reuse === null ? 0 : Math.ceil(reuse / 60);
    const penalty = Math.round(decayedPenalty(s.damping, damping, this.now));
    s.damping = { ...s.damping, announced: true };
    const t = this.record(
      'damping-hold',
      s.mode,
      s.activeLink,
      `Automatic failback held by flap damping: the primary failed over often enough to pass the suppress limit ${damping.suppressLimit}; its penalty is ${penalty} now, and failback resumes once it decays below ${damping.reuseLimit} (in about ${minutes} min).`,
    );
    this.alert(t, 'warning', 'FLAPPING', `failback held by flap damping for about ${minutes} min`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Degradation, dependencies, reminders

  degradation(changes: readonly PathChange[]): void {
    const s = this.state;
    const active = changes.find((c) => c.path === s.activeLink);
    if (!active) return;
    const now = s.links[s.activeLink]!;
    if (now.degraded && !active.degradedBefore) {
      const why = `${this.linkName(s.activeLink)} is degraded (latency, loss or MOS over budget)`;
      this.openIncident('degraded', why);
      const t = this.record(
        'degraded',
        s.mode,
        s.activeLink,
        `${why}; ${this.site.policy.failoverOn.includes('degraded') ? 'failing over when it persists' : 'not failing over (policy failoverOn: [down])'}.`,
      );
      this.alert(t, 'warning', 'DEGRADED', why);
      this.webhook('degraded', this.transitionData(t));
    } else if (!now.degraded && active.degradedBefore && now.verdict !== 'down') {
      const t = this.record(
        'degraded-cleared',
        s.mode,
        s.activeLink,
        `${this.linkName(s.activeLink)} is no longer degraded.`,
      );
      if (s.incident?.kind === 'degraded') {
        this.alert(t, 'warning', 'RESOLVED', `${s.activeLink} no longer degraded`);
        this.resolveIncident();
      }
    }
  }

  dependencies(changes: readonly PathChange[], evidence: Record<string, PathEvidence>): void {
    const s = this.state;
    for (const change of changes) {
      const outage = s.dependencies[change.path]!.outage;
      const paths = [evidence[change.path]!];
      if (outage) {
        const why = `${change.path} is down from every vantage, this site's own included: a provider outage`;
        const t = this.record(
          'provider-outage',
          s.mode,
          s.activeLink,
          `${why}. Not failing over: switching links would not help.`,
          paths,
        );
        this.alert(t, 'warning', 'PROVIDER DOWN', `${change.path} down everywhere (provider outage); not failing over`);
      } else {
        const t = this.record('provider-restored', s.mode, s.activeLink, `${change.path} is reachable again.`, paths);
        this.alert(t, 'warning', 'RESOLVED', `${change.path} reachable again`);
      }
    }
  }

  /** Resolves an open incident once the site is healthy on its primary, however it got there (even while frozen). */
  settleIncident(): void {
    const s = this.state;
    const incident = s.incident;
    const primary = s.links[this.primary.id];
    if (!incident || s.mode !== 'PRIMARY_ACTIVE' || primary?.verdict !== 'up' || primary.degraded) return;
    const kind = incident.kind === 'degraded' ? 'degraded-cleared' : 'recovered';
    const t = this.record(
      kind,
      s.mode,
      s.activeLink,
      `${this.linkName(this.primary.id)} is healthy again; incident ${incident.id} is resolved.`,
    );
    this.alert(t, SEVERITY_OF[incident.kind], 'RESOLVED', `${this.primary.id} healthy again`);
    this.resolveIncident();
  }

  actionFailed(f: ActionFailure): void {
    const s = this.state;
    const a = f.action;
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
    const summary = `${what} failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.error}. It will not be retried; act by hand.`;
    const t = this.record('action-failed', s.mode, s.activeLink, summary, []);
    this.alert(t, 'critical', 'ACTION FAILED', `${what} failed: ${f.error}`);
    if (a.kind === 'agent-command')
      this.webhook('agent.command_failed', { action: a.id, command: a.command, link: a.link, error: f.error });
  }

  drift(drift: DnsDrift): void {
    const s = this.state;
    const r = drift.record;
    const expected = r.values[s.activeLink] ?? [];
    const actual = drift.actual === null ? 'no such record' : drift.actual.join(', ') || 'nothing';
    const t = this.record(
      'dns-drift',
      s.mode,
      s.activeLink,
      `${r.name} ${r.type} answers ${actual}, but traffic belongs on ${this.linkName(s.activeLink)} (${expected.join(', ')}): changed by hand or by another tool. Setting it back.`,
      [],
    );
    this.push({
      kind: 'dns',
      zone: r.zone,
      hostedZoneId: r.hostedZoneId,
      name: r.name,
      type: r.type,
      ttl: r.ttl,
      strategy: r.strategy,
      link: s.activeLink,
      values: [...expected],
    });
    this.alert(t, 'warning', 'DNS DRIFT', `${r.name} ${r.type} was ${actual}; set back to ${expected.join(', ')}`);
  }

  /**
   * Tells people once when too few probe regions report on the site to reach its quorum (stale or impaired), and
   * once when enough do again. Either must hold for QUORUM_GRACE_INTERVALS, so that one late or impaired round, or a
   * region coming and going at the boundary, changes nothing. Silent until some region has reported at all.
   */
  watchQuorum(): void {
    const s = this.state;
    const { reporting, missing } = regionReports(this.site, s, this.regions, this.now);
    if (reporting.length === 0 && missing.every((m) => m.reason === 'no data')) return;
    const needed = this.site.policy.quorum;
    const short = reporting.length < needed;
    const q = s.quorum ?? { lost: false, since: this.now, pendingSince: null };
    if (short === q.lost) {
      if (q.pendingSince !== null) s.quorum = { ...q, pendingSince: null };
      return;
    }
    const pendingSince = q.pendingSince ?? this.now;
    if (this.now - pendingSince < QUORUM_GRACE_INTERVALS * this.site.policy.intervalSeconds * 1000) {
      if (q.pendingSince === null) s.quorum = { ...q, pendingSince };
      return;
    }
    s.quorum = { lost: short, since: pendingSince, pendingSince: null };
    const counts = `${reporting.length} of ${this.regions.length} regions reporting`;
    const regions = { reporting: reporting.length, total: this.regions.length, needed, missing };
    const why = missing.map(describeMissing).join('; ');
    if (short) {
      const t = this.record(
        'quorum-lost',
        s.mode,
        s.activeLink,
        `Quorum lost: ${counts}, ${needed} needed (${why}). Link verdicts stay as they were until enough regions report again: what fewer regions see is not acted on.`,
        undefined,
        { regions },
      );
      this.alert(t, 'warning', 'NO QUORUM', `quorum lost: ${counts}, ${needed} needed`);
    } else {
      const t = this.record(
        'quorum-restored',
        s.mode,
        s.activeLink,
        `Quorum restored: ${counts}, ${needed} needed${why ? ` (${why})` : ''}; decisions resume.`,
        undefined,
        { regions },
      );
      this.alert(t, 'warning', 'RESOLVED', `quorum restored: ${counts}`);
    }
  }

  remind(): void {
    const s = this.state;
    const every = this.site.policy.remindEveryMinutes * 60_000;
    if (!s.incident || s.incident.acknowledged || every <= 0 || this.now - s.incident.lastAlertAt < every) return;
    const t = this.record('reminder', s.mode, s.activeLink, `Still unresolved: ${s.incident.summary}`);
    this.alert(t, SEVERITY_OF[s.incident.kind], 'REMINDER', `still unresolved: ${s.incident.summary}`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Recording transitions and their effects

  /** Records a transition that moves traffic to `to` (DNS records and the agent follow when the link changes). */
  private move(kind: TransitionKind, to: string, summary: string): Transition {
    const s = this.state;
    const from = s.activeLink;
    const mode: SiteMode = to === this.primary.id ? 'PRIMARY_ACTIVE' : 'BACKUP_ACTIVE';
    // Back on the primary, whoever moved it: an operator's failover no longer holds.
    if (to === this.primary.id && s.operatorFailover) s.operatorFailover = null;
    const t = this.record(kind, mode, to, summary);
    if (from !== to) this.switchTraffic(t, to);
    return t;
  }

  private record(
    kind: TransitionKind,
    to: SiteMode,
    toLink: string,
    summary: string,
    paths?: PathEvidence[],
    extra?: Pick<Explanation, 'regions'>,
  ): Transition {
    const s = this.state;
    const policy = this.site.policy;
    s.seq += 1;
    const explanation: Explanation = {
      summary,
      quorum: policy.quorum,
      failureThreshold: policy.failureThreshold,
      recoveryThreshold: policy.recoveryThreshold,
      paths: paths ?? this.site.links.map((l) => this.evidence[l.id]!).filter(Boolean),
      ...(kind === 'damping-hold' || kind === 'failover'
        ? {
            damping: {
              penalty: Math.round(decayedPenalty(s.damping, policy.damping, this.now)),
              suppressLimit: policy.damping.suppressLimit,
              reuseLimit: policy.damping.reuseLimit,
              reuseInSeconds: secondsUntilReuse(s.damping, policy.damping, this.now),
            },
          }
        : {}),
      ...(kind === 'failback' || kind === 'damping-hold'
        ? {
            holdDown: {
              primaryUpSince: s.primaryUpSince,
              countedFrom: this.holdDownFrom(),
              holdDownSeconds: policy.holdDownSeconds,
            },
          }
        : {}),
      ...extra,
    };
    const t: Transition = {
      site: s.site,
      seq: s.seq,
      at: this.now,
      kind,
      from: s.mode,
      to,
      fromLink: s.activeLink,
      toLink,
      suppressed: this.frozen && kind !== 'override' && kind !== 'maintenance-started',
      incidentId: s.incident?.id ?? null,
      explanation,
    };
    if (to !== s.mode) s.modeSince = this.now;
    s.mode = to;
    s.activeLink = toLink;
    this.transitions.push(t);
    this.push({ kind: 'history', record: { type: 'transition', transition: t } });
    if (s.incident && kind !== 'acknowledged') this.incidentSnapshot();
    if (this.opening && s.incident) {
      this.opening = false;
      this.announceIncident();
    }
    return t;
  }

  /** Tells subscribed tools an incident is open (not while frozen: see webhook()). */
  private announceIncident(): void {
    const s = this.state;
    if (!s.incident || s.incident.announced || this.frozen) return;
    s.incident.announced = true;
    const { id, kind, summary } = s.incident;
    this.push({ kind: 'webhook', event: 'incident.opened', incidentId: id, data: { site: s.site, kind, summary } });
  }

  private push<A extends Action>(action: DistributiveOmit<A, 'id' | 'site' | 'seq' | 'at'>): void {
    const full = {
      ...action,
      id: `${this.site.id}:${this.state.seq}:${++this.actionCount}`,
      site: this.site.id,
      seq: this.state.seq,
      at: this.now,
    } as Action;
    this.actions.push(full);
    this.state.outbox.push(full);
  }

  private switchTraffic(t: Transition, to: string): void {
    for (const r of this.site.dns) {
      this.push({
        kind: 'dns',
        zone: r.zone,
        hostedZoneId: r.hostedZoneId,
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        strategy: r.strategy,
        link: to,
        values: [...(r.values[to] ?? [])],
      });
    }
    if (this.site.agent) {
      const expiresAt = this.now + Math.max(300, 5 * this.site.policy.intervalSeconds) * 1000;
      const command = to === this.primary.id ? 'restore-wan' : 'switch-wan';
      this.push({ kind: 'agent-command', command, link: to, expiresAt });
    }
    void t;
  }

  private alert(t: Transition, severity: Severity, tag: string, what: string): void {
    const name = this.site.name;
    const time = new Date(this.now).toISOString().slice(11, 16);
    const subject = clipText(`[${tag}] ${name}: ${what}`, SUBJECT_MAX_CHARS);
    const short = smsText(`${this.site.id} ${tag}: ${what} (${time}Z)`);
    const effects = this.actions
      .filter((a) => a.seq === t.seq && (a.kind === 'dns' || a.kind === 'agent-command'))
      .map((a) =>
        a.kind === 'dns'
          ? `DNS ${a.name} ${a.type} -> ${a.values.join(', ')} (TTL ${a.ttl}, ${a.strategy})`
          : a.kind === 'agent-command'
            ? `agent: ${a.command} to ${a.link}`
            : '',
      );
    const body = [
      `${name} (${this.site.id}) at ${new Date(this.now).toISOString()}`,
      '',
      renderExplanation(t.explanation),
      ...(effects.length ? ['', 'Actions:', ...effects.map((e) => `  ${e}`)] : []),
      ...(t.incidentId ? ['', `Incident ${t.incidentId}`] : []),
      ...(t.suppressed ? ['', 'Recorded only: the site is in maintenance or pinned by an operator.'] : []),
    ].join('\n');
    this.push({
      kind: 'alert',
      severity,
      event: t.kind,
      dedupKey: `${this.site.id}:${t.seq}`,
      incidentId: t.incidentId,
      subject,
      short,
      body,
      suppressed: t.suppressed,
    });
    if (this.state.incident) this.state.incident.lastAlertAt = this.now;
  }

  private webhook(event: WebhookEvent, data: Record<string, unknown>): void {
    // Tools hear of maintenance itself, but not of incidents inside it (a ticket for planned work is noise).
    if (this.frozen && !event.startsWith('maintenance.')) return;
    this.push({
      kind: 'webhook',
      event,
      incidentId: this.state.incident?.id ?? null,
      data: { site: this.site.id, ...data },
    });
  }

  private transitionData(t: Transition): Record<string, unknown> {
    return {
      siteName: this.site.name,
      kind: t.kind,
      from: t.from,
      to: t.to,
      fromLink: t.fromLink,
      toLink: t.toLink,
      at: new Date(t.at).toISOString(),
      summary: t.explanation.summary,
      paths: t.explanation.paths.map((p) => describePath(p, t.explanation.quorum)),
    };
  }

  private openIncident(kind: OpenIncident['kind'], summary: string): void {
    const s = this.state;
    if (s.incident) {
      if (SEVERITY_OF[kind] === 'critical') {
        s.incident.kind = kind;
        s.incident.summary = summary;
      }
      return;
    }
    s.incident = {
      id: `${s.site}.${s.seq + 1}`,
      openedAt: this.now,
      openedSeq: s.seq + 1,
      kind,
      summary,
      acknowledged: false,
      lastAlertAt: this.now,
      announced: false,
    };
    this.opening = true;
  }

  private incidentSeverity(): Severity {
    return this.state.incident ? SEVERITY_OF[this.state.incident.kind] : 'warning';
  }

  private incidentRecord(status: IncidentRecord['status']): IncidentRecord | null {
    const i = this.state.incident;
    if (!i) return null;
    return {
      id: i.id,
      site: this.state.site,
      kind: i.kind,
      status,
      openedAt: i.openedAt,
      resolvedAt: status === 'resolved' ? this.now : null,
      openedSeq: i.openedSeq,
      lastSeq: this.state.seq,
      summary: i.summary,
      acknowledged: i.acknowledged,
    };
  }

  private incidentSnapshot(): void {
    const incident = this.incidentRecord('open');
    if (incident) this.push({ kind: 'history', record: { type: 'incident', incident } });
  }

  private resolveIncident(): void {
    const s = this.state;
    if (!s.incident) return;
    const healthy = s.mode === 'PRIMARY_ACTIVE' && !s.links[s.activeLink]?.degraded;
    if (!healthy) return;
    const incident = this.incidentRecord('resolved')!;
    this.push({ kind: 'history', record: { type: 'incident', incident } });
    // Tools hear of the resolution of what they heard open; this one is sent even while frozen.
    if (s.incident.announced)
      this.push({
        kind: 'webhook',
        event: 'resolved',
        incidentId: incident.id,
        data: { site: s.site, summary: incident.summary },
      });
    s.incident = null;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
