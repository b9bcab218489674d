import { stripVTControlCharacters } from 'node:util';
import { ConfigError, FailoverError } from '../shared/errors.ts';
import { formatDiagnostic } from '../shared/errors.ts';
import type { Outcome } from '../shared/contracts/observation.ts';

const COLORS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

/** Colours for a terminal; plain text when piped or when NO_COLOR is set. */
export function paint(color: keyof typeof COLORS, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY || process.env.NO_COLOR) return text;
  return `\u001b[${COLORS[color]}m${text}\u001b[0m`;
}

export function paintOutcome(outcome: Outcome, text: string = outcome.toUpperCase()): string {
  return paint(outcome === 'up' ? 'green' : outcome === 'degraded' ? 'yellow' : 'red', text);
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** Left-aligned columns sized to their widest cell; colour codes do not count towards the width. */
export function table(header: string[], rows: string[][]): string {
  const visible = (s: string) => stripVTControlCharacters(s).length;
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c))))
      .join('  ')
      .trimEnd();
  return [line(header.map((h) => paint('bold', h))), ...rows.map(line)].join('\n');
}

/** A failure the user can act on, with the exit code it should end the process with. */
export class CliError extends FailoverError {
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super('CLI', message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Prints an error for a person (never a stack trace unless FAILOVER_DEBUG is set) and returns the exit code. */
export function reportError(error: unknown): number {
  if (error instanceof ConfigError) {
    console.error(`${error.file ?? 'configuration'}: ${error.diagnostics.length} problem(s)`);
    for (const d of error.diagnostics) console.error(`  ${formatDiagnostic(d)}`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`failover: ${message}`);
  if (process.env.FAILOVER_DEBUG && error instanceof Error) console.error(error.stack);
  if (error instanceof CliError) return error.exitCode;
  return error instanceof FailoverError ? 2 : 1;
}
