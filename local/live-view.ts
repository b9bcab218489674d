import { stripVTControlCharacters } from 'node:util';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { Observation, Outcome } from '../shared/contracts/observation.ts';
import type { SiteState } from '../shared/domain/model.ts';
import type { RoundResult } from '../shared/probes/round.ts';
import { regionOfVantage } from '../shared/contracts/ids.ts';

/** Where the view writes: process.stdout, or anything like it. */
export interface ViewStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface LiveViewOptions {
  readonly config: FailoverConfig;
  readonly out: ViewStream;
  /** Lines printed with `print(line, 'err')`. @default out */
  readonly err?: ViewStream;
  /** Re-render the status lines in place with ANSI sequences. @default out.isTTY */
  readonly inPlace?: boolean;
  /** ANSI colours. @default inPlace and NO_COLOR unset */
  readonly color?: boolean;
}

/** What the view shows of a site's state. */
export type SiteStatus = Pick<SiteState, 'mode' | 'activeLink' | 'version'> & {
  readonly incident: string | null;
  readonly override: string | null;
  readonly maintenance: boolean;
};

/** A site's status as the view shows it, from its stored state (null: not decided yet, on its primary). */
export function siteStatus(state: SiteState | null, primary: string): SiteStatus {
  if (!state)
    return {
      mode: 'PRIMARY_ACTIVE',
      activeLink: primary,
      version: 0,
      incident: null,
      override: null,
      maintenance: false,
    };
  return {
    mode: state.mode,
    activeLink: state.activeLink,
    version: state.version,
    incident: state.incident?.id ?? null,
    override: state.override ? `pinned to ${state.override.pin}` : null,
    maintenance: state.maintenance !== null,
  };
}

interface RegionView {
  readonly time: string;
  readonly impaired: string | null;
  readonly observations: readonly Observation[];
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
const RANK: Record<Outcome, number> = { up: 0, degraded: 1, down: 2 };

/**
 * The terminal view of `failover local`: one status line per site (its state, active link, and each probe region's
 * last round per link), kept at the bottom and re-rendered in place after every round on a terminal, with events
 * (transitions, alerts, agent acks) printed above it. Without a terminal, each round is one appended line per site
 * and region, followed by the site's state.
 */
export class LiveView {
  readonly #config: FailoverConfig;
  readonly #out: ViewStream;
  readonly #err: ViewStream;
  readonly #inPlace: boolean;
  readonly #color: boolean;
  readonly #sites = new Map<string, SiteStatus>();
  readonly #regions = new Map<string, Map<string, RegionView>>();
  readonly #order: Map<string, number>;
  #drawn = 0;
  #closed = false;

  constructor(options: LiveViewOptions) {
    this.#config = options.config;
    this.#out = options.out;
    this.#err = options.err ?? options.out;
    this.#inPlace = options.inPlace ?? options.out.isTTY === true;
    this.#color = options.color ?? (this.#inPlace && !process.env.NO_COLOR);
    this.#order = new Map(options.config.sites.flatMap((s) => s.checks.map((c, i) => [`${s.id}|${c.id}`, i] as const)));
    for (const s of options.config.sites) this.#sites.set(s.id, siteStatus(null, s.primary.id));
  }

  /** Paints `text` when colours are on. */
  paint(color: keyof typeof CODES, text: string): string {
    return this.#color ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
  }

  /** Prints a line above the status lines. */
  print(line: string, stream: 'out' | 'err' = 'out'): void {
    this.#clear();
    (stream === 'err' ? this.#err : this.#out).write(`${line}\n`);
    this.#draw();
  }

  /** A site's state changed (an older version than the one shown is ignored). */
  site(site: string, status: SiteStatus): void {
    const shown = this.#sites.get(site);
    if (shown && status.version < shown.version) return;
    this.#sites.set(site, status);
    this.#clear();
    this.#draw();
  }

  /** A round finished: its region's column changes; without a terminal, its lines are printed. */
  round(round: RoundResult): void {
    const region = regionOfVantage(round.vantage) ?? round.vantage;
    const time = round.roundId.slice(11, 19);
    const impaired = round.control && !round.control.ok ? round.control.detail : null;
    if (round.skipped.length > 0) {
      const names = round.skipped.slice(0, 5).map((s) => (s.site ? `${s.site}/${s.check}` : s.check));
      const more = round.skipped.length > 5 ? ` and ${round.skipped.length - 5} more` : '';
      const why = round.skipped[0]!.reason;
      this.print(
        this.paint(
          'yellow',
          `${time} ${region.padEnd(14)} ${round.skipped.length} check(s) skipped (${why}): ${names.join(', ')}${more}; ` +
            'the region abstains on their paths',
        ),
      );
    }
    const bySite = new Map<string, Observation[]>();
    for (const o of round.observations) bySite.set(o.site, [...(bySite.get(o.site) ?? []), o]);
    for (const [site, observations] of bySite) {
      const regions = this.#regions.get(site) ?? new Map<string, RegionView>();
      regions.set(region, { time, impaired, observations: this.#sorted(site, observations) });
      this.#regions.set(site, regions);
    }
    if (this.#inPlace) {
      this.#clear();
      this.#draw();
      return;
    }
    for (const [site, observations] of bySite) {
      const cells = this.#sorted(site, observations).map((o) => {
        const mos = typeof o.fields.mos === 'number' ? ` MOS ${o.fields.mos.toFixed(2)}` : '';
        return `${o.check} ${this.#outcome(o.outcome)} ${formatMs(o.latencyMs)}${mos}`;
      });
      const control = impaired ? `  ${this.paint('red', impaired)}` : '';
      this.#out.write(`${time} ${region.padEnd(14)} ${site}  ${cells.join(' · ')}${control}  | ${this.#state(site)}\n`);
    }
  }

  /**
   * The status lines as they are now, without colours (for tests and logs): one per site, or two for a site whose
   * line is wider than `width` (its state, then its regions).
   */
  lines(width = Infinity): string[] {
    return this.#lines(width).map((l) => stripVTControlCharacters(l));
  }

  /** Stops re-rendering; the last status lines stay on the screen. */
  close(): void {
    this.#closed = true;
    this.#drawn = 0;
  }

  #sorted(site: string, observations: readonly Observation[]): Observation[] {
    const rank = (o: Observation) => this.#order.get(`${site}|${o.check}`) ?? 0;
    return [...observations].sort((a, b) => rank(a) - rank(b));
  }

  #outcome(outcome: Outcome): string {
    return this.paint(outcome === 'up' ? 'green' : outcome === 'degraded' ? 'yellow' : 'red', outcome.toUpperCase());
  }

  #state(site: string): string {
    const s = this.#sites.get(site)!;
    const color = s.mode === 'PRIMARY_ACTIVE' ? 'green' : s.mode === 'BACKUP_ACTIVE' ? 'yellow' : 'red';
    const extra = [
      s.incident ? `incident ${s.incident}` : '',
      s.override ?? '',
      s.maintenance ? 'maintenance' : '',
    ].filter(Boolean);
    return `${this.paint(color, s.mode)} on ${s.activeLink}${extra.length ? ` (${extra.join(', ')})` : ''}`;
  }

  #lines(width: number): string[] {
    return this.#config.sites.flatMap((site) => {
      const regions = this.#regions.get(site.id);
      const times = [...(regions?.values() ?? [])].map((r) => r.time).sort();
      const cells = this.#config.regions.probe.map((region) => {
        const r = regions?.get(region);
        if (!r) return `${region} ${this.paint('dim', 'waiting')}`;
        if (r.impaired) return `${region} ${this.paint('red', 'IMPAIRED')} ${this.paint('dim', '(abstains)')}`;
        const links = site.links.map((link) => {
          const mine = r.observations.filter((o) => o.link === link.id && o.dependency === null);
          if (mine.length === 0) return '';
          const worst = mine.reduce((a, b) => (RANK[b.outcome] > RANK[a.outcome] ? b : a));
          return `${link.id} ${this.#outcome(worst.outcome)}`;
        });
        // The voice path's MOS, when it is what makes a link less than up.
        const poor = r.observations.filter((o) => typeof o.fields.mos === 'number' && o.outcome !== 'up');
        const mos = poor.length > 0 ? ` MOS ${Math.min(...poor.map((o) => o.fields.mos as number)).toFixed(1)}` : '';
        return `${region} ${links.filter(Boolean).join(' ')}${mos}`;
      });
      const head = `${this.paint('dim', times.at(-1) ?? '--:--:--')} ${this.paint('bold', site.id)}  ${this.#state(site.id)}`;
      const line = `${head}  │ ${cells.join(' │ ')}`;
      return stripVTControlCharacters(line).length <= width ? [line] : [head, `    ${cells.join(' │ ')}`];
    });
  }

  #clear(): void {
    if (!this.#inPlace || this.#drawn === 0) return;
    // To the start of the first status line, then erase to the end of the screen.
    this.#out.write(`\u001b[${this.#drawn}F\u001b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (!this.#inPlace || this.#closed) return;
    const width = Math.max(20, (this.#out.columns || 120) - 1);
    const lines = this.#lines(width).map((l) => truncate(l, width));
    this.#out.write(lines.map((l) => `${l}\n`).join(''));
    this.#drawn = lines.length;
  }
}

function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** `text` cut to `width` visible characters (ANSI sequences kept, not counted), so a line never wraps. */
export function truncate(text: string, width: number): string {
  if (stripVTControlCharacters(text).length <= width) return text;
  let out = '';
  let visible = 0;
  for (let i = 0; i < text.length && visible < width - 1;) {
    // eslint-disable-next-line no-control-regex -- ANSI sequences start with ESC
    const escape = /^\u001b\[[0-9;]*[A-Za-z]/.exec(text.slice(i));
    if (escape) {
      out += escape[0];
      i += escape[0].length;
      continue;
    }
    out += text[i];
    visible++;
    i++;
  }
  return `${out}${text.includes('\u001b') ? '\u001b[0m' : ''}…`;
}
