import { TARGET_PER_CHECK_USD, type CostReport } from './model.ts';

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (n: number, digits = 2) => `$${n.toFixed(digits)}`;

/** A unit price readable at any magnitude: $0.30, $0.0000133334, $0.20 per million. */
export function formatUnitPrice(value: number): string {
  if (value >= 0.01) return usd(value, value < 0.1 ? 4 : 2);
  if (value >= 0.0001) return usd(value, 5);
  if (value * 1e6 >= 0.01) return `${usd(value * 1e6)}/M`;
  return `$${value.toPrecision(6)}`;
}

function quantity(n: number): string {
  if (n === 0) return '0';
  if (n >= 100) return count(n);
  if (n >= 1) return n.toFixed(2).replace(/\.?0+$/, '');
  return n.toPrecision(3);
}

/** The report as text: the bill line by line, totals, the alternatives, every assumption, price and note. */
export function formatCostReport(report: CostReport, file: string): string {
  const { configuration: c, workload: w, totals: t, alternatives: alt } = report;
  const out: string[] = [];
  out.push(`failover cost: ${file}`);
  out.push(
    `  ${c.sites} site(s), ${c.checks} check(s) (+${c.controlChecks} control), every ${c.intervalsSeconds.join('/')} s, ` +
      `from ${c.probeRegions.length} probe region(s) (${c.probeRegions.join(', ')}), control region ${c.controlRegion}` +
      (c.standbyRegion ? `, standby control region ${c.standbyRegion} (witness ${c.witnessRegion ?? '?'})` : ''),
  );
  out.push(
    `  ${c.recordSwapRecords} record-swap and ${c.gatedRecords} health-check-gated DNS record(s) ` +
      `(${c.dataPlaneLinks} data-plane site link(s)), ${c.agents} agent(s)`,
  );
  out.push(
    `  a month: ${count(w.roundsPerMonth)} rounds in ${count(w.ticketsPerMonth)} tickets (at most ${w.ticketCapacity} checks each) ` +
      `and ${count(w.ticksPerMonth)} ticks, ${count(w.checkRunsPerMonth)} check runs, ` +
      `${count(w.decisionsPerMonth)} decisions; a ticket takes ${Math.round(w.roundMs)} ms (` +
      (w.roundMsSource === 'measured' ? `measured, ${w.measuredRounds} round(s) run here` : 'assumed') +
      ')',
  );
  out.push(
    `  ${w.customMetrics} custom metrics published every hour; ${w.alarms.total} alarm metrics ` +
      `(${w.alarms.deadLetterQueues} dead-letter queues, ${w.alarms.dispatcher} dispatcher, ` +
      `${w.alarms.dnsWriter > 0 ? `${w.alarms.dnsWriter} DNS writer, ` : ''}${w.alarms.silentRegions} for silent regions, ` +
      `${w.alarms.controlPlane} for invalid messages and the reconciler, ` +
      `${w.alarms.probeRegions} in probe regions, ${w.alarms.linkAlarms} link alarms` +
      (w.alarms.standby > 0 ? `, ${w.alarms.standby} in the standby control region` : '') +
      ')',
  );
  if (c.recordSwapRecords > 0)
    out.push(
      `  ${count(w.dnsChangesPerMonth)} record-swap changes through the DNS writer, ` +
        `${count(w.reconcilePagesPerMonth)} reconcile listing pages`,
    );
  out.push('');
  out.push('Monthly cost, us-east-1 list prices, before any free tier');
  const rows = report.lines.map((l) => [
    l.service,
    l.item,
    quantity(l.quantity),
    formatUnitPrice(l.unitUsd),
    usd(l.monthlyUsd, 4),
    l.counted ? (l.fixed ? 'fixed' : '') : 'not counted',
  ]);
  out.push(
    ...table(
      [['service', 'item', 'quantity', 'unit price', 'USD/month', ''], ...rows],
      [false, false, true, true, true, false],
    ),
  );
  out.push('');
  out.push(`  total                              ${usd(t.monthlyUsd)} a month`);
  out.push(`  per check                          ${usd(t.perCheckUsd, 4)} a month (${c.checks} checks)`);
  out.push(
    `  fixed part (not growing with checks) ${usd(t.fixedUsd)}; the rest is ${usd(t.variablePerCheckUsd, 4)} per check`,
  );
  out.push(
    `  after the always-free tier         ${usd(t.afterFreeTierUsd)} a month, ${usd(t.afterFreeTierPerCheckUsd, 4)} per check ` +
      `(if nothing else in the account uses it; it takes off ${usd(t.freeTierUsd)})`,
  );
  out.push('');
  out.push(...targetLines(report));
  out.push('');
  out.push('The same checks elsewhere, per check per month');
  out.push(
    `  Route 53 health checks     ${usd(alt.route53.perCheckLowUsd)} to ${usd(alt.route53.perCheckHighUsd)}; like for like here ` +
      `${usd(alt.route53.equivalentPerCheckUsd)} (${usd(alt.route53.equivalentUsd)} a month for ${alt.route53.expressible} checks; ` +
      `${alt.route53.notExpressible} DNS/SIP/voip check(s) have no equivalent)`,
  );
  for (const line of alt.route53.explanation) out.push(`                             ${line}`);
  out.push(
    `  CloudWatch Synthetics      ${usd(alt.synthetics.perCheckUsd)} (${count(alt.synthetics.runsPerCheckMonth)} runs per check; ` +
      `${usd(alt.synthetics.monthlyUsd)} a month)`,
  );
  out.push(`                             ${alt.synthetics.explanation}`);
  out.push('');
  out.push('Assumptions (failover cost prints them all; change them in shared/cost/assumptions.ts)');
  out.push(
    ...table(
      report.assumptions.map((a) => [a.key, String(a.value), a.text]),
      [false, true, false],
    ),
  );
  out.push('');
  out.push('Unit prices (us-east-1 list price, source and date)');
  out.push(
    ...table(
      report.prices.map((p) => [p.id, formatUnitPrice(p.usd), p.unit, `${p.source} (${p.asOf})`]),
      [false, true, false, false],
    ),
  );
  out.push('');
  out.push('Notes');
  for (const n of report.notes) out.push(`  - ${n}`);
  return out.join('\n');
}

/** The figures against issue 8's target, each saying whether it meets it. */
function targetLines(report: CostReport): string[] {
  const { totals: t, configuration: c } = report;
  const target = TARGET_PER_CHECK_USD;
  const verdict = (perCheck: number) => (perCheck < target ? 'meets the target' : 'does not meet the target');
  const sitesLike = c.sites === 1 ? 'in sites like this one' : 'in sites like these';
  const out = [`Against the target of ${usd(target)} per check and month (issue 8)`];
  const rows = [
    ['all in, list prices', t.perCheckUsd, `${verdict(t.perCheckUsd)} (${c.checks} checks)`],
    [
      'all in, after the always-free tier',
      t.afterFreeTierPerCheckUsd,
      `${verdict(t.afterFreeTierPerCheckUsd)} (if nothing else in the account uses it)`,
    ],
    [
      'what one more check adds',
      t.marginalPerCheckUsd,
      `${verdict(t.marginalPerCheckUsd)} (checks added ${sitesLike}: twice the sites, less this bill, per check)`,
    ],
  ] as const;
  out.push(
    ...table(
      rows.map(([label, value, text]) => [label, usd(value, 4), text]),
      [false, true, false],
    ),
  );
  out.push(
    t.checksForTarget === null
      ? `  all in, list prices, never falls under ${usd(target)} ${sitesLike}: one more check alone costs that much`
      : `  all in, list prices, falls under ${usd(target)} from ${count(t.checksForTarget)} checks ${sitesLike} ` +
          `(about ${count(Math.ceil((t.checksForTarget * c.sites) / c.checks))} sites): the same fixed part, ` +
          `${usd(t.fixedUsd)}, spread over them`,
  );
  return out;
}

function table(rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}
