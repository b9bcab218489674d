/**
 * A simplified ITU-T G.107 E-model: path impairments (delay, jitter, loss) to an R-factor and a MOS estimate.
 * Pure functions, no I/O.
 */

/** What the E-model needs to know about a path. */
export interface PathQuality {
  /**
   * ONE-WAY delay in milliseconds (the E-model's Ta, mouth-to-ear). A probe that measures round trips passes
   * mean RTT / 2.
   */
  readonly latencyMs: number;
  /** Interarrival jitter in milliseconds (RFC 3550). */
  readonly jitterMs: number;
  /** Packet loss in percent, 0 to 100. */
  readonly lossPct: number;
}

/** The E-model's intermediate and final values for one path. */
export interface MosEstimate {
  /** latency + 2 x jitter + 10 ms (codec and jitter-buffer allowance). */
  readonly effectiveLatencyMs: number;
  /** Transmission rating factor R, 0 to 100. */
  readonly r: number;
  /** Mean opinion score, 1 to 4.5. */
  readonly mos: number;
}

/**
 * Effective latency: the one-way delay plus a jitter buffer of twice the jitter plus 10 ms of codec delay.
 * `latencyMs` is ONE-WAY delay (mean RTT / 2 for an echo probe).
 */
export function effectiveLatencyMs({ latencyMs, jitterMs }: Pick<PathQuality, 'latencyMs' | 'jitterMs'>): number {
  return nonNegative(latencyMs) + 2 * nonNegative(jitterMs) + 10;
}

/**
 * The R-factor of a path, clamped to [0, 100]: 93.2 minus a delay impairment (Leff / 40 below 160 ms,
 * (Leff - 120) / 10 from there) minus 2.5 per percent of loss. `latencyMs` is ONE-WAY delay (the E-model's Ta,
 * mouth-to-ear), so a round-trip probe passes mean RTT / 2.
 */
export function rFactor(path: PathQuality): number {
  const leff = effectiveLatencyMs(path);
  const delayImpairment = leff < 160 ? leff / 40 : (leff - 120) / 10;
  const lossPct = Math.min(100, nonNegative(path.lossPct));
  const r = 93.2 - delayImpairment - 2.5 * lossPct;
  return Math.min(100, Math.max(0, r));
}

/**
 * The G.107 mapping from R to MOS: 1 + 0.035R + 7e-6 R (R - 60)(100 - R), 1 at or below R = 0 and 4.5 at or above
 * R = 100. The polynomial dips just under 1 for 0 < R < 6.5; the result is floored at 1 so that MOS never rises
 * as R falls.
 */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return Math.min(4.5, Math.max(1, mos));
}

/**
 * Effective latency, R-factor and MOS of a path in one call. `latencyMs` is ONE-WAY delay (the E-model's Ta):
 * pass mean RTT / 2 when measuring round trips.
 */
export function estimateMos(path: PathQuality): MosEstimate {
  const r = rFactor(path);
  return { effectiveLatencyMs: effectiveLatencyMs(path), r, mos: mosFromR(r) };
}

// NaN and negative inputs are measurement noise, not a better-than-perfect path; Infinity stays (R clamps to 0).
function nonNegative(value: number): number {
  return Number.isNaN(value) || value < 0 ? 0 : value;
}
