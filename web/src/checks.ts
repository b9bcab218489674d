import uPlot from 'uplot';
import { ApiError, getJson, type CheckHistory, type HistoryBucket, type SiteDetail } from './api.ts';
import { h, replace } from './dom.ts';
import { resultsTable } from './site-view.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** History is read again at most this often (it moves in 5-minute buckets). */
const RELOAD_MS = 15_000;
const EMPTY_RELOAD_MS = 3000;

type Counts = Pick<HistoryBucket, 'up' | 'degraded' | 'down' | 'skipped'>;

/** (up + degraded) / (up + degraded + down) of some buckets, or null with no observation. */
export function uptimeOf(buckets: readonly Counts[]): number | null {
  let served = 0;
  let all = 0;
  for (const b of buckets) {
    served += b.up + b.degraded;
    all += b.up + b.degraded + b.down;
  }
  return all === 0 ? null : served / all;
}

function percent(ratio: number | null): string {
  if (ratio === null) return 'no data';
  const p = ratio * 100;
  return `${p >= 99.995 ? '100' : p.toFixed(p >= 99 ? 2 : 1)} %`;
}

/** The worst outcome of a span: down when any observation was down, degraded, up, or none. */
function worst(c: Counts): 'down' | 'degraded' | 'up' | 'none' {
  return c.down > 0 ? 'down' : c.degraded > 0 ? 'degraded' : c.up > 0 ? 'up' : 'none';
}

function sum(buckets: readonly Counts[]): Counts {
  const total = { up: 0, degraded: 0, down: 0, skipped: 0 };
  for (const b of buckets) {
    total.up += b.up;
    total.degraded += b.degraded;
    total.down += b.down;
    total.skipped += b.skipped;
  }
  return total;
}

/** An outcome strip: one segment per span, its worst outcome as colour, pattern and text (title and label). */
function strip(label: string, spans: readonly { start: number; counts: Counts; ms: number }[]): HTMLElement {
  const outcomes = spans.map((s) => worst(s.counts));
  const bad = outcomes.filter((o) => o === 'down').length;
  const slow = outcomes.filter((o) => o === 'degraded').length;
  const described = `${label}: ${spans.length} segments, ${bad} with a down result, ${slow} degraded`;
  return h(
    'div',
    { class: 'strip', role: 'img', 'aria-label': described, 'data-segments': spans.length },
    ...spans.map((s, i) =>
      h('span', {
        class: `s-${outcomes[i]}`,
        title: `${new Date(s.start).toISOString().slice(0, 16)}Z: ${outcomes[i]} (${s.counts.up} up, ${s.counts.degraded} degraded, ${s.counts.down} down)`,
      }),
    ),
  );
}

interface Panel {
  readonly root: HTMLElement;
  readonly results: HTMLElement;
  readonly chartBox: HTMLElement;
  readonly history: HTMLElement;
  chart?: uPlot;
}

/**
 * Each check of a site: its latest results per vantage, a response-time chart of the last day (uPlot, average and
 * p95 per 5-minute bucket, from the history API) and outcome strips with uptime for the last hour, day and 30 days.
 */
export class CheckPanels {
  readonly #box: HTMLElement;
  readonly #site: string;
  readonly #key: () => string | undefined;
  readonly #panels = new Map<string, Panel>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;
  #resize: ResizeObserver;

  constructor(box: HTMLElement, site: string, key: () => string | undefined) {
    this.#box = box;
    this.#site = site;
    this.#key = key;
    this.#resize = new ResizeObserver(() => {
      for (const p of this.#panels.values()) p.chart?.setSize(this.#size(p));
    });
    this.#resize.observe(box);
  }

  #size(p: Panel): { width: number; height: number } {
    return { width: Math.max(280, p.chartBox.clientWidth || this.#box.clientWidth - 24), height: 180 };
  }

  /** Shows the checks of `site` (new ones get a panel); the history is read again when it is old. */
  update(site: SiteDetail): void {
    for (const check of site.checks) {
      let panel = this.#panels.get(check.id);
      if (!panel) {
        const results = h('div', {});
        const chartBox = h('div', {
          class: 'chart',
          role: 'img',
          'aria-label': `Response time of ${check.id} over the last 24 hours`,
          'data-check': check.id,
        });
        const history = h('div', {}, h('p', { class: 'muted' }, 'Loading history…'));
        const titleId = `check-${check.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        const root = h(
          'article',
          { class: 'check', 'aria-labelledby': titleId },
          h(
            'h4',
            { id: titleId },
            check.name ?? check.id,
            ' ',
            h(
              'span',
              { class: 'muted' },
              `${check.kind}${check.link ? ` via ${check.link}` : ''}${check.dependency ? `, dependency ${check.dependency}` : ''}`,
            ),
          ),
          results,
          h('h5', {}, 'Response time, last 24 hours'),
          chartBox,
          history,
        );
        panel = { root, results, chartBox, history };
        this.#panels.set(check.id, panel);
        this.#box.append(root);
      }
      replace(panel.results, resultsTable(check));
    }
    // Sooner while a chart is still empty: the first bucket fills with the first rounds.
    const empty = [...this.#panels.values()].some((p) => p.chartBox.dataset.points === '0');
    if (Date.now() - this.#loadedAt > (empty ? EMPTY_RELOAD_MS : RELOAD_MS)) void this.reload();
  }

  /** Reads every check's history again (one read at a time). */
  async reload(): Promise<void> {
    if (this.#loading) return this.#loading;
    this.#loadedAt = Date.now();
    this.#loading = Promise.all([...this.#panels.keys()].map((id) => this.#load(id)))
      .then(() => undefined)
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(check: string): Promise<void> {
    const panel = this.#panels.get(check);
    if (!panel) return;
    const base = `/v1/sites/${encodeURIComponent(this.#site)}/checks/${encodeURIComponent(check)}/history`;
    const now = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    try {
      const [day, month] = await Promise.all([
        getJson<CheckHistory>(`${base}?step=5m&from=${iso(now - DAY)}&to=${iso(now)}`, this.#key()),
        getJson<CheckHistory>(`${base}?step=1d&from=${iso(now - 29 * DAY)}&to=${iso(now)}`, this.#key()),
      ]);
      this.#chart(panel, day);
      this.#strips(panel, day, month);
    } catch (error) {
      const text = error instanceof ApiError ? error.message : String(error);
      replace(panel.history, h('p', { class: 'error' }, `History unavailable: ${text}`));
    }
  }

  #chart(panel: Panel, day: CheckHistory): void {
    const rows = day.buckets.filter((b) => b.latency !== null);
    const xs = rows.map((b) => Date.parse(b.start) / 1000);
    const avg = rows.map((b) => b.latency!.avgMs);
    const p95 = rows.map((b) => b.latency!.p95Ms);
    const data: uPlot.AlignedData = [xs, avg, p95];
    panel.chartBox.dataset.points = String(xs.length);
    if (panel.chart) {
      panel.chart.setData(data);
      return;
    }
    panel.chart = new uPlot(
      {
        ...this.#size(panel),
        scales: {
          // The last 24 hours, or less while there is less history (a fresh demo: the last hour).
          x: {
            time: true,
            range: (u) => {
              const now = Date.now() / 1000;
              const first = (u.data[0] as number[])[0] ?? now;
              return [Math.max(now - DAY / 1000, Math.min(first, now) - HOUR / 1000), now];
            },
          },
          y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
        },
        axes: [{}, { label: 'ms', size: 60 }],
        series: [
          {},
          { label: 'average (ms)', stroke: '#0969da', width: 2, points: { show: true, size: 5 } },
          { label: 'p95 (ms)', stroke: '#9a6700', width: 1, dash: [6, 4], points: { show: true, size: 4 } },
        ],
        legend: { live: true },
      },
      data,
      panel.chartBox,
    );
  }

  #strips(panel: Panel, day: CheckHistory, month: CheckHistory): void {
    const fiveMin = 300_000;
    const last = Date.parse(day.to);
    const hourBuckets = day.buckets.filter((b) => Date.parse(b.start) >= last - HOUR);
    const byHour = new Map<number, HistoryBucket[]>();
    for (const b of day.buckets) {
      const hStart = Math.floor(Date.parse(b.start) / HOUR) * HOUR;
      byHour.set(hStart, [...(byHour.get(hStart) ?? []), b]);
    }
    const hours = [...byHour.entries()].sort((a, b) => a[0] - b[0]).slice(-24);
    const spans = {
      hour: hourBuckets.map((b) => ({ start: Date.parse(b.start), counts: b, ms: fiveMin })),
      day: hours.map(([start, bs]) => ({ start, counts: sum(bs), ms: HOUR })),
      month: month.buckets.map((b) => ({ start: Date.parse(b.start), counts: b, ms: DAY })),
    };
    const uptime = {
      hour: uptimeOf(hourBuckets),
      day: uptimeOf(day.buckets),
      month: uptimeOf(month.buckets),
    };
    replace(
      panel.history,
      h(
        'dl',
        { class: 'uptime', 'aria-label': 'Uptime' },
        ...(
          [
            ['Last hour', uptime.hour],
            ['Last 24 hours', uptime.day],
            ['Last 30 days', uptime.month],
          ] as const
        ).flatMap(([label, value]) => [h('dt', {}, `${label}:`), h('dd', { 'data-uptime': label }, percent(value))]),
      ),
      h('h5', {}, 'Outcomes, last hour (5 minutes each)'),
      strip('Outcomes of the last hour', spans.hour),
      h('h5', {}, 'Outcomes, last 24 hours (an hour each)'),
      strip('Outcomes of the last 24 hours', spans.day),
      h('h5', {}, 'Outcomes, last 30 days (a day each)'),
      strip('Outcomes of the last 30 days', spans.month),
    );
  }

  destroy(): void {
    this.#resize.disconnect();
    for (const p of this.#panels.values()) p.chart?.destroy();
    this.#panels.clear();
  }
}
