import { loadConfig } from '../../shared/config/load.ts';
import type { Observation } from '../../shared/contracts/observation.ts';
import { roundIdFor, runRound } from '../../shared/probes/round.ts';
import { formatMs, paint, paintOutcome, table } from '../output.ts';
import { regionVantage } from '../../shared/contracts/ids.ts';

/** `failover probe --config FILE`: one round of every check from this machine; exit 1 when any is not up. */
export async function probeCommand(opts: { config: string; region: string; json?: boolean }): Promise<number> {
  const config = await loadConfig(opts.config);
  const checks = [...config.controlChecks, ...config.sites.flatMap((s) => s.checks)];
  const progress = !opts.json && process.stderr.isTTY;
  let done = 0;
  const round = await runRound({
    vantage: regionVantage(opts.region),
    roundId: roundIdFor(Date.now()),
    checks,
    concurrency: config.probing.concurrency,
    jitterMs: 0,
    budgetMs: config.probing.roundBudgetMs,
    onObservation: (o: Observation) => {
      if (opts.json) console.log(JSON.stringify(o));
      else if (progress) process.stderr.write(`\r${++done}/${checks.length} checks done`);
    },
  });
  if (progress) process.stderr.write('\r\u001b[K');

  if (opts.json) {
    const { observations: _, ...summary } = round;
    console.log(JSON.stringify({ round: summary }));
  } else {
    const order = new Map(checks.map((c, i) => [`${c.site}|${c.id}`, i]));
    const rows = [...round.observations]
      .sort((a, b) => order.get(`${a.site}|${a.check}`)! - order.get(`${b.site}|${b.check}`)!)
      .map((o) => [o.site, o.check, o.link ?? '-', paintOutcome(o.outcome), formatMs(o.latencyMs), detailOf(o)]);
    for (const c of round.control?.results ?? [])
      rows.unshift(['(control)', c.check, '-', paintOutcome(c.outcome), formatMs(c.latencyMs), c.detail]);
    for (const s of round.skipped)
      rows.push([s.site ?? '(control)', s.check, '-', paint('dim', 'SKIPPED'), '-', s.reason]);
    console.log(table(['SITE', 'CHECK', 'LINK', 'OUTCOME', 'LATENCY', 'DETAIL'], rows));
    const counts = { up: 0, degraded: 0, down: 0 };
    for (const o of round.observations) counts[o.outcome]++;
    const elapsed = Date.parse(round.finishedAt) - Date.parse(round.startedAt);
    console.log(
      paint(
        'dim',
        `\n${round.observations.length} checks from ${round.vantage} in ${formatMs(elapsed)}: ` +
          `${counts.up} up, ${counts.degraded} degraded, ${counts.down} down` +
          (round.skipped.length ? `, ${round.skipped.length} skipped` : '') +
          (round.control ? `; ${round.control.detail}` : ''),
      ),
    );
  }
  const allUp = round.observations.every((o) => o.outcome === 'up') && round.skipped.length === 0;
  return allUp ? 0 : 1;
}

function detailOf(o: Observation): string {
  const retried = o.attempts.length > 1 ? ` (confirmed: first try ${o.attempts[0]!.outcome})` : '';
  return `${o.errorClass ? `[${o.errorClass}] ` : ''}${o.detail}${retried}`;
}
