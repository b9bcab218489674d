import './styles.css';
import { ApiError, getJson, type StatusPage } from './api.ts';
import { ago, h, replace, time } from './dom.ts';

type Status = StatusPage['status'];
type Component = StatusPage['components'][number];

const WORDS: Record<Status, string> = {
  operational: '● Operational',
  degraded: '▲ Degraded',
  outage: '✖ Outage',
  maintenance: '◆ Maintenance',
  unknown: '? Unknown',
};
const MODE_CLASS: Record<Status, string> = {
  operational: 'mode-PRIMARY_ACTIVE',
  degraded: 'mode-BACKUP_ACTIVE',
  outage: 'mode-BOTH_DOWN',
  maintenance: 'v-unknown',
  unknown: 'v-unknown',
};
const DAY_CLASS: Record<Component['days'][number]['status'], string> = {
  operational: 'd-ok',
  degraded: 'd-minor',
  outage: 'd-major',
  maintenance: 'd-none',
  'no-data': 'd-none',
};
const REFRESH_MS = 30_000;

const page = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const view = document.getElementById('status-view')!;
const updated = document.getElementById('status-updated')!;

function badge(status: Status): HTMLElement {
  return h('span', { class: `mode ${MODE_CLASS[status]}`, 'data-status': status }, WORDS[status]);
}

function pct(ratio: number | null): string {
  return ratio === null ? 'no data' : `${(ratio * 100).toFixed(ratio >= 0.99 ? 2 : 1)} % uptime`;
}

function component(c: Component): HTMLElement {
  const id = `c-${c.id}`;
  return h(
    'section',
    { 'aria-labelledby': id, class: 'check' },
    h('h3', { id }, c.name, ' ', badge(c.status)),
    h(
      'p',
      { class: 'muted' },
      c.since ? `Since ${ago(c.since)}. ` : '',
      `${pct(c.uptime)} over ${c.days.length} days.`,
    ),
    h(
      'div',
      {
        class: 'days',
        role: 'img',
        'aria-label': `${c.name}, daily status over ${c.days.length} days: ${c.days.filter((d) => d.status === 'outage').length} with an outage, ${c.days.filter((d) => d.status === 'degraded').length} degraded`,
      },
      ...c.days.map((d) =>
        h('span', {
          class: DAY_CLASS[d.status],
          title: `${d.date}: ${d.status}${d.uptime === null ? '' : `, ${(d.uptime * 100).toFixed(2)} %`}`,
        }),
      ),
    ),
    h('p', { class: 'muted' }, `${c.days[0]?.date ?? ''} — today`),
  );
}

function render(s: StatusPage): void {
  document.title = `${s.title}: status`;
  replace(document.getElementById('status-title')!, s.title);
  const groups = new Map<string, Component[]>();
  for (const c of s.components) groups.set(c.group ?? '', [...(groups.get(c.group ?? '') ?? []), c]);
  const badgeUrl = `/v1/status/${encodeURIComponent(page)}/badge.svg`;
  replace(
    view,
    h('section', { 'aria-labelledby': 'overall' }, h('h2', { id: 'overall' }, 'Current status: ', badge(s.status))),
    ...[...groups.entries()].map(([group, cs]) =>
      group
        ? h('section', { 'aria-label': group }, h('h2', {}, group), ...cs.map(component))
        : h('div', {}, ...cs.map(component)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'incidents' },
      h('h2', { id: 'incidents' }, 'Incidents'),
      s.incidents.length === 0
        ? h('p', { class: 'muted' }, 'No incidents in this period.')
        : h(
            'ul',
            {},
            ...s.incidents.map((i) =>
              h(
                'li',
                {},
                h('strong', {}, i.title),
                ` — ${s.components.find((c) => c.id === i.component)?.name ?? i.component}, ${i.status}; started `,
                time(i.startedAt),
                i.resolvedAt ? h('span', {}, ', resolved ', time(i.resolvedAt)) : '',
              ),
            ),
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'badge' },
      h('h2', { id: 'badge' }, 'Badge'),
      h('img', { src: badgeUrl, alt: `Uptime badge of ${s.title}`, height: 20 }),
      h('p', {}, h('label', { for: 'badge-md' }, 'Markdown')),
      h('input', { id: 'badge-md', readonly: true, size: 60, value: `![uptime](${location.origin}${badgeUrl})` }),
    ),
  );
  updated.textContent = `Updated ${s.generatedAt.slice(11, 19)} UTC`;
}

async function load(): Promise<void> {
  if (!page) {
    replace(view, h('p', {}, 'No status page in the address: open /status/<page>.'));
    updated.textContent = '';
    return;
  }
  try {
    render(await getJson<StatusPage>(`/v1/status/${encodeURIComponent(page)}?days=90`));
  } catch (error) {
    const text =
      error instanceof ApiError && error.status === 404
        ? `There is no status page "${page}".`
        : `The status could not be read: ${error instanceof Error ? error.message : String(error)}`;
    replace(view, h('p', { class: 'error' }, text));
    updated.textContent = '';
  }
}

void load();
setInterval(() => void load(), REFRESH_MS);
