import type { PlannedCheck } from '../config/model.ts';
import type { MaintenanceWindow } from '../domain/model.ts';
import type { CommandEntry, OutcomeEntry, RegionEntry, Scenario, Span, TimelineEntry } from './scenario.ts';

/** Where an observation is made from: a probe region, or the site's agent on one of its links. */
export type Vantage = { readonly region: string } | { readonly agentLink: string };

const inSpan = (spans: readonly Span[], t: number) => spans.some((s) => s.fromMs <= t && t < s.toMs);

/**
 * The scenario's timeline as questions about one instant (in ms from the start): everything is up unless an entry
 * says otherwise, and a later entry wins over an earlier one.
 */
export class Timeline {
  readonly #entries: readonly TimelineEntry[];

  constructor(readonly scenario: Scenario) {
    this.#entries = scenario.timeline;
  }

  /** Whether a region reports at all (`silent`) and whether its control checks fail (`impaired`) at `t`. */
  regionStatus(region: string, t: number): { silent: boolean; impaired: boolean } {
    const flag = (kind: RegionEntry['kind']) => {
      const e = this.#last(
        (x) => x.kind === kind && (x.regions === null || x.regions.includes(region)) && inSpan(x.spans, t),
      );
      return e?.kind === kind ? e.value : false;
    };
    return { silent: flag('silent'), impaired: flag('impaired') };
  }

  /** The outcome entry in force for `check` seen from `vantage` at `t`, or undefined when it is up. */
  condition(check: PlannedCheck, vantage: Vantage, t: number): OutcomeEntry | undefined {
    const e = this.#last(
      (x) => x.kind === 'outcome' && inSpan(x.spans, t) && targets(x, check) && sees(x, check, vantage),
    );
    return e?.kind === 'outcome' && e.outcome !== 'up' ? e : undefined;
  }

  /**
   * The outcome entry in force for a control check in `region` at `t`: only an entry that names it (`check:`) sets
   * it, so a region partitioned from the site (an entry without a target) keeps its control checks.
   */
  controlCondition(check: PlannedCheck, region: string, t: number): OutcomeEntry | undefined {
    const e = this.#last(
      (x) =>
        x.kind === 'outcome' &&
        inSpan(x.spans, t) &&
        x.target.by === 'check' &&
        x.target.id === check.id &&
        (x.regions === null || x.regions.includes(region)),
    );
    return e?.kind === 'outcome' && e.outcome !== 'up' ? e : undefined;
  }

  /** The maintenance windows of the timeline; a repeated window gets `-2`, `-3`, ... appended to its id. */
  maintenanceWindows(): MaintenanceWindow[] {
    const start = this.scenario.startMs;
    return this.#entries.flatMap((e) =>
      e.kind !== 'maintenance'
        ? []
        : e.spans.map((s, k) => ({
            id: k === 0 ? e.id : `${e.id}-${k + 1}`,
            startMs: start + s.fromMs,
            endMs: start + s.toMs,
            reason: e.reason,
            ticket: e.ticket,
          })),
    );
  }

  /** Operator commands with their offsets, in timeline order. */
  commands(): { atMs: number; command: CommandEntry['command']; index: number }[] {
    return this.#entries.flatMap((e) =>
      e.kind === 'command' ? e.spans.map((s) => ({ atMs: s.fromMs, command: e.command, index: e.index })) : [],
    );
  }

  /**
   * The ground truth: the stretches during which at least a quorum of healthy (not impaired), reporting (not silent)
   * regions would see a check of the primary link failing (down; or not up when the policy fails over on degraded).
   */
  faultEpisodes(): Span[] {
    const { site, config, durationMs } = this.scenario;
    const failing = site.policy.failoverOn.includes('degraded')
      ? (e: OutcomeEntry) => e.outcome !== 'up'
      : (e: OutcomeEntry) => e.outcome === 'down';
    const primaryChecks = site.checks.filter((c) => c.link === site.primary.id && c.dependency === null);
    const faulty = (t: number) =>
      config.regions.probe.filter((region) => {
        const status = this.regionStatus(region, t);
        if (status.silent || status.impaired || !this.#controlOk(region, t)) return false;
        return primaryChecks.some((c) => {
          const e = this.condition(c, { region }, t);
          return e !== undefined && failing(e);
        });
      }).length >= site.policy.quorum;
    const cuts = new Set([0, durationMs]);
    for (const e of this.#entries) for (const s of e.spans) cuts.add(s.fromMs).add(Math.min(s.toMs, durationMs));
    const points = [...cuts].filter((t) => t <= durationMs).sort((a, b) => a - b);
    const episodes: Span[] = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [from, to] = [points[i]!, points[i + 1]!];
      if (!faulty(from)) continue;
      const last = episodes.at(-1);
      if (last && last.toMs === from) episodes[episodes.length - 1] = { fromMs: last.fromMs, toMs: to };
      else episodes.push({ fromMs: from, toMs: to });
    }
    return episodes;
  }

  /** A majority of the control checks answer in `region` at `t` (always, without control checks). */
  #controlOk(region: string, t: number): boolean {
    const checks = this.scenario.config.controlChecks;
    const down = checks.filter((c) => this.controlCondition(c, region, t)?.outcome === 'down').length;
    return checks.length === 0 || (checks.length - down) * 2 > checks.length;
  }

  #last(match: (e: TimelineEntry) => boolean): TimelineEntry | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) if (match(this.#entries[i]!)) return this.#entries[i];
    return undefined;
  }
}

function targets(e: OutcomeEntry, check: PlannedCheck): boolean {
  switch (e.target.by) {
    case 'site':
      return check.dependency === null;
    case 'link':
      return check.dependency === null && check.link === e.target.id;
    case 'check':
      return check.id === e.target.id;
    case 'dependency':
      return check.dependency === e.target.id;
  }
}

function sees(e: OutcomeEntry, check: PlannedCheck, vantage: Vantage): boolean {
  if ('agentLink' in vantage) return check.dependency !== null && e.vantages.site;
  return (
    (check.dependency === null || e.vantages.regions) && (e.regions === null || e.regions.includes(vantage.region))
  );
}
