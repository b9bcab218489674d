import type { Explanation, MissingRegion, PathEvidence, SiteState, Vote } from './model.ts';
import { regionOfVantage } from '../contracts/ids.ts';

const shortVantage = (v: string) => regionOfVantage(v) ?? v;

/** The one-line story of a path's votes: who saw what, against the quorum. */
export function describePath(p: PathEvidence, quorum: number): string {
  const label = p.role === 'dependency' ? `${p.path}` : `${p.path} (${p.role})`;
  const state = p.verdict === 'unknown' ? 'UNKNOWN' : p.verdict.toUpperCase();
  const count = (kind: Vote['vote']) => p.votes.filter((v) => v.vote === kind).length;
  const tallies = (['down', 'degraded', 'up', 'undecided', 'abstain'] as const)
    .filter((k) => count(k) > 0)
    .map((k) => `${count(k)} ${k}`)
    .join(', ');
  const degraded = p.degraded ? ', degraded' : '';
  return `${label} ${state}${degraded}: ${tallies} of ${p.votes.length} vantages (quorum ${quorum})`;
}

/** One line per vantage: its vote and the counters behind it. */
export function describeVotes(p: PathEvidence): string[] {
  return p.votes.map((v) => {
    const head = `${shortVantage(v.vantage)}: ${v.vote}${v.reason ? ` (${v.reason})` : ''}`;
    const checks = v.checks.map((c) => {
      const streak =
        c.lastOutcome === 'up' ? `up x${c.up}` : c.lastOutcome === 'down' ? `down x${c.down}` : `degraded x${c.notUp}`;
      const why = c.lastOutcome === 'up' ? '' : ` [${c.lastErrorClass ?? 'degraded'}] ${c.lastDetail}`;
      return `${c.check} ${streak}${why}`;
    });
    return checks.length > 0 ? `${head} - ${checks.join('; ')}` : head;
  });
}

/** Why a probe region does not count towards the quorum, in a few words. */
export function describeMissing(m: MissingRegion): string {
  if (m.reason === 'no data') return `${m.region}: never reported`;
  if (m.reason === 'stale') return `${m.region}: stale, no round recorded since ${new Date(m.lastAt!).toISOString()}`;
  return `${m.region}: impaired: control checks failing${m.detail ? ` (${m.detail})` : ''}`;
}

/** Where a site's traffic is and who holds it there, for people: the current state a refused command met. */
export function describePosition(state: SiteState | null): string {
  if (!state) return 'the site is PRIMARY_ACTIVE on its primary link (nothing decided yet)';
  const parts = [`the site is ${state.mode} on ${state.activeLink} since ${new Date(state.modeSince).toISOString()}`];
  const o = state.override;
  if (o)
    parts.push(
      `pinned to ${o.link} (${o.pin}) by ${o.by}${o.until ? ` until ${new Date(o.until).toISOString()}` : ''}`,
    );
  const f = state.operatorFailover;
  if (f)
    parts.push(
      `held there by ${f.by}'s failover ${f.until ? `until ${new Date(f.until).toISOString()}` : 'until an operator fails back'}`,
    );
  return parts.join(', ');
}

/** The whole explanation as text: the summary, then each path with its votes. */
export function renderExplanation(e: Explanation): string {
  const lines = [e.summary];
  for (const p of e.paths) {
    lines.push(`  ${describePath(p, e.quorum)}`);
    for (const v of describeVotes(p)) lines.push(`    ${v}`);
  }
  if (e.damping) {
    const reuse = e.damping.reuseInSeconds === null ? '' : `, reuse in ${Math.ceil(e.damping.reuseInSeconds / 60)} min`;
    lines.push(
      `  flap damping: penalty ${Math.round(e.damping.penalty)} (suppress above ${e.damping.suppressLimit}, reuse below ${e.damping.reuseLimit}${reuse})`,
    );
  }
  if (e.holdDown) {
    const h = e.holdDown;
    const since = h.primaryUpSince === null ? 'not up' : `up since ${new Date(h.primaryUpSince).toISOString()}`;
    const counted =
      h.countedFrom && h.countedFrom !== h.primaryUpSince
        ? `, counted from the switch at ${new Date(h.countedFrom).toISOString()}`
        : '';
    lines.push(`  hold-down: primary ${since}${counted}, ${h.holdDownSeconds} s required`);
  }
  if (e.regions) {
    const r = e.regions;
    lines.push(`  regions reporting: ${r.reporting} of ${r.total} (quorum ${r.needed})`);
    for (const m of r.missing) lines.push(`    ${describeMissing(m)}`);
  }
  lines.push(`  thresholds: ${e.failureThreshold} failed / ${e.recoveryThreshold} good rounds per vantage`);
  return lines.join('\n');
}
