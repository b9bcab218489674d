import { readFile } from 'node:fs/promises';
import { formatDiagnostic, parseConfig } from '../../shared/config/load.ts';
import { paint } from '../output.ts';

/** `failover validate FILE`: every problem at once; 0 when valid, 1 otherwise. Never a stack trace. */
export async function validateCommand(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    return 1;
  }
  const { config, diagnostics } = parseConfig(text);
  if (!config) {
    console.error(`${file}: ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}`);
    for (const d of diagnostics) console.error(`  ${formatDiagnostic(d)}`);
    return 1;
  }
  const checks = config.sites.reduce((n, s) => n + s.checks.length, 0);
  const records = config.sites.reduce((n, s) => n + s.dns.length, 0);
  console.log(
    `${file}: ${paint('green', 'valid')}: ${config.sites.length} site(s), ${checks} check(s), ${records} DNS record(s), ` +
      `${config.regions.probe.length} probe region(s), control region ${config.regions.control}` +
      (config.regions.standby ? ` with standby ${config.regions.standby} (witness ${config.regions.witness})` : ''),
  );
  return 0;
}
