import type {
  IncidentDetail,
  IncidentView,
  MaintenanceWindowView,
  SiteDetail,
  SiteSummary,
  TransitionView,
} from './api.ts';
import { ago, h, time, type Child } from './dom.ts';

const MODE_TEXT: Record<SiteSummary['mode'], string> = {
  PRIMARY_ACTIVE: '● PRIMARY_ACTIVE',
  BACKUP_ACTIVE: '▲ BACKUP_ACTIVE',
  BOTH_DOWN: '✖ BOTH_DOWN',
};

/** The site's mode as a badge: a symbol and the mode's name, never colour alone. */
export function modeBadge(mode: SiteSummary['mode']): HTMLElement {
  return h('span', { class: `mode mode-${mode}`, 'data-mode': mode }, MODE_TEXT[mode]);
}

const VERDICT_SYMBOL: Record<string, string> = {
  up: '✓',
  down: '✖',
  degraded: '◐',
  undecided: '…',
  abstain: '–',
  unknown: '?',
};

/** A verdict or vote (`up`, `down`, `degraded`, `undecided`, `abstain`, `unknown`) with its symbol and word. */
export function verdictBadge(verdict: string, extra?: string): HTMLElement {
  const text = `${VERDICT_SYMBOL[verdict] ?? ''} ${verdict}${extra ? ` ${extra}` : ''}`.trim();
  return h('span', { class: `verdict v-${verdict}` }, text);
}

/** The overview: every site as a row of a table. */
export function sitesTable(sites: readonly SiteSummary[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'overview-heading' },
    h('h2', { id: 'overview-heading' }, 'All sites'),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Every site with its mode and active link'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Site', 'Mode', 'Active link', 'Since', 'Open incident', 'Maintenance'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...sites.map((s) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, h('a', { href: `#/sites/${encodeURIComponent(s.id)}` }, s.name)),
            h('td', {}, modeBadge(s.mode)),
            h('td', {}, s.activeLink),
            h('td', {}, time(s.modeSince)),
            h('td', {}, s.incident ? `${s.incident.kind}: ${s.incident.summary}` : 'none'),
            h('td', {}, s.maintenance ? `until ${s.maintenance.endsAt}` : 'none'),
          ),
        ),
      ),
    ),
  );
}

/** The head of a site's view: name, mode, active link, and what holds automation (override, maintenance). */
export function siteHead(site: SiteDetail): Child[] {
  const facts: [string, Child][] = [
    ['Mode', modeBadge(site.mode)],
    ['Active link', h('strong', { 'data-active-link': site.activeLink }, site.activeLink)],
    ['Mode since', site.modeSince ? h('span', {}, time(site.modeSince), ` (${ago(site.modeSince)})`) : '—'],
    ['Last decision', time(site.updatedAt)],
    [
      'Policy',
      `failback ${site.policy.failback}, hold-down ${site.policy.holdDownSeconds} s, quorum ${site.policy.quorum}, thresholds ${site.policy.failureThreshold} down / ${site.policy.recoveryThreshold} up, every ${site.policy.intervalSeconds} s`,
    ],
    [
      'Damping',
      `penalty ${site.damping.penalty.toFixed(0)} (suppress ${site.damping.suppressLimit}, reuse ${site.damping.reuseLimit})${site.damping.suppressed ? ', failback suppressed' : ''}`,
    ],
    ['Pending actions', String(site.pendingActions)],
  ];
  if (site.override)
    facts.push([
      'Override',
      `pinned to ${site.override.pin} (${site.override.link}) by ${site.override.by}: ${site.override.reason}`,
    ]);
  if (site.operatorFailover)
    facts.push(['Operator failover', `by ${site.operatorFailover.by}: ${site.operatorFailover.reason}`]);
  if (site.maintenance)
    facts.push([
      'Maintenance',
      `in force until ${site.maintenance.endsAt}${site.maintenance.reason ? `: ${site.maintenance.reason}` : ''}`,
    ]);
  if (site.incident) facts.push(['Open incident', `${site.incident.kind}: ${site.incident.summary}`]);
  return [
    h(
      'h2',
      { id: 'site-heading', tabindex: -1, 'data-focus': 'site-heading' },
      site.name,
      ' ',
      h('span', { class: 'muted' }, `(${site.id})`),
    ),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
  ];
}

type Vote = { vote: string; note: string };

/** What one vantage's latest results say about a link: its worst outcome and counters, or why it abstains. */
function vantageVote(site: SiteDetail, link: string, vantage: string): Vote {
  const v = site.vantages.find((x) => x.id === vantage);
  const region = vantage.startsWith('region:') ? vantage.slice(7) : vantage;
  const missing = site.quorum.missing.find((m) => m.region === region);
  if (v?.impaired) return { vote: 'abstain', note: `impaired: ${v.detail}` };
  if (v?.stale) return { vote: 'abstain', note: 'stale: no fresh round' };
  if (missing) return { vote: 'abstain', note: `${missing.reason}${missing.detail ? `: ${missing.detail}` : ''}` };
  const results = site.checks
    .filter((c) => c.link === link)
    .flatMap((c) => c.results.filter((r) => r.vantage === vantage));
  if (results.length === 0) return { vote: 'unknown', note: 'no result' };
  const down = results.filter((r) => r.outcome === 'down');
  if (down.length > 0) return { vote: 'down', note: `${Math.max(...down.map((r) => r.down))} down in a row` };
  const degraded = results.filter((r) => r.outcome === 'degraded');
  if (degraded.length > 0) return { vote: 'degraded', note: degraded.map((r) => r.detail).join('; ') };
  return { vote: 'up', note: `${Math.min(...results.map((r) => r.up))} up in a row` };
}

/** The vantages of a site: probe regions first, then the agent, each once. */
export function vantagesOf(site: SiteDetail): string[] {
  const ids = new Set<string>(site.vantages.map((v) => v.id));
  for (const m of site.quorum.missing) ids.add(`region:${m.region}`);
  for (const c of site.checks) for (const r of c.results) ids.add(r.vantage);
  return [...ids].sort(
    (a, b) => Number(!a.startsWith('region:')) - Number(!b.startsWith('region:')) || a.localeCompare(b),
  );
}

/** Each link's verdict, and what each vantage's latest results say about it. */
export function linksTable(site: SiteDetail): HTMLElement {
  const vantages = vantagesOf(site);
  return h(
    'section',
    { 'aria-labelledby': 'links-heading' },
    h('h3', { id: 'links-heading' }, 'Links and verdicts per region'),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, "Each link's verdict and the latest vote of each vantage"),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Link'),
          h('th', { scope: 'col' }, 'Verdict'),
          ...vantages.map((v) => h('th', { scope: 'col' }, v)),
        ),
      ),
      h(
        'tbody',
        {},
        ...site.links.map((l) =>
          h(
            'tr',
            { 'data-link': l.id },
            h('th', { scope: 'row' }, `${l.id} (${l.role})`, l.active ? h('strong', {}, ' — active') : ''),
            h(
              'td',
              {},
              verdictBadge(l.verdict, l.degraded ? '(degraded)' : undefined),
              ' ',
              h('span', { class: 'muted' }, l.since ? `since ${ago(l.since)}` : ''),
            ),
            ...vantages.map((v) => {
              const vote = vantageVote(site, l.id, v);
              return h('td', {}, verdictBadge(vote.vote), h('div', { class: 'muted' }, vote.note));
            }),
          ),
        ),
      ),
    ),
  );
}

/** Quorum and vantages: which regions count now, and why the others abstain. */
export function evidence(site: SiteDetail): HTMLElement {
  const q = site.quorum;
  return h(
    'section',
    { 'aria-labelledby': 'evidence-heading' },
    h('h3', { id: 'evidence-heading' }, 'Decision evidence'),
    h(
      'p',
      {},
      `Quorum: ${q.needed} of ${q.regions} regions needed; ${q.reporting} reporting now.`,
      q.lost ? h('strong', {}, ` Quorum lost since ${q.since ?? '?'}: the engine holds its decisions.`) : '',
    ),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Vantages and whether they count'),
      h(
        'thead',
        {},
        h('tr', {}, ...['Vantage', 'Counts?', 'Last round', 'Detail'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        ...site.vantages.map((v) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, v.id),
            h(
              'td',
              {},
              v.impaired
                ? verdictBadge('abstain', '(impaired)')
                : v.stale
                  ? verdictBadge('abstain', '(stale)')
                  : verdictBadge('up', 'counts'),
            ),
            h('td', {}, time(v.lastAt)),
            h('td', {}, v.detail),
          ),
        ),
        ...q.missing
          .filter((m) => !site.vantages.some((v) => v.id === `region:${m.region}`))
          .map((m) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, `region:${m.region}`),
              h('td', {}, verdictBadge('abstain', `(${m.reason})`)),
              h('td', {}, time(m.lastAt)),
              h('td', {}, m.detail),
            ),
          ),
      ),
    ),
  );
}

/** One check's latest result per vantage. */
export function resultsTable(check: SiteDetail['checks'][number]): HTMLElement {
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, `Latest results of ${check.id} per vantage`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Vantage', 'Outcome', 'Down / not up / up in a row', 'Detail', 'At'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...check.results.map((r) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, r.vantage),
          h('td', {}, verdictBadge(r.outcome)),
          h('td', {}, `${r.down} / ${r.notUp} / ${r.up}`),
          h('td', {}, r.errorClass ? `${r.errorClass}: ${r.detail}` : r.detail),
          h('td', {}, time(r.at)),
        ),
      ),
    ),
  );
}

/** A transition with its explanation: the summary, who voted what on each path, the full text. */
export function transitionItem(t: TransitionView): HTMLElement {
  const e = t.explanation;
  return h(
    'li',
    {},
    h(
      'p',
      {},
      time(t.at),
      ' ',
      h('strong', {}, t.kind),
      ` ${t.from} → ${t.to}`,
      t.fromLink !== t.toLink ? ` (${t.fromLink} → ${t.toLink})` : '',
      t.suppressed ? ' — alerts suppressed' : '',
    ),
    h('p', {}, e.summary),
    e.paths.length > 0
      ? h(
          'table',
          {},
          h('caption', { class: 'visually-hidden' }, `Votes behind transition ${t.seq}`),
          h('thead', {}, h('tr', {}, ...['Path', 'Verdict', 'Votes'].map((x) => h('th', { scope: 'col' }, x)))),
          h(
            'tbody',
            {},
            ...e.paths.map((p) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, `${p.path} (${p.role})`),
                h('td', {}, verdictBadge(p.verdict)),
                h(
                  'td',
                  {},
                  h(
                    'ul',
                    {},
                    ...p.votes.map((v) =>
                      h(
                        'li',
                        {},
                        `${v.vantage}: `,
                        verdictBadge(v.vote, v.reason ? `(${v.reason})` : undefined),
                        ' ',
                        v.checks.map((c) => `${c.check} ${c.lastOutcome} (down ${c.down}, up ${c.up})`).join('; '),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        )
      : '',
    h('details', { class: 'plain' }, h('summary', {}, 'Full explanation'), h('pre', { class: 'explanation' }, e.text)),
  );
}

/** An incident, closed or open; its timeline is filled in when it is opened. */
export function incidentItem(i: IncidentView, detail: IncidentDetail | undefined, open: boolean): HTMLElement {
  return h(
    'details',
    { 'data-incident': i.id, open },
    h(
      'summary',
      { 'data-focus': `incident-${i.id}` },
      h('strong', {}, i.kind),
      ` — ${i.status}${i.acknowledged ? ', acknowledged' : ''} — opened `,
      time(i.openedAt),
      i.resolvedAt ? h('span', {}, ', resolved ', time(i.resolvedAt)) : '',
      `: ${i.summary}`,
    ),
    detail
      ? h(
          'ol',
          { class: 'timeline', 'aria-label': `Timeline of incident ${i.id}` },
          ...detail.timeline.map(transitionItem),
        )
      : open
        ? h('p', { class: 'muted' }, 'Loading the timeline…')
        : '',
  );
}

/** The site's maintenance windows that have not ended. */
export function maintenanceTable(windows: readonly MaintenanceWindowView[]): HTMLElement {
  if (windows.length === 0) return h('p', { class: 'muted' }, 'No maintenance window scheduled or in force.');
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, 'Maintenance windows'),
    h(
      'thead',
      {},
      h('tr', {}, ...['Status', 'Start', 'End', 'Reason', 'Ticket', 'From'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    h(
      'tbody',
      {},
      ...windows.map((w) =>
        h(
          'tr',
          {},
          h('td', {}, w.status),
          h('td', {}, time(w.startAt)),
          h('td', {}, time(w.endAt)),
          h('td', {}, w.reason),
          h('td', {}, w.ticket ?? '—'),
          h('td', {}, w.source === 'config' ? 'sites.yaml' : `API (${w.createdBy ?? '?'})`),
        ),
      ),
    ),
  );
}
