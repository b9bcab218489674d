import * as z from 'zod';

/**
 * The identifiers that travel between the parts: one schema or one format/parse pair each, so that a format is
 * written once. Site, link and check ids are short and safe in keys, URLs and metric dimensions.
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

/** An id of sites.yaml (site, link, check, preset); `what` names it in the error. */
export function idSchema(what = 'an id') {
  return z.string().regex(ID_PATTERN, `expected ${what} of letters, digits, "-" and "_" (at most 63)`);
}

/** A site id, as in sites.yaml. */
export const SiteId = idSchema('a site id');

/** Where a site's traffic goes: the engine's mode. */
export const SITE_MODES = ['PRIMARY_ACTIVE', 'BACKUP_ACTIVE', 'BOTH_DOWN'] as const;
export type SiteMode = (typeof SITE_MODES)[number];
export const SiteModeSchema = z.enum(SITE_MODES);

const REGION_PREFIX = 'region:';

/** The vantage of a probe region: `region:<name>` (an agent's is `site:<site>/<link>`). */
export function regionVantage(region: string): string {
  return `${REGION_PREFIX}${region}`;
}

/** The region of a probe region's vantage; null for an agent's or anything else. */
export function regionOfVantage(vantage: string): string | null {
  return vantage.startsWith(REGION_PREFIX) && vantage.length > REGION_PREFIX.length
    ? vantage.slice(REGION_PREFIX.length)
    : null;
}
