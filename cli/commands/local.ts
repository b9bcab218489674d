import { loadConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import { startLocalRuntime } from '../../local/runtime.ts';
import { formatMs, paint, paintOutcome } from '../output.ts';

/** `failover local`: the system on this machine until interrupted (or for `--rounds` rounds per region). */
export async function localCommand(opts: { config: string; rounds?: number; jsonLogs?: boolean }): Promise<number> {
  const config = await loadConfig(opts.config);
  const order = new Map(config.sites.flatMap((s) => s.checks.map((c, i) => [`${s.id}|${c.id}`, i] as const)));
  const runtime = await startLocalRuntime({
    config,
    clock: systemClock,
    ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
    onRound: (round) => (opts.jsonLogs ? printJson(round) : printRound(round, order)),
    onError: (error, region) => console.error(`failover local: a round of ${region} failed: ${String(error)}`),
  });
  const log = (message: string) =>
    opts.jsonLogs ? console.log(JSON.stringify({ event: 'runtime', message })) : console.log(paint('dim', message));
  log(`failover local: ${opts.config}: ${config.sites.length} site(s), regions ${config.regions.probe.join(', ')}`);
  for (const t of runtime.targets) log(`  demo target ${t.id} (${t.kind}) on ${t.host}:${t.port}`);
  const intervals = [...new Set(config.sites.map((s) => s.policy.intervalSeconds))].join('/');
  log(`  rounds every ${intervals} s, regions staggered within the interval; Ctrl-C to stop`);

  const stop = () => void runtime.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await runtime.done;
  await runtime.stop();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  log('failover local: stopped');
  return 0;
}

function printRound(round: RoundResult, order: Map<string, number>): void {
  const time = round.roundId.slice(11, 19);
  const region = round.vantage.replace(/^region:/, '');
  const bySite = new Map<string, string[]>();
  const rank = (site: string, check: string) => order.get(`${site}|${check}`) ?? 0;
  const observations = [...round.observations].sort(
    (a, b) => a.site.localeCompare(b.site) || rank(a.site, a.check) - rank(b.site, b.check),
  );
  for (const o of observations) {
    const extra = typeof o.fields.mos === 'number' ? ` MOS ${o.fields.mos.toFixed(2)}` : '';
    const cell = `${o.check} ${paintOutcome(o.outcome)} ${formatMs(o.latencyMs)}${extra}`;
    bySite.set(o.site, [...(bySite.get(o.site) ?? []), cell]);
  }
  const control = round.control && !round.control.ok ? `  ${paint('red', round.control.detail)}` : '';
  for (const [site, cells] of bySite)
    console.log(`${time} ${region.padEnd(14)} ${site}  ${cells.join(' · ')}${control}`);
}

function printJson(round: RoundResult): void {
  for (const o of round.observations) console.log(JSON.stringify({ event: 'observation', ...o }));
  const { observations: _, ...summary } = round;
  console.log(JSON.stringify({ event: 'round', ...summary }));
}
