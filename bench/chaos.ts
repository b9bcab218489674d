// npm run chaos — crash safety of the outbox: for each kill point, the real `failover local` on a data dir with the
// real agent CLI connected, an operator failover, SIGKILL of the runtime at that point (around the transition), a
// restart on the same data dir, then a count of the failover's effects (test/support/chaos-trial.ts). Prints one
// line per trial and `lost / duplicated / trials`; exits 1 on any lost or duplicated effect.
// Usage: npm run chaos -- [--points N] [--keep DIR] [--verbose]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTrial, killPoints, runTrial, summarize, type TrialResult } from '../test/support/chaos-trial.ts';

const { values } = parseArgs({
  options: { points: { type: 'string', default: '20' }, keep: { type: 'string' }, verbose: { type: 'boolean' } },
  strict: true,
});
const count = Number(values.points);
if (!Number.isInteger(count) || count < 1) throw new Error(`--points ${values.points}: expected a whole number >= 1`);
const points = killPoints(count);
const base = values.keep ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'failover-chaos-'));
console.log(
  `chaos: ${points.length} kill points (SIGKILL of failover local around an operator failover, then a restart)`,
);
const results: TrialResult[] = [];
try {
  for (const [i, point] of points.entries()) {
    const result = await runTrial(base, point, {
      keep: values.keep !== undefined,
      ...(values.verbose ? { progress: (s: string) => console.log(`  ${s}`) } : {}),
    });
    results.push(result);
    console.log(formatTrial(i + 1, result));
  }
} finally {
  if (!values.keep) await rm(base, { recursive: true, force: true });
}
const { lost, duplicated, trials } = summarize(results);
const after = (r: TrialResult) => r.killedAfterTransitionMs;
const within50 = results.filter((r) => after(r) !== null && after(r)! <= 50).length;
const before = results.filter((r) => !r.transitionBeforeKill).length;
console.log('');
console.log(
  `kill points: ${trials} (${before} before the transition was printed, ${within50} within 0-50 ms after it, ` +
    `${trials - before - within50} later)`,
);
console.log(`lost / duplicated / trials: ${lost} / ${duplicated} / ${trials}`);
process.exitCode = lost + duplicated > 0 ? 1 : 0;
