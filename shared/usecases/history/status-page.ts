import { createHash } from 'node:crypto';
import type { FailoverConfig, StatusPageConfigResolved } from '../../config/model.ts';
import type { PublicComponent, PublicIncident, PublicStatus, StatusPage } from '../../contracts/history.ts';
import { DAY_MS, addModes, emptyModes, serviceUptimeOf, type ModeTally } from '../../domain/history.ts';
import type { IncidentRecord, SiteState } from '../../domain/model.ts';
import type { HistoryStore } from '../../ports/history-store.ts';
import type { StateStore } from '../../ports/state-store.ts';
import { dayRange, readBuckets } from './read-history.ts';

export interface StatusPageDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly history: HistoryStore;
}

/** The configured status page `id`, or null: a page that is not in sites.yaml does not exist. */
export function statusPageConfig(config: FailoverConfig, id: string): StatusPageConfigResolved | null {
  return config.statusPages.find((p) => p.id === id) ?? null;
}

const INCIDENT_TITLES: Record<IncidentRecord['kind'], string> = {
  failover: 'Running on a backup connection',
  'both-down': 'Outage: every connection down',
  degraded: 'Degraded performance',
  'provider-outage': 'Third-party provider outage',
};

const RANK: Record<PublicStatus, number> = { unknown: 0, operational: 1, maintenance: 2, degraded: 3, outage: 4 };

/** A site's state in public terms. */
export function publicStatusOf(state: SiteState | null): PublicStatus {
  if (!state) return 'unknown';
  if (state.maintenance) return 'maintenance';
  if (state.mode === 'BOTH_DOWN') return 'outage';
  if (state.mode === 'BACKUP_ACTIVE') return 'degraded';
  return state.links[state.activeLink]?.degraded ? 'degraded' : 'operational';
}

function dayStatus(m: ModeTally): 'operational' | 'degraded' | 'outage' | 'maintenance' | 'no-data' {
  if (m.bothDown > 0) return 'outage';
  if (m.backup > 0) return 'degraded';
  if (m.primary > 0) return 'operational';
  return m.maintenance > 0 ? 'maintenance' : 'no-data';
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An opaque id for the public: the incident's own id says which site it is. */
function publicIncidentId(id: string): string {
  return createHash('sha256').update(`status-page:${id}`).digest('hex').slice(0, 16);
}

/** Per component: its current state, its day rollups of the page's range; shared by the page and its badge. */
async function components(deps: StatusPageDeps, page: StatusPageConfigResolved, now: number, days: number) {
  const range = dayRange(now, days);
  return Promise.all(
    page.sites.map(async (entry) => {
      const [state, buckets] = await Promise.all([
        deps.store.load(entry.site),
        readBuckets(deps.history, entry.site, range),
      ]);
      return { entry, state, days: [...buckets.values()], range };
    }),
  );
}

/** `GET /v1/status/{page}`: only the page's sites, by their public names, and nothing of links, checks or evidence. */
export async function statusPage(
  deps: StatusPageDeps,
  page: StatusPageConfigResolved,
  now: number,
  days: number,
): Promise<StatusPage> {
  const parts = await components(deps, page, now, days);
  const views: PublicComponent[] = parts.map(({ entry, state, days: rows }) => {
    const total = emptyModes();
    for (const r of rows) addModes(total, r.modes);
    return {
      id: entry.site,
      name: entry.name,
      group: entry.group,
      status: publicStatusOf(state),
      since: state ? iso(state.maintenance?.startedAt ?? state.modeSince) : null,
      uptime: serviceUptimeOf(total),
      days: rows.map((r) => ({
        date: iso(r.start).slice(0, 10),
        uptime: serviceUptimeOf(r.modes),
        status: dayStatus(r.modes),
      })),
    };
  });
  const incidents: PublicIncident[] = [];
  if (page.incidents) {
    const since = parts[0]?.range.fromMs ?? now - days * DAY_MS;
    for (const { entry, state } of parts) {
      const listed = await deps.store.listIncidents({ site: entry.site, since, limit: 50 });
      const records = [...listed.items];
      const open = state?.incident;
      if (open && !records.some((r) => r.id === open.id)) {
        records.push({ ...open, site: entry.site, status: 'open', resolvedAt: null, lastSeq: open.openedSeq });
      }
      for (const r of records) {
        incidents.push({
          id: publicIncidentId(r.id),
          component: entry.site,
          title: INCIDENT_TITLES[r.kind],
          kind: r.kind,
          status: r.status,
          startedAt: iso(r.openedAt),
          resolvedAt: r.resolvedAt === null ? null : iso(r.resolvedAt),
        });
      }
    }
    incidents.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }
  const known = views.filter((v) => v.status !== 'unknown');
  const status = known.reduce<PublicStatus>(
    (worst, v) => (RANK[v.status] > RANK[worst] ? v.status : worst),
    known.length > 0 ? 'operational' : 'unknown',
  );
  return { page: page.id, title: page.title, status, generatedAt: iso(now), components: views, incidents };
}

/** The page's (or one component's) service uptime over `days`; null with no data. Undefined: no such component. */
export async function pageUptime(
  deps: StatusPageDeps,
  page: StatusPageConfigResolved,
  now: number,
  days: number,
  component?: string,
): Promise<number | null | undefined> {
  const chosen = component === undefined ? page : { ...page, sites: page.sites.filter((s) => s.site === component) };
  if (chosen.sites.length === 0) return undefined;
  const total = emptyModes();
  for (const part of await components(deps, chosen, now, days)) for (const r of part.days) addModes(total, r.modes);
  return serviceUptimeOf(total);
}

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** Width of `text` in Verdana 11px, roughly: the badge's boxes fit their text. */
function textWidth(text: string): number {
  let w = 0;
  for (const c of text) w += /[il.,:;|!'1 ]/.test(c) ? 4 : /[mwMW%@]/.test(c) ? 10 : 7;
  return w;
}

/** An uptime badge in the style of shields.io: "label | 99.95%", colored by the uptime. */
export function uptimeBadge(label: string, uptime: number | null): string {
  const value = uptime === null ? 'no data' : `${formatPercent(uptime)}%`;
  const color = uptime === null ? '#9f9f9f' : uptime >= 0.999 ? '#4c1' : uptime >= 0.99 ? '#dfb317' : '#e05d44';
  const lw = textWidth(label) + 12;
  const vw = textWidth(value) + 12;
  const w = lw + vw;
  const l = escapeXml(label);
  const v = escapeXml(value);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${v}">` +
    `<title>${l}: ${v}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>` +
    `<stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/>` +
    `<rect x="${lw}" width="${vw}" height="20" fill="${color}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">` +
    `<text x="${lw / 2}" y="14">${l}</text><text x="${lw + vw / 2}" y="14">${v}</text></g></svg>`
  );
}

/** 99.95 for 0.99954: two decimals, never rounded up to 100 unless it is 100. */
export function formatPercent(ratio: number): string {
  if (ratio >= 1) return '100';
  return (Math.floor(ratio * 10_000) / 100).toFixed(2);
}
