import { join } from 'node:path';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { Transition } from '../../shared/domain/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import type { DispatchEvent } from '../../shared/usecases/dispatch.ts';
import { startLocalRuntime } from '../../local/runtime.ts';
import { formatMs, paint, paintOutcome } from '../output.ts';

export interface LocalOptions {
  readonly config: string;
  readonly rounds?: number;
  readonly jsonLogs?: boolean;
  readonly dnsPort: number;
  readonly dataDir?: string;
  readonly alerts?: string;
}

/** `failover local`: the system on this machine until interrupted (or for `--rounds` rounds per region). */
export async function localCommand(opts: LocalOptions): Promise<number> {
  const config = await loadConfig(opts.config);
  const order = new Map(config.sites.flatMap((s) => s.checks.map((c, i) => [`${s.id}|${c.id}`, i] as const)));
  const alertsFile = opts.alerts ?? join(opts.dataDir ?? '.failover', 'alerts.jsonl');
  const emit = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));
  const notifier = new ConsoleNotifier({
    jsonlPath: alertsFile,
    ...(opts.jsonLogs ? { out: (line: string) => emit('alert', { line }) } : {}),
  });
  const runtime = await startLocalRuntime({
    config,
    clock: systemClock,
    ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
    onRound: (round) => (opts.jsonLogs ? printJson(round) : printRound(round, order)),
    onError: (error, where) => console.error(`failover local: ${where}: ${String(error)}`),
    control: {
      notifier,
      dnsPort: opts.dnsPort,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      onTransition: (t) => (opts.jsonLogs ? emit('transition', { ...t }) : printTransition(t)),
      onDispatch: (e) => (opts.jsonLogs ? emit('dispatch', dispatchFields(e)) : printDispatch(e)),
    },
  });
  const log = (message: string) => (opts.jsonLogs ? emit('runtime', { message }) : console.log(paint('dim', message)));
  log(`failover local: ${opts.config}: ${config.sites.length} site(s), regions ${config.regions.probe.join(', ')}`);
  for (const t of runtime.targets) log(`  demo target ${t.id} (${t.kind}) on ${t.host}:${t.port}`);
  const dns = runtime.control?.dns;
  const example = config.sites.flatMap((s) => s.dns)[0]?.name;
  if (dns && example)
    log(`  DNS server on ${dns.host}:${dns.port} (udp and tcp): dig @${dns.host} -p ${dns.port} ${example}`);
  else log('  no DNS records in the configuration: no DNS server');
  log(
    `  state ${opts.dataDir ? `in ${opts.dataDir}` : 'in memory (--data-dir to keep it)'}; alerts also in ${alertsFile}`,
  );
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

function printTransition(t: Transition): void {
  const time = new Date(t.at).toISOString().slice(11, 19);
  const move = t.fromLink === t.toLink ? `on ${t.toLink}` : `${t.fromLink} -> ${t.toLink}`;
  const head = `${time} ${t.site} ${t.kind.toUpperCase()} ${move}${t.suppressed ? ' (alerts suppressed)' : ''}`;
  const color = t.kind === 'failover' || t.kind === 'both-down' || t.kind === 'action-failed' ? 'red' : 'yellow';
  console.log(paint(color, head));
  console.log(`    ${t.explanation.summary}`);
}

function dispatchFields(e: DispatchEvent): Record<string, unknown> {
  const { action, ...rest } = e;
  return { ...rest, action: { id: action.id, kind: action.kind, site: action.site } };
}

function printDispatch(e: DispatchEvent): void {
  const a = e.action;
  const what =
    a.kind === 'dns'
      ? `DNS ${a.name} ${a.type} -> ${a.values.join(', ')}`
      : a.kind === 'agent-command'
        ? `agent ${a.command} ${a.link}`
        : a.kind === 'alert'
          ? `alert ${a.dedupKey}`
          : a.kind === 'webhook'
            ? `webhook ${a.event}`
            : a.kind;
  if (e.type === 'applied') console.log(`    ${what}: ${e.detail}`);
  else if (e.type === 'skipped' && a.kind !== 'webhook') console.log(paint('dim', `    ${what}: skipped, ${e.reason}`));
  else if (e.type === 'retry')
    console.log(paint('yellow', `    ${what}: attempt ${e.attempt} failed (${e.error}); retrying`));
  else if (e.type === 'dead-letter')
    console.log(paint('red', `    ${what}: gave up after ${e.attempts} attempts: ${e.error}`));
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
