import * as z from 'zod';

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
export const Timings = z
  .object({
    dnsMs: z.number().nonnegative(),
    connectMs: z.number().nonnegative(),
    tlsMs: z.number().nonnegative(),
    firstByteMs: z.number().nonnegative(),
    totalMs: z.number().nonnegative(),
  })
  .partial();
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
  latencyMs: z.number().nonnegative().nullable(),
  timings: Timings.optional(),
  errorClass: ErrorClass.nullable(),
  /** One short line for a human. */
  detail: z.string(),
  fields: ProbeFields,
});
export type ProbeResult = z.infer<typeof ProbeResult>;

/** One try of a check inside a round; a failed first try is confirmed by a second. */
export const Attempt = ProbeResult.pick({ outcome: true, latencyMs: true, errorClass: true, detail: true }).extend({
  at: z.iso.datetime(),
});
export type Attempt = z.infer<typeof Attempt>;

/**
 * One check's result from one vantage in one round. The vantage is `region:<aws-region>` for a probe region and
 * `site:<site>/<link>` for a site's own agent.
 */
export const Observation = ProbeResult.extend({
  v: z.literal(1),
  site: z.string(),
  check: z.string(),
  /** The WAN link the check tests; null for checks not tied to one (SaaS/VoIP dependencies seen from outside). */
  link: z.string().nullable(),
  /** The dependency bundle (preset) this check belongs to, if any. */
  dependency: z.string().nullable(),
  kind: ProbeKind,
  vantage: z.string(),
  roundId: z.string(),
  /** When the final attempt started. */
  at: z.iso.datetime(),
  attempts: z.array(Attempt).min(1).max(2),
});
export type Observation = z.infer<typeof Observation>;

/** How a probe region judged itself this round, from its control checks against known-good targets. */
export const ControlSummary = z.object({
  ok: z.boolean(),
  passed: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  detail: z.string(),
});
export type ControlSummary = z.infer<typeof ControlSummary>;

/**
 * A check the vantage's round did not run (its budget could not fit it, or the round was aborted): the vantage says
 * nothing about it this round, so that it abstains on the check's path rather than vote with its last result.
 */
export const SkippedCheckRef = z.object({
  check: z.string(),
  link: z.string().nullable(),
  dependency: z.string().nullable(),
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
  control: ControlSummary.nullable(),
  observations: z.array(Observation),
  /** The site's checks this round skipped; absent from producers older than it, and when none was. */
  skipped: z.array(SkippedCheckRef).optional(),
});
export type ObservationBatch = z.infer<typeof ObservationBatch>;
