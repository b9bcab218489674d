import type { Explanation, PathEvidence, Vote } from './model.ts';

const shortVantage = (v: string) => v.replace(/^region:/, '');

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
    const since =
      e.holdDown.primaryUpSince === null ? 'not up' : `up since ${new Date(e.holdDown.primaryUpSince).toISOString()}`;
    lines.push(`  hold-down: primary ${since}, ${e.holdDown.holdDownSeconds} s required`);
  }
  lines.push(`  thresholds: ${e.failureThreshold} failed / ${e.recoveryThreshold} good rounds per vantage`);
  return lines.join('\n');
}
