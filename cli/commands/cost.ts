import { readFile } from 'node:fs/promises';
import { formatDiagnostic, parseConfig } from '../../shared/config/load.ts';
import { formatCostReport } from '../../shared/cost/format.ts';
import { measureRounds } from '../../shared/cost/measure.ts';
import { estimateCost } from '../../shared/cost/model.ts';

/**
 * `failover cost --config FILE [--measure] [--json]`: the monthly AWS bill of a configuration with every assumption
 * and unit price; `--measure` first runs the configuration's rounds from this machine to time them. 0 on success,
 * 1 when the configuration cannot be read or is invalid.
 */
export async function costCommand(opts: { config: string; measure?: boolean; json?: boolean }): Promise<number> {
  let text: string;
  try {
    text = await readFile(opts.config, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(`${opts.config}: cannot read: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    return 1;
  }
  const { config, diagnostics } = parseConfig(text);
  if (!config) {
    console.error(`${opts.config}: ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}`);
    for (const d of diagnostics) console.error(`  ${formatDiagnostic(d)}`);
    return 1;
  }
  if (opts.measure && !opts.json) console.error('measuring: running the rounds of the configuration from here...');
  const measured = opts.measure ? await measureRounds(config) : undefined;
  const report = estimateCost({ config, ...(measured ? { measured } : {}) });
  console.log(opts.json ? JSON.stringify(report, null, 2) : formatCostReport(report, opts.config));
  return 0;
}
