import type { ObservationBatch } from '../contracts/observation.ts';
import type { SiteConfig } from '../config/model.ts';
import type { SiteState, Streak } from './model.ts';
import { nextLastAt } from './write-policy.ts';
import { regionOfVantage } from '../contracts/ids.ts';
import { controlOf } from './brake.ts';

const MAX_STREAK = 10_000;
const DETAIL_CHARS = 160;

/** The key of one (check, link, vantage) in `SiteState.streaks`. */
export function streakKey(check: string, link: string | null, vantage: string): string {
  return `${check}|${link ?? '-'}|${vantage}`;
}

/** Whether a batch's vantage may vote for this site: a configured region, or this site's agent on one of its links. */
function knownVantage(vantage: string, site: SiteConfig, regions: readonly string[]): boolean {
  const region = regionOfVantage(vantage);
  if (region !== null) return regions.includes(region);
  const prefix = `site:${site.id}/`;
  return vantage.startsWith(prefix) && site.links.some((l) => l.id === vantage.slice(prefix.length));
}

/**
 * Folds one batch into the site's counters. Idempotent: an observation whose round is not newer than the last one
 * applied to its (check, link, vantage) changes nothing, so redelivered or split batches are harmless. A batch whose
 * vantage failed its own control checks marks the vantage impaired and leaves the counters alone: that round, the
 * vantage abstains. A check the round skipped leaves its counters alone too, and is remembered on the vantage until
 * its next round, so that the vantage abstains on that check's path (vote). Returns whether anything changed.
 */
export function applyBatch(
  state: SiteState,
  batch: ObservationBatch,
  site: SiteConfig,
  regions: readonly string[],
): boolean {
  if (batch.site !== site.id || !knownVantage(batch.vantage, site, regions)) return false;
  let changed = false;
  const vantage = state.vantages[batch.vantage];
  const newerRound = !vantage || batch.roundId > vantage.lastRound;
  const impaired = batch.control !== null && !batch.control.ok;
  const detail = impaired ? (batch.control?.detail ?? '') : '';
  const control = controlOf(batch.control);
  const known = new Set(site.checks.map((c) => `${c.id}|${c.link ?? '-'}`));
  // A region observes a check on its configured link; an agent observes dependencies through its own link.
  const agentLink = batch.vantage.startsWith('site:') ? batch.vantage.slice(batch.vantage.indexOf('/') + 1) : null;
  const keyOf = (o: { check: string; link: string | null; dependency: string | null }): string | null => {
    const configured = agentLink !== null && o.dependency !== null ? `${o.check}|-` : `${o.check}|${o.link ?? '-'}`;
    return known.has(configured) ? streakKey(o.check, agentLink ?? o.link, batch.vantage) : null;
  };
  const skipped = [...new Set((batch.skipped ?? []).map(keyOf).filter((k) => k !== null))].sort();
  // A round that confirms the vantage as it stands is recorded (its time stored) only every freshness step; its
  // checks' times move with it, so that a round is either recorded whole or leaves every time as it was.
  let recorded = vantage !== undefined && vantage.lastAt === Date.parse(batch.startedAt);
  if (newerRound) {
    const startedAt = Date.parse(batch.startedAt);
    const same =
      vantage !== undefined &&
      vantage.impaired === impaired &&
      vantage.detail === detail &&
      vantage.control === control &&
      (vantage.skipped ?? []).join('\n') === skipped.join('\n');
    const lastAt = same ? nextLastAt(vantage.lastAt, startedAt, site.policy) : startedAt;
    recorded = !same || lastAt !== vantage.lastAt;
    state.vantages[batch.vantage] = {
      lastRound: batch.roundId,
      lastAt,
      impaired,
      detail,
      ...(skipped.length > 0 ? { skipped } : {}),
      ...(control !== undefined ? { control } : {}),
    };
    changed = true;
  } else if (vantage && batch.roundId === vantage.lastRound && skipped.some((k) => !vantage.skipped?.includes(k))) {
    // Another part of the same round's batch (a split message): what it skipped adds to what the others did.
    vantage.skipped = [...new Set([...(vantage.skipped ?? []), ...skipped])].sort();
    // A change records the round's time, as a newer round that changed the vantage does.
    vantage.lastAt = Date.parse(batch.startedAt);
    recorded = true;
    changed = true;
  }
  if (impaired) return changed;

  for (const o of batch.observations) {
    if (o.vantage !== batch.vantage) continue;
    const key = keyOf(o);
    if (key === null) continue;
    const before = state.streaks[key];
    if (before && o.roundId <= before.lastRound) continue;
    const after = next(before, o.outcome, o.roundId, Date.parse(o.at), o.errorClass, o.detail);
    // A check's round that confirms its streak as it stands (counters past the thresholds) keeps the recorded time.
    if (before && !recorded && confirms(before, after, site)) after.lastAt = before.lastAt;
    state.streaks[key] = after;
    changed = true;
  }
  return changed;
}

function confirms(before: Streak, after: Streak, site: SiteConfig): boolean {
  const cap = Math.max(site.policy.failureThreshold, site.policy.recoveryThreshold);
  const same = (a: number, b: number) => Math.min(a, cap) === Math.min(b, cap);
  return (
    after.lastOutcome === before.lastOutcome &&
    after.lastErrorClass === before.lastErrorClass &&
    after.lastDetail === before.lastDetail &&
    same(after.down, before.down) &&
    same(after.notUp, before.notUp) &&
    same(after.up, before.up)
  );
}

function next(
  before: Streak | undefined,
  outcome: Streak['lastOutcome'],
  round: string,
  at: number,
  errorClass: Streak['lastErrorClass'],
  detail: string,
): Streak {
  const inc = (n: number | undefined) => Math.min((n ?? 0) + 1, MAX_STREAK);
  return {
    down: outcome === 'down' ? inc(before?.down) : 0,
    notUp: outcome === 'up' ? 0 : inc(before?.notUp),
    up: outcome === 'up' ? inc(before?.up) : 0,
    lastRound: round,
    lastAt: at,
    lastOutcome: outcome,
    lastErrorClass: errorClass,
    // Only failures need their story told; an up result's detail would only make every write bigger.
    lastDetail:
      outcome === 'up' ? '' : detail.length > DETAIL_CHARS ? `${detail.slice(0, DETAIL_CHARS - 3)}...` : detail,
  };
}
