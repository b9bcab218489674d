import type { PlannedCheck, SiteConfig } from '../config/model.ts';
import type { CheckEvidence, MissingRegion, PathEvidence, SiteState, Verdict, Vote } from './model.ts';
import { streakKey } from './streaks.ts';
import { staleAfterMs } from './write-policy.ts';
import { regionVantage } from '../contracts/ids.ts';

/** How a path's verdict and degraded flag moved in one evaluation. */
export interface PathChange {
  readonly path: string;
  readonly verdictBefore: Verdict;
  readonly degradedBefore: boolean;
}

/**
 * One vantage's vote on a set of checks. It abstains when it is impaired, when none of the checks has a fresh
 * observation from it, or when its last round skipped one of them (its last result of that check is not this
 * round's). Otherwise it votes `down` when a fresh check failed `failureThreshold` rounds running (down, or
 * down-or-degraded when the policy fails over on degraded), `degraded` when one was not up that long, `up` when every
 * fresh check was up `recoveryThreshold` rounds running, else `undecided`.
 */
export function vote(
  site: SiteConfig,
  state: SiteState,
  checks: readonly PlannedCheck[],
  streakLink: string | null,
  vantage: string,
  now: number,
): Vote {
  const { failureThreshold, recoveryThreshold, failoverOn } = site.policy;
  const evidence: CheckEvidence[] = [];
  let seen = false;
  for (const check of checks) {
    const s = state.streaks[streakKey(check.id, streakLink, vantage)];
    if (!s) continue;
    seen = true;
    if (now - s.lastAt > staleAfterMs(site.policy)) continue;
    evidence.push({
      check: check.id,
      down: s.down,
      notUp: s.notUp,
      up: s.up,
      lastOutcome: s.lastOutcome,
      lastErrorClass: s.lastErrorClass,
      lastDetail: s.lastDetail,
      lastAt: s.lastAt,
    });
  }
  if (state.vantages[vantage]?.impaired) return { vantage, vote: 'abstain', reason: 'impaired', checks: evidence };
  if (evidence.length === 0) return { vantage, vote: 'abstain', reason: seen ? 'stale' : 'no data', checks: [] };
  const skipped = state.vantages[vantage]?.skipped;
  if (skipped && checks.some((c) => skipped.includes(streakKey(c.id, streakLink, vantage))))
    return { vantage, vote: 'abstain', reason: 'skipped', checks: evidence };
  const failing = (e: CheckEvidence) => (failoverOn.includes('degraded') ? e.notUp : e.down) >= failureThreshold;
  if (evidence.some(failing)) return { vantage, vote: 'down', checks: evidence };
  if (evidence.some((e) => e.notUp >= failureThreshold)) return { vantage, vote: 'degraded', checks: evidence };
  if (evidence.every((e) => e.up >= recoveryThreshold)) return { vantage, vote: 'up', checks: evidence };
  return { vantage, vote: 'undecided', checks: evidence };
}

/**
 * The probe regions that count towards the quorum at `now` (a round within the stale window, control checks
 * passing), and why each other one does not.
 */
export function regionReports(
  site: SiteConfig,
  state: SiteState,
  regions: readonly string[],
  now: number,
): { reporting: string[]; missing: MissingRegion[] } {
  const reporting: string[] = [];
  const missing: MissingRegion[] = [];
  for (const region of regions) {
    const v = state.vantages[regionVantage(region)];
    if (!v) missing.push({ region, reason: 'no data', lastAt: null, detail: '' });
    else if (now - v.lastAt > staleAfterMs(site.policy))
      missing.push({ region, reason: 'stale', lastAt: v.lastAt, detail: '' });
    else if (v.impaired) missing.push({ region, reason: 'impaired', lastAt: v.lastAt, detail: v.detail });
    else reporting.push(region);
  }
  return { reporting, missing };
}

/** Counts votes against the quorum: down or up when a quorum agrees, else the verdict stays as it was. */
function tally(votes: readonly Vote[], quorum: number, before: { verdict: Verdict; degraded: boolean }) {
  const count = (...kinds: Vote['vote'][]) => votes.filter((v) => kinds.includes(v.vote)).length;
  let verdict = before.verdict;
  if (count('down') >= quorum) verdict = 'down';
  else if (count('up') >= quorum) verdict = 'up';
  let degraded = before.degraded;
  if (verdict === 'down' || count('up') >= quorum) degraded = false;
  else if (count('down', 'degraded') >= quorum) degraded = true;
  return { verdict, degraded };
}

/**
 * Re-evaluates every link of the site from the probe regions' votes and stores the verdicts in `state.links`.
 * Returns the evidence per link and what changed.
 */
export function evaluateLinks(
  site: SiteConfig,
  state: SiteState,
  regions: readonly string[],
  now: number,
): { evidence: Record<string, PathEvidence>; changes: PathChange[] } {
  const evidence: Record<string, PathEvidence> = {};
  const changes: PathChange[] = [];
  for (const link of site.links) {
    const checks = site.checks.filter((c) => c.link === link.id && c.dependency === null);
    const votes = regions.map((r) => vote(site, state, checks, link.id, regionVantage(r), now));
    const before = state.links[link.id] ?? { verdict: 'unknown' as Verdict, since: now, degraded: false };
    const after = tally(votes, site.policy.quorum, before);
    if (after.verdict !== before.verdict || after.degraded !== before.degraded) {
      changes.push({ path: link.id, verdictBefore: before.verdict, degradedBefore: before.degraded });
    }
    state.links[link.id] = {
      verdict: after.verdict,
      since: after.verdict === before.verdict && state.links[link.id] ? before.since : now,
      degraded: after.degraded,
    };
    evidence[link.id] = { path: link.id, role: link.role, verdict: after.verdict, degraded: after.degraded, votes };
  }
  return { evidence, changes };
}

/**
 * Re-evaluates each dependency (SaaS/VoIP preset). It is a provider outage when a quorum of regions sees it down and
 * no vantage, the site's agent on any link included, sees it up; it is over when a quorum of regions sees it up.
 */
export function evaluateDependencies(
  site: SiteConfig,
  state: SiteState,
  regions: readonly string[],
  now: number,
): { evidence: Record<string, PathEvidence>; changes: PathChange[] } {
  const evidence: Record<string, PathEvidence> = {};
  const changes: PathChange[] = [];
  for (const dependency of site.dependencies) {
    const checks = site.checks.filter((c) => c.dependency === dependency);
    const regionVotes = regions.map((r) => vote(site, state, checks, null, regionVantage(r), now));
    const agentVotes = site.links
      .map((l) => vote(site, state, checks, l.id, `site:${site.id}/${l.id}`, now))
      .filter((v) => v.reason !== 'no data');
    const votes = [...regionVotes, ...agentVotes];
    const before = state.dependencies[dependency] ?? { outage: false, since: now };
    const regionDown = regionVotes.filter((v) => v.vote === 'down').length >= site.policy.quorum;
    const regionUp = regionVotes.filter((v) => v.vote === 'up').length >= site.policy.quorum;
    const anyUp = votes.some((v) => v.vote === 'up');
    const outage = before.outage ? !regionUp : regionDown && !anyUp;
    if (outage !== before.outage)
      changes.push({ path: dependency, verdictBefore: before.outage ? 'down' : 'up', degradedBefore: false });
    state.dependencies[dependency] = { outage, since: outage === before.outage ? before.since : now };
    evidence[dependency] = {
      path: dependency,
      role: 'dependency',
      verdict: outage ? 'down' : regionUp ? 'up' : 'unknown',
      degraded: false,
      votes,
    };
  }
  return { evidence, changes };
}
