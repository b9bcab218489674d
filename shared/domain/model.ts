import type { ErrorClass, Outcome } from '../contracts/observation.ts';
import { type IncidentKind, type LinkRole, type Verdict } from '../contracts/vocabulary.ts';
import type { TransitionKind, WebhookEvent } from '../contracts/vocabulary.ts';
import type { SiteMode } from '../contracts/ids.ts';

export type { TransitionKind, WebhookEvent };

/** Where a site's traffic goes. BOTH_DOWN keeps the link traffic last went to (`activeLink`). */
export type { SiteMode };

/** The verdict on a path (a link, or a dependency) after quorum. `unknown` until enough rounds have been seen. */
export type { Verdict };

/** Consecutive-outcome counters of one (check, link, vantage). */
export interface Streak {
  /** Consecutive `down` rounds. */
  down: number;
  /** Consecutive rounds that were not `up` (down or degraded). */
  notUp: number;
  /** Consecutive `up` rounds. */
  up: number;
  /** Round id of the last observation applied: an observation of this round or an earlier one changes nothing. */
  lastRound: string;
  /** When that observation was made (epoch ms). */
  lastAt: number;
  lastOutcome: Outcome;
  lastErrorClass: ErrorClass | null;
  /** Its detail, shortened. */
  lastDetail: string;
}

/** What the decider knows of one vantage as a whole. */
export interface VantageHealth {
  lastRound: string;
  lastAt: number;
  /** Its control checks failed in its last round: it abstains until a healthy round. */
  impaired: boolean;
  detail: string;
  /**
   * Streak keys of the checks its last round skipped: it abstains on their paths until a round runs them. Absent in
   * states written before it existed, and when none was skipped.
   */
  skipped?: string[];
  /**
   * Its last round's control checks: `clean` when every one answered, `partial` when some were down (a majority
   * answering still lets it vote). Absent without control checks, and in states written before it existed.
   */
  control?: 'clean' | 'partial';
}

export interface LinkHealth {
  verdict: Verdict;
  /** When the verdict last changed (epoch ms). */
  since: number;
  /** Sustained latency or MOS over budget seen by a quorum (while not down). */
  degraded: boolean;
}

export interface DependencyHealth {
  /** Down from every vantage that sees it, the site's own included: a provider outage. */
  outage: boolean;
  since: number;
}

/** An operator's pin: automation is frozen on this link until cleared or until `until`. */
export interface Override {
  pin: LinkRole;
  link: string;
  reason: string;
  by: string;
  at: number;
  until: number | null;
}

/**
 * An operator's (or a tool's) failover: automatic failback waits until an operator fails back or until `until`.
 * Whatever brings traffic back to the primary ends it.
 */
export interface OperatorFailover {
  by: string;
  reason: string;
  at: number;
  until: number | null;
}

/** The longest `until` an operator failover may ask for, from now. */
export const MAX_FAILOVER_HOLD_MS = 7 * 86_400_000;

/**
 * Whether enough probe regions report on the site to reach its quorum. An episode opens when too few have reported
 * for QUORUM_GRACE_INTERVALS, and closes when enough have for as long, so that one late round changes nothing.
 */
export interface QuorumWatch {
  lost: boolean;
  /** When the current state (lost or not) began. */
  since: number;
  /** Since when the reports have disagreed with `lost`; null while they agree. */
  pendingSince: number | null;
}

/** Why a probe region does not count towards the quorum. */
export interface MissingRegion {
  region: string;
  reason: 'stale' | 'impaired' | 'no data';
  /** Its last round, or null when never heard from. */
  lastAt: number | null;
  detail: string;
}

/** The open incident of a site: from the first failure transition to the resolution. */
export interface OpenIncident {
  id: string;
  openedAt: number;
  /** Sequence number of the transition that opened it. */
  openedSeq: number;
  kind: IncidentKind;
  summary: string;
  acknowledged: boolean;
  /** When people were last told (alert or reminder), for reminders. */
  lastAlertAt: number;
  /** Whether tools were told it opened (not while frozen), so that they hear of its resolution too. */
  announced: boolean;
}

/** One check's counters as a vote saw them. */
export interface CheckEvidence {
  check: string;
  down: number;
  notUp: number;
  up: number;
  lastOutcome: Outcome;
  lastErrorClass: ErrorClass | null;
  lastDetail: string;
  lastAt: number;
}

/** How one vantage voted on one path, and why. */
export interface Vote {
  vantage: string;
  vote: 'down' | 'degraded' | 'up' | 'undecided' | 'abstain';
  /** Why a vantage abstained; `skipped`: its last round could not run one of the path's checks. */
  reason?: 'stale' | 'impaired' | 'no data' | 'skipped';
  checks: CheckEvidence[];
}

export interface PathEvidence {
  path: string;
  role: 'primary' | 'backup' | 'dependency';
  verdict: Verdict;
  degraded: boolean;
  votes: Vote[];
}

/** Why a transition happened: stored with it and shown by the CLI and the API. */
export interface Explanation {
  /** One or two sentences a person can act on. */
  summary: string;
  quorum: number;
  failureThreshold: number;
  recoveryThreshold: number;
  paths: PathEvidence[];
  damping?: { penalty: number; suppressLimit: number; reuseLimit: number; reuseInSeconds: number | null };
  /** `countedFrom`: the later of `primaryUpSince` and the switch to the backup (absent in older transitions). */
  holdDown?: { primaryUpSince: number | null; countedFrom?: number | null; holdDownSeconds: number };
  /** Quorum transitions: how many probe regions report, and why the others do not. */
  regions?: { reporting: number; total: number; needed: number; missing: MissingRegion[] };
  /** A failover held by the mass-failover brake (`failover-held`): the window, and what the control checks said. */
  brake?: BrakeExplanation;
}

/** Why the mass-failover brake held a failover (shared/domain/brake.ts). */
export interface BrakeExplanation {
  engagement: string;
  /** Sites that failed over automatically in the window, and how many may. */
  failedOver: number;
  limit: number;
  sites: number;
  windowSeconds: number;
  /** When the window empties and the brake releases, if nothing else fails over. */
  releaseAt: number;
  /** The probe regions that voted the link down, those whose control checks all answered, and the quorum. */
  voted: string[];
  clean: string[];
  quorum: number;
}

/** A decision worth remembering: a change of mode, or an event people hear about. */
export interface Transition {
  site: string;
  seq: number;
  at: number;
  kind: TransitionKind;
  from: SiteMode;
  to: SiteMode;
  fromLink: string;
  toLink: string;
  /** Recorded, but people are not told (maintenance window or operator override). */
  suppressed: boolean;
  incidentId: string | null;
  explanation: Explanation;
}

export type Severity = 'critical' | 'warning' | 'info';

interface ActionBase {
  /** Deterministic: `<site>:<seq>:<n>`; the idempotency key of the effect. */
  id: string;
  site: string;
  /** Sequence number of the transition that asked for it. */
  seq: number;
  at: number;
}

/** Point a DNS record at the values of `link` (an UPSERT of the desired state). */
export interface DnsAction extends ActionBase {
  kind: 'dns';
  zone: string;
  hostedZoneId: string;
  name: string;
  type: 'A' | 'AAAA' | 'CNAME';
  ttl: number;
  strategy: 'record-swap' | 'health-check-gated';
  link: string;
  values: string[];
}

/** Ask the site's agent to move traffic to `link`. */
export interface AgentCommandAction extends ActionBase {
  kind: 'agent-command';
  command: 'switch-wan' | 'restore-wan';
  link: string;
  expiresAt: number;
}

/** Tell people. Suppressed alerts are recorded only. */
export interface AlertAction extends ActionBase {
  kind: 'alert';
  severity: Severity;
  event: TransitionKind;
  /** One per site and transition: a resent alert is the same alert. */
  dedupKey: string;
  incidentId: string | null;
  /** Under 100 characters. */
  subject: string;
  /** Under 140 characters, for SMS at 3 a.m. */
  short: string;
  /** The whole story, with the explanation. */
  body: string;
  suppressed: boolean;
}

/** Tell subscribed tools (CRMs, ticketing). */
export interface WebhookAction extends ActionBase {
  kind: 'webhook';
  event: WebhookEvent;
  incidentId: string | null;
  data: Record<string, unknown>;
}

/** Store a transition, or an incident's latest snapshot, in the history (idempotent by key). */
export interface HistoryAction extends ActionBase {
  kind: 'history';
  record: HistoryRecord;
}

export type Action = DnsAction | AgentCommandAction | AlertAction | WebhookAction | HistoryAction;

export interface IncidentRecord {
  id: string;
  site: string;
  kind: OpenIncident['kind'];
  status: 'open' | 'resolved';
  openedAt: number;
  resolvedAt: number | null;
  openedSeq: number;
  /** Sequence number of the last transition of its timeline. */
  lastSeq: number;
  summary: string;
  acknowledged: boolean;
}

export type HistoryRecord =
  { type: 'transition'; transition: Transition } | { type: 'incident'; incident: IncidentRecord };

/** Everything the decider keeps about one site: one item, changed by one conditional write. */
export interface SiteState {
  v: 1;
  site: string;
  /** Incremented by every write; the condition of the next one. */
  version: number;
  mode: SiteMode;
  activeLink: string;
  modeSince: number;
  /** Keyed `<check>|<link or ->|<vantage>`. */
  streaks: Record<string, Streak>;
  vantages: Record<string, VantageHealth>;
  links: Record<string, LinkHealth>;
  dependencies: Record<string, DependencyHealth>;
  /** Since when the primary has been up without a break (for the hold-down), or null. */
  primaryUpSince: number | null;
  /**
   * RFC 2439-style penalty as of `at`; `suppressed` holds automatic failback until it decays below reuse;
   * `announced` once people were told of the hold since the last failover.
   */
  damping: { penalty: number; at: number; suppressed: boolean; announced: boolean };
  override: Override | null;
  /** An operator's failover that holds the site on its backup; absent in states written before it existed. */
  operatorFailover?: OperatorFailover | null;
  /** Absent in states written before it existed: treated as not lost. */
  quorum?: QuorumWatch;
  /**
   * The mass-failover brake holds this site's automatic failover (to `to`) in engagement `engagement`: recorded
   * once per engagement. Absent when not held (and in states written before it existed).
   */
  brakeHeld?: { engagement: string; since: number; to: string };
  /** The maintenance window in force, and whether the site was healthy when it began. */
  maintenance: { id: string; startedAt: number; endsAt: number; healthyAtStart: boolean } | null;
  incident: OpenIncident | null;
  /** Sequence number of the last transition. */
  seq: number;
  /** Effects still to apply, in order. */
  outbox: Action[];
  updatedAt: number;
}

/** A person's or a tool's word, through the API or an inbound webhook. */
export type OperatorCommand =
  | { type: 'override'; pin: LinkRole; reason: string; by: string; until?: number }
  | { type: 'clear-override'; reason: string; by: string }
  | { type: 'failover'; reason: string; by: string; until?: number }
  | { type: 'failback'; reason: string; by: string }
  | { type: 'acknowledge'; by: string };

/**
 * Why a command was not taken: `rejected` by the engine's rules, `override-conflict` (a pin to the other side while
 * pinned), or `conflict` (decideSite: the site's traffic or pins changed after the request read the state).
 */
export interface Rejection {
  readonly command: OperatorCommand;
  readonly reason: string;
  readonly code: 'rejected' | 'override-conflict' | 'conflict';
}

/** A maintenance window as the decider sees it (from sites.yaml or the API). */
export interface MaintenanceWindow {
  id: string;
  startMs: number;
  endMs: number;
  reason: string;
  ticket?: string | undefined;
}
