import { describeMissing } from '../explain.ts';
import { regionReports } from '../verdicts.ts';
import type { Decision } from './context.ts';
import { alert, record } from './transitions.ts';

/** How long, in intervals, reports must stay below (or back at) the quorum before people are told. */
export const QUORUM_GRACE_INTERVALS = 1.5;

/**
 * Tells people once when too few probe regions report on the site to reach its quorum (stale or impaired), and
 * once when enough do again. Either must hold for QUORUM_GRACE_INTERVALS, so that one late or impaired round, or a
 * region coming and going at the boundary, changes nothing. Silent until some region has reported at all.
 */
export function watchQuorum(d: Decision): void {
  const s = d.state;
  const { reporting, missing } = regionReports(d.site, s, d.regions, d.now);
  if (reporting.length === 0 && missing.every((m) => m.reason === 'no data')) return;
  const needed = d.site.policy.quorum;
  const short = reporting.length < needed;
  const q = s.quorum ?? { lost: false, since: d.now, pendingSince: null };
  if (short === q.lost) {
    if (q.pendingSince !== null) s.quorum = { ...q, pendingSince: null };
    return;
  }
  const pendingSince = q.pendingSince ?? d.now;
  if (d.now - pendingSince < QUORUM_GRACE_INTERVALS * d.site.policy.intervalSeconds * 1000) {
    if (q.pendingSince === null) s.quorum = { ...q, pendingSince };
    return;
  }
  s.quorum = { lost: short, since: pendingSince, pendingSince: null };
  const counts = `${reporting.length} of ${d.regions.length} regions reporting`;
  const regions = { reporting: reporting.length, total: d.regions.length, needed, missing };
  const why = missing.map(describeMissing).join('; ');
  if (short) {
    const t = record(
      d,
      'quorum-lost',
      s.mode,
      s.activeLink,
      `Quorum lost: ${counts}, ${needed} needed (${why}). Link verdicts stay as they were until enough regions report again: what fewer regions see is not acted on.`,
      undefined,
      { regions },
    );
    alert(d, t, 'warning', 'NO QUORUM', `quorum lost: ${counts}, ${needed} needed`);
  } else {
    const t = record(
      d,
      'quorum-restored',
      s.mode,
      s.activeLink,
      `Quorum restored: ${counts}, ${needed} needed${why ? ` (${why})` : ''}; decisions resume.`,
      undefined,
      { regions },
    );
    alert(d, t, 'warning', 'RESOLVED', `quorum restored: ${counts}`);
  }
}
