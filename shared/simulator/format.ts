import { isAbsolute, relative } from 'node:path';
import { renderExplanation } from '../domain/explain.ts';
import { formatDuration, formatOffset } from './duration.ts';
import type { SimEffect, SimTransition } from './records.ts';
import type { SimulationResult } from './run.ts';
import type { ExpectationResult } from './summary.ts';

/** One line for an applied effect: `DNS portal.example.com A -> 198.51.100.20`, `alert [critical] ...`. */
export function describeEffect(action: SimEffect['action']): string {
  switch (action.kind) {
    case 'dns':
      return `DNS ${action.name} ${action.type} -> ${action.values.join(', ')}`;
    case 'agent-command':
      return `agent: ${action.command} ${action.link}`;
    case 'alert':
      return `alert [${action.severity}${action.suppressed ? ', suppressed' : ''}] ${action.subject}`;
    case 'webhook':
      return `webhook ${action.event}`;
  }
}

/** `FAILOVER fiber -> lte`, `BOTH-DOWN on fiber`, `DEGRADED on fiber`. */
export function transitionTitle(t: SimTransition): string {
  const { kind, fromLink, toLink, from, to } = t.transition;
  const head = kind.toUpperCase();
  if (fromLink !== toLink) return `${head} ${fromLink} -> ${toLink}`;
  if (from !== to) return `${head} ${from} -> ${to} on ${toLink}`;
  return `${head} on ${toLink}`;
}

function notes(t: SimTransition): string {
  const out = [
    t.trigger === 'operator' ? 'by an operator' : '',
    t.transition.suppressed ? 'suppressed' : '',
    t.falseFailover === true ? 'FALSE FAILOVER' : '',
    typeof t.detectionSeconds === 'number' ? `detected ${seconds(t.detectionSeconds)} after the fault began` : '',
  ].filter(Boolean);
  return out.length > 0 ? `  (${out.join('; ')})` : '';
}

/** `13.3 s`: tenths are enough for people (the JSON keeps milliseconds). */
function seconds(value: number): string {
  return `${Math.round(value * 10) / 10} s`;
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (typeof value === 'object') {
    const { min, max } = value as { min?: number; max?: number };
    if (min !== undefined && max !== undefined) return `${min} to ${max}`;
    if (min !== undefined) return `at least ${min}`;
    if (max !== undefined) return `at most ${max}`;
    return 'any';
  }
  return String(value);
}

function formatExpectation(e: ExpectationResult): string {
  const expected =
    e.name === 'maxDetectionSeconds'
      ? `at most ${String(e.expected)} s`
      : e.name === 'minDetectionSeconds'
        ? `at least ${String(e.expected)} s`
        : formatValue(e.expected);
  const actual =
    e.name.endsWith('DetectionSeconds') && typeof e.actual === 'number' ? seconds(e.actual) : formatValue(e.actual);
  return `${e.met ? 'met    ' : 'NOT MET'}  ${e.name}: expected ${expected}, actual ${actual}`;
}

/** The human report: a header, one block per transition (explanation, effects), the summary, the expectations. */
export function formatReport(result: SimulationResult): string {
  const { scenario, summary } = result;
  const { site, config } = scenario;
  const p = site.policy;
  const lines: string[] = [];
  lines.push(`Scenario: ${scenario.name}`);
  if (scenario.description) lines.push(`  ${scenario.description.trim().replace(/\s*\n\s*/g, ' ')}`);
  const source = scenario.configFile ? `${shortPath(scenario.configFile)}, ` : 'inline ';
  const fleet = scenario.sites.length > 1;
  lines.push(`  site: ${source}${site.id} (${site.name}): ${site.links.map((l) => `${l.id} (${l.role})`).join(', ')}`);
  if (fleet) {
    const b = config.brake;
    lines.push(
      `  fleet: ${scenario.sites.length} copies (${scenario.sites[0]!.id} ... ${scenario.sites.at(-1)!.id}); brake ` +
        (b.enabled
          ? `at most max(${b.minSites}, ${b.maxShare} x sites) failovers in ${b.windowSeconds} s`
          : 'disabled'),
    );
  }
  lines.push(`  regions: ${config.regions.probe.join(', ')} (quorum ${p.quorum})`);
  lines.push(
    `  policy: rounds every ${p.intervalSeconds} s, down after ${p.failureThreshold}, up after ${p.recoveryThreshold}, ` +
      `hold-down ${p.holdDownSeconds} s, failback ${p.failback}, fail over on ${p.failoverOn.join(' or ')}`,
  );
  lines.push(
    `  from ${new Date(scenario.startMs).toISOString()} for ${formatDuration(scenario.durationMs)}: ` +
      `${summary.decisions} decisions`,
  );

  type Item = { offsetMs: number; order: number; text: string[] };
  const items: Item[] = result.transitions.map((t, i) => {
    const effects = result.effects.filter(
      (e) => e.action.seq === t.transition.seq && e.action.site === t.transition.site,
    );
    return {
      offsetMs: t.offsetMs,
      order: i,
      text: [
        `${formatOffset(t.offsetMs)} ${fleet ? `${t.transition.site} ` : ''}${transitionTitle(t)}${notes(t)}`,
        ...renderExplanation(t.transition.explanation)
          .split('\n')
          .map((l) => `    ${l}`),
        ...effects.map((e) => `    => ${describeEffect(e.action)}`),
      ],
    };
  });
  result.releases.forEach(({ offsetMs, release }, i) =>
    items.push({
      offsetMs,
      order: 20_000 + i,
      text: [
        `${formatOffset(offsetMs)} BRAKE RELEASED by ${release.by}: ${release.reason}`,
        `    ${release.engagement} released; every automatic failover goes ahead until ${formatOffset(release.until - scenario.startMs)}.`,
        ...result.effects
          .filter((e) => e.action.kind === 'alert' && e.action.dedupKey === `${release.engagement}:released`)
          .map((e) => `    => ${describeEffect(e.action)}`),
      ],
    }),
  );
  result.rejected.forEach((r, i) =>
    items.push({
      offsetMs: r.offsetMs,
      order: 10_000 + i,
      text: [`${formatOffset(r.offsetMs)} COMMAND ${r.command.type} by ${r.command.by} REJECTED: ${r.reason}`],
    }),
  );
  items.sort((a, b) => a.offsetMs - b.offsetMs || a.order - b.order);
  lines.push('');
  if (items.length === 0) lines.push('(no transitions)', '');
  for (const item of items) lines.push(...item.text, '');

  const s = summary;
  lines.push('Summary');
  lines.push(
    `  failovers ${s.failovers} (${s.falseFailovers} false), failbacks ${s.failbacks}, recovered ${s.recovered}, both-down ${s.bothDown}`,
  );
  lines.push(`  detection: ${s.detectionSeconds === null ? 'no failover' : seconds(s.detectionSeconds)}`);
  lines.push(
    `  alerts ${s.alerts} sent, ${s.alertsSuppressed} suppressed; webhooks ${s.webhooks}; DNS changes ${s.dnsChanges}; ` +
      `agent commands ${s.agentCommands}; rejected commands ${s.rejectedCommands}`,
  );
  lines.push(
    fleet
      ? `  final: ${Object.entries(s.finalModes)
          .map(([mode, n]) => `${mode} x${n}`)
          .join(', ')}`
      : `  final: ${s.finalMode} on ${s.finalLink}`,
  );
  lines.push(
    `  decisions ${s.decisions} (${s.batches} batches); DynamoDB writes ${s.dynamoWrites.total} ` +
      `(${s.dynamoWrites.state} state, ${s.dynamoWrites.history} history), reads ${s.dynamoReads}; ` +
      `${s.stateWritesPerBatch} state writes per batch, ${s.skippedWrites} skipped (only fresher)`,
  );
  if (result.expectations.length > 0) {
    lines.push('', 'Expectations');
    for (const e of result.expectations) lines.push(`  ${formatExpectation(e)}`);
  }
  const met = result.expectations.filter((e) => e.met).length;
  lines.push(
    '',
    result.passed
      ? `PASS: ${met} of ${result.expectations.length} expectations met`
      : `FAIL: ${result.expectations.length - met} of ${result.expectations.length} expectations not met`,
  );
  return lines.join('\n');
}

/** The run as one JSON-friendly object: { scenario, transitions, effects, rejected, releases, summary, expectations, passed }. */
export function toJson(result: SimulationResult): Record<string, unknown> {
  const { scenario } = result;
  const at = (offsetMs: number) => ({
    at: new Date(scenario.startMs + offsetMs).toISOString(),
    offset: formatOffset(offsetMs),
    offsetSeconds: offsetMs / 1000,
  });
  return {
    scenario: {
      name: scenario.name,
      description: scenario.description ?? null,
      file: scenario.file ?? null,
      config: scenario.configFile === undefined ? null : shortPath(scenario.configFile),
      site: scenario.site.id,
      sites: scenario.sites.map((x) => x.id),
      start: new Date(scenario.startMs).toISOString(),
      durationSeconds: scenario.durationMs / 1000,
      regions: scenario.config.regions.probe,
      policy: scenario.site.policy,
    },
    transitions: result.transitions.map((t) => ({
      ...at(t.offsetMs),
      site: t.transition.site,
      seq: t.transition.seq,
      kind: t.transition.kind,
      title: transitionTitle(t),
      from: t.transition.from,
      to: t.transition.to,
      fromLink: t.transition.fromLink,
      toLink: t.transition.toLink,
      trigger: t.trigger,
      suppressed: t.transition.suppressed,
      incidentId: t.transition.incidentId,
      ...(t.transition.kind === 'failover'
        ? { falseFailover: t.falseFailover ?? false, detectionSeconds: t.detectionSeconds ?? null }
        : {}),
      summary: t.transition.explanation.summary,
      explanation: t.transition.explanation,
      text: renderExplanation(t.transition.explanation),
    })),
    effects: result.effects.map((e) => ({
      ...at(e.offsetMs),
      site: e.action.site,
      seq: e.action.seq,
      kind: e.action.kind,
      text: describeEffect(e.action),
      action: e.action,
    })),
    rejected: result.rejected.map((r) => ({ ...at(r.offsetMs), command: r.command, reason: r.reason })),
    releases: result.releases.map((r) => ({ ...at(r.offsetMs), release: r.release })),
    summary: result.summary,
    expectations: result.expectations,
    passed: result.passed,
  };
}

/** A path relative to the working directory when it is inside it, for output that people read. */
function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
