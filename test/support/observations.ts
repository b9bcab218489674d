import type { ObservationBatch, Observation, Outcome, ProbeKind } from '../../shared/contracts/observation.ts';
import { regionVantage } from '../../shared/contracts/ids.ts';

/** One check's result in a test batch. */
export interface TestResult {
  readonly check: string;
  readonly link: string | null;
  /** `skipped`: the round could not run the check (listed in the batch's `skipped`). */
  readonly outcome: Outcome | 'skipped';
  readonly dependency?: string;
  readonly kind?: ProbeKind;
}

/** A batch as a vantage would send it, with plausible details for each outcome. */
export function testBatch(options: {
  readonly site: string;
  readonly vantage: string;
  readonly at: number;
  readonly results: readonly TestResult[];
  readonly control?: ObservationBatch['control'];
}): ObservationBatch {
  const roundId = new Date(options.at).toISOString();
  const ran = options.results.filter((r): r is TestResult & { outcome: Outcome } => r.outcome !== 'skipped');
  const skipped = options.results
    .filter((r) => r.outcome === 'skipped')
    .map((r) => ({ check: r.check, link: r.link, dependency: r.dependency ?? null, reason: 'round budget exhausted' }));
  const observations = ran.map((r): Observation => ({
    v: 1,
    site: options.site,
    check: r.check,
    link: r.link,
    dependency: r.dependency ?? null,
    kind: r.kind ?? 'tcp',
    vantage: options.vantage,
    roundId,
    at: roundId,
    outcome: r.outcome,
    latencyMs: r.outcome === 'down' ? null : 12.5,
    errorClass: r.outcome === 'down' ? 'connect' : null,
    detail: r.outcome === 'down' ? 'connection refused' : r.outcome === 'degraded' ? 'over budget' : 'connected',
    fields: {},
    attempts: [{ at: roundId, outcome: r.outcome, latencyMs: 12.5, errorClass: null, detail: '' }],
  }));
  return {
    v: 1,
    site: options.site,
    vantage: options.vantage,
    roundId,
    startedAt: roundId,
    control: options.control ?? null,
    observations,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/** One round of the two-link test site (test/support/two-link-site.ts) from every region: `web-fiber` and `web-lte`. */
export function twoLinkRound(options: {
  readonly site: string;
  readonly regions: readonly string[];
  readonly at: number;
  readonly fiber: Outcome;
  /** @default 'up' */
  readonly lte?: Outcome;
}): ObservationBatch[] {
  return options.regions.map((region) =>
    testBatch({
      site: options.site,
      vantage: regionVantage(region),
      at: options.at,
      results: [
        { check: 'web-fiber', link: 'fiber', outcome: options.fiber },
        { check: 'web-lte', link: 'lte', outcome: options.lte ?? 'up' },
      ],
    }),
  );
}
