import { describe, expect, it } from 'vitest';
import { effectiveLatencyMs, estimateMos, mosFromR, rFactor } from '../../shared/probes/emodel.ts';

// Worked by hand: Leff = latency + 2 x jitter + 10; R = 93.2 - Leff/40 (Leff < 160) or 93.2 - (Leff - 120)/10;
// R -= 2.5 x loss; MOS = 1 + 0.035R + 7e-6 R (R - 60)(100 - R).
const worked = [
  {
    // Leff 20 + 10 + 10 = 40; R = 93.2 - 1 = 92.2;
    // MOS = 1 + 3.227 + 7e-6 x 92.2 x 32.2 x 7.8 (= 0.16210) = 4.3891
    input: { latencyMs: 20, jitterMs: 5, lossPct: 0 },
    leff: 40,
    r: 92.2,
    mos: 4.3891,
  },
  {
    // Leff 150 + 40 + 10 = 200 (>= 160); R = 93.2 - (200 - 120)/10 = 85.2;
    // MOS = 1 + 2.982 + 7e-6 x 85.2 x 25.2 x 14.8 (= 0.22243) = 4.2044
    input: { latencyMs: 150, jitterMs: 20, lossPct: 0 },
    leff: 200,
    r: 85.2,
    mos: 4.2044,
  },
  {
    // Leff 40; R = 92.2 - 2.5 x 10 = 67.2; MOS = 1 + 2.352 + 7e-6 x 67.2 x 7.2 x 32.8 (= 0.11109) = 3.4631
    input: { latencyMs: 20, jitterMs: 5, lossPct: 10 },
    leff: 40,
    r: 67.2,
    mos: 3.4631,
  },
  {
    // Leff 200; R = 85.2 - 25 = 60.2; MOS = 1 + 2.107 + 7e-6 x 60.2 x 0.2 x 39.8 (= 0.00335) = 3.1104
    input: { latencyMs: 150, jitterMs: 20, lossPct: 10 },
    leff: 200,
    r: 60.2,
    mos: 3.1104,
  },
  {
    // A clean LAN with 20% loss: Leff 10; R = 93.2 - 0.25 - 50 = 42.95;
    // MOS = 1 + 1.50325 + 7e-6 x 42.95 x (-17.05) x 57.05 (= -0.29244) = 2.2108
    input: { latencyMs: 0, jitterMs: 0, lossPct: 20 },
    leff: 10,
    r: 42.95,
    mos: 2.2108,
  },
  {
    // Leff exactly 160 takes the second branch: R = 93.2 - (160 - 120)/10 = 89.2 (the branches meet at 160);
    // MOS = 1 + 3.122 + 7e-6 x 89.2 x 29.2 x 10.8 (= 0.19691) = 4.3189
    input: { latencyMs: 150, jitterMs: 0, lossPct: 0 },
    leff: 160,
    r: 89.2,
    mos: 4.3189,
  },
  {
    // R = 92.95 - 2.5 x 50 = -32.05, clamped to 0; MOS 1
    input: { latencyMs: 0, jitterMs: 0, lossPct: 50 },
    leff: 10,
    r: 0,
    mos: 1,
  },
  {
    // Leff 1010; R = 93.2 - 89 = 4.2; the polynomial gives 0.9898, floored to 1
    input: { latencyMs: 1000, jitterMs: 0, lossPct: 0 },
    leff: 1010,
    r: 4.2,
    mos: 1,
  },
];

describe('estimateMos', () => {
  it.each(worked)('$input.latencyMs ms, jitter $input.jitterMs ms, loss $input.lossPct% -> R $r, MOS $mos', (c) => {
    const result = estimateMos(c.input);
    expect(result.effectiveLatencyMs).toBeCloseTo(c.leff, 6);
    expect(result.r).toBeCloseTo(c.r, 6);
    expect(result.mos).toBeCloseTo(c.mos, 4);
    expect(rFactor(c.input)).toBe(result.r);
    expect(mosFromR(result.r)).toBe(result.mos);
  });

  it('is continuous where the delay impairment changes branch (Leff 160 ms)', () => {
    const below = rFactor({ latencyMs: 149.999, jitterMs: 0, lossPct: 0 });
    const at = rFactor({ latencyMs: 150, jitterMs: 0, lossPct: 0 });
    expect(Math.abs(below - at)).toBeLessThan(0.001);
  });

  it('treats negative and NaN inputs as zero and infinite delay as a dead path', () => {
    expect(rFactor({ latencyMs: -50, jitterMs: Number.NaN, lossPct: -3 })).toBeCloseTo(92.95, 6);
    expect(effectiveLatencyMs({ latencyMs: -1, jitterMs: -1 })).toBe(10);
    expect(rFactor({ latencyMs: Number.POSITIVE_INFINITY, jitterMs: 0, lossPct: 0 })).toBe(0);
    expect(rFactor({ latencyMs: 0, jitterMs: 0, lossPct: 250 })).toBe(0);
  });

  it('keeps R within [0, 100]', () => {
    for (const latencyMs of [0, 10, 100, 500, 5000]) {
      for (const lossPct of [0, 5, 40, 100]) {
        const r = rFactor({ latencyMs, jitterMs: 0, lossPct });
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThanOrEqual(100);
      }
    }
  });
});

describe('mosFromR', () => {
  it.each([
    { r: -20, mos: 1 },
    { r: 0, mos: 1 },
    { r: Number.NaN, mos: 1 },
    { r: 3.22, mos: 1 }, // the polynomial's minimum, 0.9888, floored
    { r: 50, mos: 2.575 }, // 1 + 1.75 + 7e-6 x 50 x (-10) x 50 = 2.575
    { r: 100, mos: 4.5 },
    { r: 130, mos: 4.5 },
  ])('R $r -> MOS $mos', ({ r, mos }) => {
    expect(mosFromR(r)).toBeCloseTo(mos, 6);
  });

  it('stays within [1, 4.5] and never falls as R rises', () => {
    let previous = mosFromR(-1);
    for (let r = -1; r <= 101; r += 0.05) {
      const mos = mosFromR(r);
      expect(mos).toBeGreaterThanOrEqual(1);
      expect(mos).toBeLessThanOrEqual(4.5);
      expect(mos).toBeGreaterThanOrEqual(previous);
      previous = mos;
    }
  });
});

describe('monotonicity: MOS never increases as latency, jitter or loss grow', () => {
  const base = { latencyMs: 20, jitterMs: 2, lossPct: 0 };
  const sweeps = [
    { axis: 'latencyMs', values: [0, 1, 10, 50, 100, 139, 140, 141, 149, 150, 151, 200, 300, 500, 800, 1000, 5000] },
    { axis: 'jitterMs', values: [0, 0.1, 1, 5, 10, 30, 60, 65, 70, 100, 200, 400, 1000] },
    { axis: 'lossPct', values: [0, 0.5, 1, 2, 5, 10, 15, 20, 30, 36, 37, 38, 50, 80, 100] },
  ] as const;
  const others = [
    { latencyMs: 0, jitterMs: 0, lossPct: 0 },
    base,
    { latencyMs: 150, jitterMs: 20, lossPct: 10 },
    { latencyMs: 400, jitterMs: 50, lossPct: 30 },
  ];

  for (const { axis, values } of sweeps) {
    it.each(others)(`along ${axis} from %o`, (start) => {
      let previous = Number.POSITIVE_INFINITY;
      for (const value of values) {
        const { mos } = estimateMos({ ...start, [axis]: value });
        expect(mos).toBeLessThanOrEqual(previous);
        previous = mos;
      }
    });
  }
});
