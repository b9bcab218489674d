// npm run bench:detect [-- --trials 20]: the demo's detection and failback delays on the real local runtime. Each
// trial breaks the primary (HTTP resets, as `failover demo break primary` does) at a random moment of the 10 s
// interval, polls the embedded DNS server until it answers the backup, heals the primary and polls until it answers
// the primary again. Prints min / p50 / p95 / max beside the simulator's figures for the same faults and the bound
// the policy sets, and fails when the p95 detection exceeds one interval plus 2 s.
import { parseArgs } from 'node:util';
import { startDynalite } from '../shared/adapters/local/dynalite.ts';
import { demoConfigOnFreePorts } from '../test/support/demo-config.ts';
import { detectionBounds, spread, startDetectionBench, type DetectionTrial } from './detection.ts';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '20' } } });
const trials = Number(values.trials);
if (!Number.isInteger(trials) || trials < 1) {
  console.error(`--trials: expected a whole number of trials, got ${values.trials}`);
  process.exit(2);
}

const demo = await demoConfigOnFreePorts();
const record = { name: 'portal.example.com', primary: '203.0.113.10', backup: '198.51.100.20' };
const bench = await startDetectionBench(demo.text, record);
const dynamo = await startDynalite({ tableName: 'bench-detect' });
const policy = bench.config.sites[0]!.policy;
const intervalMs = policy.intervalSeconds * 1000;
const bound = detectionBounds(bench.config);
const s = (ms: number) => (ms / 1000).toFixed(2);

console.log(
  `bench:detect: examples/demo.yaml (damping off), ${bench.config.regions.probe.length} regions, quorum ` +
    `${policy.quorum}, every ${policy.intervalSeconds} s, down after ${policy.failureThreshold}, up after ` +
    `${policy.recoveryThreshold}, confirm retry ${policy.confirmRetryMs} ms, hold-down ${policy.holdDownSeconds} s; ` +
    `${trials} trials`,
);
const results: DetectionTrial[] = [];
try {
  for (let i = 0; i < trials; i++) {
    const phase = Math.floor(Math.random() * intervalMs);
    const t = await bench.trial(phase, dynamo);
    results.push(t);
    console.log(
      `  trial ${String(i + 1).padStart(2)}: fault at +${s(t.phaseMs)} s of the interval; detection ` +
        `${s(t.detectionMs)} s (simulated ${s(t.simulatedDetectionMs)}), failback ${s(t.failbackMs)} s ` +
        `(simulated ${s(t.simulatedFailbackMs)}); deciding round +${s(t.decidingRoundMs)} s ` +
        `(simulated +${s(t.simulatedDecidingRoundMs)}), took ${s(t.decidingRoundTookMs)} s, then DNS ${s(t.pipelineMs)} s`,
    );
  }
} finally {
  await bench.close();
  await dynamo.close();
}

const row = (name: string, values: readonly number[]) => {
  const v = spread(values);
  return `  ${name.padEnd(22)} ${[v.min, v.p50, v.p95, v.max].map((x) => s(x).padStart(7)).join(' ')}`;
};
console.log(`\n  ${'seconds'.padEnd(22)} ${['min', 'p50', 'p95', 'max'].map((x) => x.padStart(7)).join(' ')}`);
console.log(
  row(
    'detection (measured)',
    results.map((r) => r.detectionMs),
  ),
);
console.log(
  row(
    'detection (simulated)',
    results.map((r) => r.simulatedDetectionMs),
  ),
);
console.log(
  `  ${'detection (formula)'.padEnd(22)} ${s(bound.minMs).padStart(7)} ${' '.repeat(15)} ${s(bound.maxMs).padStart(7)}`,
);
console.log(
  row(
    'failback (measured)',
    results.map((r) => r.failbackMs),
  ),
);
console.log(
  row(
    'failback (simulated)',
    results.map((r) => r.simulatedFailbackMs),
  ),
);
const gaps = results.map((r) => Math.abs(r.detectionMs - r.simulatedDetectionMs));
console.log(row('|measured - simulated|', gaps));

const p95 = spread(results.map((r) => r.detectionMs)).p95;
const target = intervalMs + 2000;
const medianGap = spread(gaps).p50;
console.log(
  `\n  detection p95 ${s(p95)} s, target <= ${s(target)} s: ${p95 <= target ? 'PASS' : 'FAIL'}; ` +
    `median |measured - simulated| ${s(medianGap)} s, target <= 0.50 s: ${medianGap <= 500 ? 'PASS' : 'FAIL'}`,
);
if (p95 > target || medianGap > 500) process.exitCode = 1;
