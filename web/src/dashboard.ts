import 'uplot/dist/uPlot.min.css';
import './styles.css';
import {
  ApiError,
  getJson,
  readEvents,
  type IncidentDetail,
  type IncidentPage,
  type MaintenanceList,
  type SiteDetail,
  type SiteList,
  type SiteSummary,
} from './api.ts';
import { h, replace } from './dom.ts';
import { CheckPanels } from './checks.ts';
import { evidence, incidentItem, linksTable, maintenanceTable, modeBadge, siteHead, sitesTable } from './site-view.ts';

const KEY_STORAGE = 'failover.apiKey';
/** Without the event stream (the cloud's API Gateway cannot stream): how often the page reads the API again. */
const POLL_MS = 5000;
/** With it: a slow read anyway, for what changes without an event (times, maintenance created elsewhere). */
const SAFETY_POLL_MS = 30_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const connection = $('connection');
const announcer = $('announcer');
const form = $<HTMLFormElement>('key-form');
const app = $('app');
const list = $('site-list');
const view = $('view');
const signOut = $<HTMLButtonElement>('sign-out');

let key: string | undefined;
let sites: SiteSummary[] = [];
let selected: string | undefined;
let detail: SiteDetail | undefined;
const openIncidents = new Set<string>();
const incidentDetails = new Map<string, IncidentDetail>();
let incidents: IncidentPage['items'] = [];
let maintenance: MaintenanceList['items'] = [];
let checks: CheckPanels | undefined;
let live: AbortController | undefined;
let pollTimer: ReturnType<typeof setInterval> | undefined;
let focusHeading = false;

// A key handed over in the URL fragment (`failover local` prints such a link) is stored and removed from the URL:
// fragments never reach a server, and the address bar and history keep no copy of it.
function takeKeyFromFragment(): void {
  const m = /^#key=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(m[1]!));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

function route(): void {
  const m = /^#\/sites\/([^/]+)$/.exec(location.hash);
  const next = m ? decodeURIComponent(m[1]!) : undefined;
  if (next === selected && view.childElementCount > 0) return;
  selected = next;
  detail = undefined;
  incidents = [];
  maintenance = [];
  incidentDetails.clear();
  openIncidents.clear();
  checks?.destroy();
  checks = undefined;
  renderList();
  renderView();
  // A site opened from the list: the focus moves to its heading once shown, for keyboard and screen reader users.
  focusHeading = selected !== undefined;
  void refresh('all');
}

function renderList(): void {
  replace(
    list,
    ...sites.map((s) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: `#/sites/${encodeURIComponent(s.id)}`,
            'data-focus': `site-${s.id}`,
            'data-site': s.id,
            'aria-current': s.id === selected ? 'page' : false,
            'aria-label': `${s.name}: ${s.mode}, active link ${s.activeLink}`,
          },
          h('span', { class: 'name' }, s.name),
          modeBadge(s.mode),
          h('span', { class: 'muted' }, ` on ${s.activeLink}`),
        ),
      ),
    ),
  );
}

function renderView(): void {
  if (!selected) {
    replace(view, sitesTable(sites));
    return;
  }
  if (!detail) {
    if (view.querySelector('#site-head')) return;
    replace(view, h('p', { class: 'muted' }, `Loading site ${selected}…`));
    return;
  }
  if (!view.querySelector('#site-head')) {
    replace(
      view,
      h('section', { id: 'site-head', 'aria-labelledby': 'site-heading' }),
      h('div', { id: 'site-links' }),
      h('div', { id: 'site-evidence' }),
      h(
        'section',
        { 'aria-labelledby': 'checks-heading' },
        h('h3', { id: 'checks-heading' }, 'Checks'),
        h('div', { id: 'site-checks' }),
      ),
      h(
        'section',
        { 'aria-labelledby': 'incidents-heading' },
        h('h3', { id: 'incidents-heading' }, 'Incidents'),
        h('div', { id: 'site-incidents' }),
      ),
      h(
        'section',
        { 'aria-labelledby': 'maintenance-heading' },
        h('h3', { id: 'maintenance-heading' }, 'Maintenance windows'),
        h('div', { id: 'site-maintenance' }),
      ),
    );
    checks = new CheckPanels($('site-checks'), detail.id, () => key);
  }
  replace($('site-head'), ...siteHead(detail));
  if (focusHeading) {
    focusHeading = false;
    $('site-heading').focus();
  }
  replace($('site-links'), linksTable(detail));
  replace($('site-evidence'), evidence(detail));
  checks?.update(detail);
  renderIncidents();
  replace($('site-maintenance'), maintenanceTable(maintenance));
}

function renderIncidents(): void {
  const box = document.getElementById('site-incidents');
  if (!box) return;
  if (incidents.length === 0) {
    replace(box, h('p', { class: 'muted' }, 'No incidents.'));
    return;
  }
  replace(box, ...incidents.map((i) => incidentItem(i, incidentDetails.get(i.id), openIncidents.has(i.id))));
  for (const el of box.querySelectorAll<HTMLDetailsElement>('details[data-incident]')) {
    el.addEventListener('toggle', () => {
      const id = el.dataset.incident!;
      if (el.open === openIncidents.has(id)) return;
      if (el.open) {
        openIncidents.add(id);
        void loadIncident(id);
      } else openIncidents.delete(id);
    });
  }
}

async function loadIncident(id: string): Promise<void> {
  try {
    incidentDetails.set(id, await getJson<IncidentDetail>(`/v1/incidents/${encodeURIComponent(id)}`, key));
    renderIncidents();
  } catch (error) {
    report(error);
  }
}

let inFlight: Promise<void> | undefined;
let again: 'all' | 'site' | undefined;

/** Reads the API again; calls made while a read runs are folded into one more read after it. */
async function refresh(what: 'all' | 'site'): Promise<void> {
  if (inFlight) {
    again = again === 'all' || what === 'all' ? 'all' : 'site';
    return inFlight;
  }
  inFlight = (async () => {
    try {
      const site = selected;
      const [list, one, inc, maint] = await Promise.all([
        getJson<SiteList>('/v1/sites', key),
        site ? getJson<SiteDetail>(`/v1/sites/${encodeURIComponent(site)}`, key) : undefined,
        site && what === 'all'
          ? getJson<IncidentPage>(`/v1/incidents?site=${encodeURIComponent(site)}&limit=20`, key)
          : undefined,
        site && what === 'all'
          ? getJson<MaintenanceList>(`/v1/maintenance?site=${encodeURIComponent(site)}`, key)
          : undefined,
      ]);
      if (site !== selected) return;
      sites = list.items;
      detail = one;
      if (inc) incidents = inc.items;
      if (maint) maintenance = maint.items;
      if (inc) for (const id of openIncidents) void loadIncident(id);
      renderList();
      renderView();
      if (what === 'all') void checks?.reload();
    } catch (error) {
      report(error);
    }
  })();
  await inFlight;
  inFlight = undefined;
  const next = again;
  again = undefined;
  if (next) await refresh(next);
}

function report(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    forget('The API refused the key (401): enter a valid one.');
    return;
  }
  connection.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
}

function setConnection(text: string): void {
  connection.textContent = text;
}

function startLive(): void {
  live?.abort();
  live = new AbortController();
  const signal = live.signal;
  const connect = async (): Promise<void> => {
    while (!signal.aborted && key) {
      try {
        await readEvents(
          '/v1/events',
          key,
          () => {
            setConnection('Live: server-sent events');
            void refresh('all');
          },
          (e) => {
            const data = e.data as { site?: string; kind?: string; to?: string; toLink?: string };
            if (e.event === 'transition') {
              showTransition(data as Transitioned);
              const name = sites.find((s) => s.id === data.site)?.name ?? data.site;
              announcer.textContent = `${name}: ${data.kind}, now ${data.to} on ${data.toLink}`;
              void refresh(data.site === selected ? 'all' : 'site');
            } else if (e.event === 'state') void refresh('site');
          },
          signal,
        );
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.status === 401) return report(error);
        if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
          // No event stream here (the cloud API): read the API every few seconds instead.
          setConnection(`Live: polling every ${POLL_MS / 1000} s`);
          startPolling(POLL_MS);
          return;
        }
      }
      if (signal.aborted) return;
      setConnection('Reconnecting…');
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  startPolling(SAFETY_POLL_MS);
  void connect();
}

type Transitioned = { site: string; to: SiteSummary['mode']; toLink: string; at: string };

// The event names the new mode and link: shown at once, before the API is read again for the rest.
function showTransition(t: Transitioned): void {
  for (const s of [sites.find((x) => x.id === t.site), detail?.id === t.site ? detail : undefined]) {
    if (!s) continue;
    s.mode = t.to;
    s.activeLink = t.toLink;
    s.modeSince = t.at;
  }
  renderList();
  renderView();
}

function startPolling(ms: number): void {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = setInterval(() => void refresh('all'), ms);
}

function forget(message = ''): void {
  sessionStorage.removeItem(KEY_STORAGE);
  key = undefined;
  live?.abort();
  if (pollTimer) clearInterval(pollTimer);
  app.hidden = true;
  signOut.hidden = true;
  form.hidden = false;
  $('key-error').textContent = message;
  setConnection('Not connected');
  $<HTMLInputElement>('api-key').focus();
}

async function signIn(candidate: string): Promise<void> {
  try {
    const list = await getJson<SiteList>('/v1/sites', candidate);
    key = candidate;
    sessionStorage.setItem(KEY_STORAGE, candidate);
    sites = list.items;
    form.hidden = true;
    app.hidden = false;
    signOut.hidden = false;
    $('key-error').textContent = '';
    route();
    startLive();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      forget('The API refused this key.');
      return;
    }
    // Not the key's fault (the runtime restarting, a network blip): keep it and try again.
    setConnection(`Could not reach the API (${error instanceof Error ? error.message : String(error)}); retrying…`);
    setTimeout(() => void signIn(candidate), 3000);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $<HTMLInputElement>('api-key').value.trim();
  if (value) void signIn(value);
});
signOut.addEventListener('click', () => forget());
window.addEventListener('hashchange', () => {
  takeKeyFromFragment();
  if (key) route();
});

takeKeyFromFragment();
const stored = sessionStorage.getItem(KEY_STORAGE);
if (stored) void signIn(stored);
else forget();
