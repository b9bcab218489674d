import * as z from 'zod/mini';
import './zod-english.ts';

// zod/mini (functions, not methods): these schemas are built at every function's cold start, and the classic API
// costs each bundle about 75 KB and each schema several times the CPU (docs/architecture.md, bundles).

/** Outcome of one probe: `degraded` means reachable but over a budget (latency, MOS, certificate expiry). */
export const OUTCOMES = ['up', 'degraded', 'down'] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

/** Why a probe was not `up`: the layer that failed. */
export const ERROR_CLASSES = ['dns', 'connect', 'timeout', 'tls', 'status', 'assertion', 'protocol'] as const;
export const ErrorClass = z.enum(ERROR_CLASSES);
export type ErrorClass = z.infer<typeof ErrorClass>;

export const PROBE_KINDS = ['http', 'tcp', 'tls', 'dns', 'sip', 'voip'] as const;
export const ProbeKind = z.enum(PROBE_KINDS);
export type ProbeKind = z.infer<typeof ProbeKind>;

/** Milliseconds spent in each phase, where the protocol has phases. */
const Ms = z.number().check(z.nonnegative());
export const Timings = z.partial(z.object({ dnsMs: Ms, connectMs: Ms, tlsMs: Ms, firstByteMs: Ms, totalMs: Ms }));
export type Timings = z.infer<typeof Timings>;

/** Probe-specific facts (`status`, `daysToExpiry`, `mos`, `lossPct`, `rcode`, ...), flat and JSON-friendly. */
export const ProbeFields = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]),
);
export type ProbeFields = z.infer<typeof ProbeFields>;

/** What every probe returns. Probes never throw: every failure is a result. */
export const ProbeResult = z.object({
  outcome: Outcome,
  /** Time to the protocol's answer (HTTP: total; TCP: connect; TLS: handshake; SIP/DNS: RTT; voip: mean RTT). */
  latencyMs: z.nullable(Ms),
  timings: z.optional(Timings),
  errorClass: z.nullable(ErrorClass),
  /** One short line for a human. */
  detail: z.string(),
  fields: ProbeFields,
});
export type ProbeResult = z.infer<typeof ProbeResult>;

/** One try of a check inside a round; a failed first try is confirmed by a second. */
export const Attempt = z.extend(
  z.pick(ProbeResult, { outcome: true, latencyMs: true, errorClass: true, detail: true }),
  {
    at: z.iso.datetime(),
  },
);
export type Attempt = z.infer<typeof Attempt>;

/**
 * One check's result from one vantage in one round. The vantage is `region:<aws-region>` for a probe region and
 * `site:<site>/<link>` for a site's own agent.
 */
export const Observation = z.extend(ProbeResult, {
  v: z.literal(1),
  site: z.string(),
  check: z.string(),
  /** The WAN link the check tests; null for checks not tied to one (SaaS/VoIP dependencies seen from outside). */
  link: z.nullable(z.string()),
  /** The dependency bundle (preset) this check belongs to, if any. */
  dependency: z.nullable(z.string()),
  kind: ProbeKind,
  vantage: z.string(),
  roundId: z.string(),
  /** When the final attempt started. */
  at: z.iso.datetime(),
  attempts: z.array(Attempt).check(z.minLength(1), z.maxLength(2)),
});
export type Observation = z.infer<typeof Observation>;

/** How a probe region judged itself this round, from its control checks against known-good targets. */
export const ControlSummary = z.object({
  ok: z.boolean(),
  passed: z.int().check(z.nonnegative()),
  total: z.int().check(z.nonnegative()),
  detail: z.string(),
});
export type ControlSummary = z.infer<typeof ControlSummary>;

/**
 * A check the vantage's round did not run (its budget could not fit it, or the round was aborted): the vantage says
 * nothing about it this round, so that it abstains on the check's path rather than vote with its last result.
 */
export const SkippedCheckRef = z.object({
  check: z.string(),
  link: z.nullable(z.string()),
  dependency: z.nullable(z.string()),
  reason: z.string(),
});
export type SkippedCheckRef = z.infer<typeof SkippedCheckRef>;

/** The unit that travels from a vantage to the decider: one site's observations from one round. */
export const ObservationBatch = z.object({
  v: z.literal(1),
  site: z.string(),
  vantage: z.string(),
  roundId: z.string(),
  startedAt: z.iso.datetime(),
  /** Null when the vantage has no control checks (an agent, or a region configured without them). */
  control: z.nullable(ControlSummary),
  observations: z.array(Observation),
  /** The site's checks this round skipped; absent from producers older than it, and when none was. */
  skipped: z.optional(z.array(SkippedCheckRef)),
});
export type ObservationBatch = z.infer<typeof ObservationBatch>;
