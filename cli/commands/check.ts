import type { ProbeResult } from '../../shared/contracts/observation.ts';
import { runProbe } from '../../shared/probes/index.ts';
import { formatMs, paint, paintOutcome } from '../output.ts';
import { parseTarget, TargetError } from '../target.ts';

/** `failover check TARGET`: one probe, printed for a person or as JSON; returns the exit code. */
export async function checkCommand(
  target: string,
  opts: { json?: boolean; timeout: number; caFile?: string },
): Promise<number> {
  let spec;
  try {
    spec = parseTarget(target, opts.caFile ? { caFile: opts.caFile } : {});
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    if (opts.json) console.log(JSON.stringify({ ok: false, error: error.message }));
    else console.error(`failover: ${error.message}`);
    return 2;
  }
  const result = await runProbe(spec, { timeoutMs: opts.timeout });
  if (opts.json) console.log(JSON.stringify(toJson(spec.kind, target, result)));
  else console.log(humanReadable(target, result));
  return result.outcome === 'up' ? 0 : 1;
}

function toJson(kind: string, target: string, r: ProbeResult): Record<string, unknown> {
  return {
    ok: r.outcome === 'up',
    outcome: r.outcome,
    kind,
    target,
    latencyMs: r.latencyMs,
    errorClass: r.errorClass,
    detail: r.detail,
    ...(r.timings ? { timings: r.timings } : {}),
    ...r.fields,
  };
}

const TIMING_LABELS: [keyof NonNullable<ProbeResult['timings']>, string][] = [
  ['dnsMs', 'dns'],
  ['connectMs', 'connect'],
  ['tlsMs', 'tls'],
  ['firstByteMs', 'first byte'],
  ['totalMs', 'total'],
];

function humanReadable(target: string, r: ProbeResult): string {
  const head = `${paintOutcome(r.outcome)}  ${target}  ${formatMs(r.latencyMs)}${r.errorClass ? `  [${r.errorClass}]` : ''}`;
  const lines = [head, `  ${r.detail}`];
  const timings = TIMING_LABELS.filter(([k]) => r.timings?.[k] !== undefined).map(
    ([k, label]) => `${label} ${formatMs(r.timings![k])}`,
  );
  if (timings.length > 0) lines.push(paint('dim', `  ${timings.join(' · ')}`));
  const facts = Object.entries(r.fields)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  if (facts.length > 0) lines.push(paint('dim', `  ${facts.join('  ')}`));
  return lines.join('\n');
}
