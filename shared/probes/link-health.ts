import { dataPlaneLinksOf, type DataPlaneLink } from '../config/data-plane.ts';
import type { FailoverConfig } from '../config/model.ts';
import type { RoundResult } from './round.ts';

/** One region's word on one site link in one round: 1 healthy, 0 down (after the in-round confirming retry). */
export interface LinkHealthSample extends DataPlaneLink {
  readonly value: 0 | 1;
  /** The round's planned start, epoch milliseconds: one sample per round, so one per alarm period at most. */
  readonly atMs: number;
}

/**
 * The health samples a round yields for the data-plane links of its sites. A link is down in the round when one of
 * its checks came out down (or degraded, when the site fails over on degraded), else healthy. Nothing is said (the
 * region abstains) when the round's control checks failed (the region is the broken one), when a check of the link
 * was skipped, or when the round did not test the link at all.
 */
export function linkHealthOfRound(
  config: Pick<FailoverConfig, 'sites'>,
  round: Pick<RoundResult, 'observations' | 'skipped' | 'control'>,
  atMs: number,
  links: readonly DataPlaneLink[] = dataPlaneLinksOf(config),
): LinkHealthSample[] {
  if (round.control && !round.control.ok) return [];
  const key = (site: string | null, link: string | null) => `${site}\u0000${link}`;
  const skipped = new Set(round.skipped.filter((s) => s.dependency === null).map((s) => key(s.site, s.link)));
  const failing = new Map<string, boolean>();
  const sites = new Map(config.sites.map((s) => [s.id, s]));
  for (const o of round.observations) {
    if (o.dependency !== null || o.link === null) continue;
    const failOn = sites.get(o.site)?.policy.failoverOn ?? ['down'];
    const k = key(o.site, o.link);
    failing.set(k, (failing.get(k) ?? false) || failOn.includes(o.outcome as 'down' | 'degraded'));
  }
  const samples: LinkHealthSample[] = [];
  for (const link of links) {
    const k = key(link.site, link.link);
    const down = failing.get(k);
    if (down === undefined || skipped.has(k)) continue;
    samples.push({ ...link, value: down ? 0 : 1, atMs });
  }
  return samples;
}
