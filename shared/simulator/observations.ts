import type { PlannedCheck } from '../config/model.ts';
import { confirmFloorMs, TAIL_MS } from '../probes/pace.ts';
import type { ErrorClass, Observation, ObservationBatch, ProbeFields } from '../contracts/observation.ts';
import { voipBurstMs } from '../probes/voip.ts';
import type { OutcomeEntry, Scenario } from './scenario.ts';
import type { Timeline } from './timeline.ts';
import { regionVantage } from '../contracts/ids.ts';

/** One region's round: its index among the probe regions, when it started (epoch ms) and the checks it ran. */
export interface RegionRound {
  readonly region: string;
  readonly regionIndex: number;
  readonly atMs: number;
  readonly roundId: string;
  readonly checks: readonly PlannedCheck[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The batch a region sends for one round, as the timeline has it at that instant; null when the region is silent.
 * An impaired region fails its control checks, and every other check too (its own network is the broken one).
 */
export function regionBatch(scenario: Scenario, timeline: Timeline, round: RegionRound): ObservationBatch | null {
  const t = round.atMs - scenario.startMs;
  const status = timeline.regionStatus(round.region, t);
  if (status.silent) return null;
  const vantage = regionVantage(round.region);
  const controls = scenario.config.controlChecks.length;
  // A control check named in the timeline fails there; a region without a majority of them answering is impaired,
  // as a real round summarizes its control checks (round.ts).
  const failing = scenario.config.controlChecks.filter(
    (c) => timeline.controlCondition(c, round.region, t)?.outcome === 'down',
  );
  const passed = controls - failing.length;
  const control =
    controls === 0
      ? null
      : status.impaired
        ? {
            ok: false,
            passed: 0,
            total: controls,
            detail: `0/${controls} control checks passed: the region itself is impaired`,
          }
        : passed * 2 > controls
          ? { ok: true, passed, total: controls, detail: `${passed}/${controls} control checks passed` }
          : {
              ok: false,
              passed,
              total: controls,
              detail: `vantage impaired: ${failing.map((c) => `${c.id} (down)`).join('; ')}`,
            };
  const observations = round.checks
    .filter((c) => c.site !== null)
    .map((check) => {
      const at = (ms: number) =>
        status.impaired ? IMPAIRED : timeline.condition(check, { region: round.region }, ms - scenario.startMs);
      return observe(scenario, check, at, {
        vantage,
        link: check.link,
        roundId: round.roundId,
        atMs: round.atMs,
        baseMs: 18 + 9 * round.regionIndex + spread(check.id),
      });
    });
  return {
    v: 1,
    site: scenario.site.id,
    vantage,
    roundId: round.roundId,
    startedAt: round.roundId,
    control,
    observations,
  };
}

/**
 * The batch of the site's agent on `link` for the round at `atMs`: its inside-out view of the site's dependencies.
 * Null when the site has no agent or no dependencies.
 */
export function agentBatch(
  scenario: Scenario,
  timeline: Timeline,
  link: string,
  atMs: number,
): ObservationBatch | null {
  const { site } = scenario;
  const checks = site.checks.filter((c) => c.dependency !== null);
  if (!site.agent || checks.length === 0) return null;
  const vantage = `site:${site.id}/${link}`;
  const roundId = iso(atMs);
  const observations = checks.map((check) =>
    observe(scenario, check, (ms) => timeline.condition(check, { agentLink: link }, ms - scenario.startMs), {
      vantage,
      link,
      roundId,
      atMs,
      baseMs: 6 + spread(check.id),
    }),
  );
  return { v: 1, site: site.id, vantage, roundId, startedAt: roundId, control: null, observations };
}

type Entry = Pick<OutcomeEntry, 'outcome' | 'errorClass' | 'latencyMs' | 'mos' | 'lossPct' | 'detail'>;

const IMPAIRED: Entry = {
  outcome: 'down',
  errorClass: 'timeout',
  latencyMs: undefined,
  mos: undefined,
  lossPct: undefined,
  detail: undefined,
};

const DOWN_DETAIL: Record<ErrorClass, (check: PlannedCheck) => string> = {
  dns: () => 'DNS lookup failed: ENOTFOUND',
  connect: () => 'connect ECONNREFUSED',
  timeout: (c) => `no answer within ${c.timeoutMs} ms`,
  tls: () => 'TLS handshake failed: certificate has expired',
  status: () => 'HTTP 503 Service Unavailable',
  assertion: () => 'body assertion failed',
  protocol: () => 'unexpected answer',
};

const UP_DETAIL: Record<PlannedCheck['probe']['kind'], string> = {
  http: 'HTTP 200 OK',
  tcp: 'connected',
  tls: 'TLS handshake ok',
  dns: 'NOERROR',
  sip: 'SIP 200 OK',
  voip: 'MOS 4.3, 0% loss',
};

/**
 * One observation with plausible numbers for its outcome: baseline latency when up, over budget when degraded. As a
 * real round does, a failed first try is confirmed by a second one confirmRetryMs after the first began (at once
 * after a timeout), and the second one's outcome is the observation's (a fault that ends in between is not counted).
 */
function observe(
  scenario: Scenario,
  check: PlannedCheck,
  conditionAt: (epochMs: number) => Entry | undefined,
  at: { vantage: string; link: string | null; roundId: string; atMs: number; baseMs: number },
): Observation {
  const first = attempt(check, conditionAt(at.atMs), at.baseMs, at.atMs);
  const attempts = [first];
  if (first.outcome === 'down') {
    // As runRound does: confirmRetryMs after the first try began (at once after a timeout that long), with what is
    // left of the round's budget, up to the check's timeout; no confirmation when not even its floor is left.
    const retryAt = at.atMs + Math.max(check.confirmRetryMs, first.durationMs);
    const leftMs = confirmBudgetMs(scenario, check, at.atMs, retryAt);
    if (leftMs >= confirmFloorMs(check.timeoutMs))
      attempts.push(attempt({ ...check, timeoutMs: leftMs }, conditionAt(retryAt), at.baseMs, retryAt));
  }
  const final = attempts.at(-1)!;
  return {
    v: 1,
    site: scenario.site.id,
    check: check.id,
    link: at.link,
    dependency: check.dependency,
    kind: check.probe.kind,
    vantage: at.vantage,
    roundId: at.roundId,
    at: iso(final.atMs),
    outcome: final.outcome,
    latencyMs: final.latencyMs,
    errorClass: final.errorClass,
    detail: final.detail,
    fields: final.fields,
    attempts: attempts.map((a) => ({
      at: iso(a.atMs),
      outcome: a.outcome,
      latencyMs: a.latencyMs,
      errorClass: a.errorClass,
      detail: a.detail,
    })),
  };
}

interface SimAttempt {
  readonly atMs: number;
  /** How long the attempt took: its latency, or the check's timeout when it timed out. */
  readonly durationMs: number;
  readonly outcome: Observation['outcome'];
  readonly latencyMs: number | null;
  readonly errorClass: ErrorClass | null;
  readonly detail: string;
  readonly fields: ProbeFields;
}

/** One try of a check under the timeline's condition at its start. */
function attempt(check: PlannedCheck, entry: Entry | undefined, baseMs: number, atMs: number): SimAttempt {
  const outcome = entry?.outcome ?? 'up';
  const spec = check.probe;
  const budget = (spec as unknown as Record<string, { latencyBudgetMs?: number } | undefined>)[spec.kind]
    ?.latencyBudgetMs;
  const fields: ProbeFields = {};
  let latencyMs: number | null = baseMs;
  let errorClass: ErrorClass | null = null;
  let detail = UP_DETAIL[spec.kind];
  if (spec.kind === 'voip') Object.assign(fields, { mos: 4.3, lossPct: 0 });
  if (spec.kind === 'http') fields.status = 200;

  if (outcome === 'degraded') {
    if (
      spec.kind === 'voip' &&
      (entry?.mos !== undefined || entry?.lossPct !== undefined || entry?.latencyMs === undefined)
    ) {
      const mos = entry?.mos ?? Math.max(1, spec.voip.minMos - 0.6);
      const lossPct = entry?.lossPct ?? 4;
      Object.assign(fields, { mos, lossPct });
      latencyMs = entry?.latencyMs ?? baseMs;
      detail = `MOS ${mos} below ${spec.voip.minMos} (${lossPct}% loss)`;
    } else {
      latencyMs = entry?.latencyMs ?? (budget ?? 1000) * 2;
      detail = `${latencyMs} ms, over the ${budget ?? 1000} ms budget`;
    }
  } else if (outcome === 'down') {
    errorClass = entry?.errorClass ?? 'connect';
    latencyMs = null;
    detail = DOWN_DETAIL[errorClass](check);
    if (spec.kind === 'http') fields.status = errorClass === 'status' ? 503 : null;
  }
  if (entry?.detail !== undefined) detail = entry.detail;
  const durationMs = attemptMs(check, { outcome, errorClass, latencyMs: latencyMs ?? baseMs });
  return { atMs, durationMs, outcome, latencyMs, errorClass, detail, fields };
}

/** The timeout a confirming attempt at `retryAt` gets in a round started at `roundMs` (runRound's rule). */
function confirmBudgetMs(scenario: Scenario, check: PlannedCheck, roundMs: number, retryAt: number): number {
  return Math.min(check.timeoutMs, roundMs + scenario.config.probing.roundBudgetMs - TAIL_MS - retryAt);
}

/** How long an attempt took: the check's timeout when it timed out, a voice burst's length, else its latency. */
function attemptMs(
  check: PlannedCheck,
  a: {
    readonly outcome: Observation['outcome'];
    readonly errorClass: ErrorClass | null;
    readonly latencyMs: number | null;
  },
): number {
  if (a.errorClass === 'timeout') return check.timeoutMs;
  if (check.probe.kind === 'voip' && a.outcome !== 'down') return voipBurstMs(check.probe.voip);
  return a.latencyMs ?? 0;
}

/** When a batch reaches the decider: its round ends with the last attempt of its slowest check. */
export function batchEndMs(scenario: Scenario, batch: ObservationBatch, checks: readonly PlannedCheck[]): number {
  const startMs = Date.parse(batch.startedAt);
  let end = startMs;
  for (const o of batch.observations) {
    const check = checks.find((c) => c.id === o.check);
    const last = o.attempts?.at(-1);
    if (!check || !last) continue;
    // A confirming attempt was given what was left of the budget, not always the whole timeout.
    const timeoutMs =
      o.attempts.length > 1 ? confirmBudgetMs(scenario, check, startMs, Date.parse(last.at)) : check.timeoutMs;
    end = Math.max(end, Date.parse(last.at) + attemptMs({ ...check, timeoutMs }, last));
  }
  return end;
}

/** A small, stable spread of baseline latencies between checks (0-9 ms). */
function spread(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) % 997;
  return h % 10;
}
