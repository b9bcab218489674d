import { readFileSync } from 'node:fs';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config/load.ts';
import type { FailoverConfig } from '../shared/config/model.ts';
import { ConfigError } from '../shared/errors.ts';

/** The configuration file used when `-c config=FILE` is not given. */
export const DEFAULT_CONFIG_FILE = 'examples/sites.yaml';

/** The validated configuration the app deploys, with the text that is inlined into the functions. */
export interface AppConfig {
  readonly file: string;
  readonly yaml: string;
  readonly config: FailoverConfig;
}

/**
 * Reads and validates the file named by the `config` context value (`cdk synth -c config=FILE`); throws ConfigError
 * listing every problem.
 */
export function readAppConfig(scope: Construct): AppConfig {
  const context: unknown = scope.node.tryGetContext('config');
  const file = typeof context === 'string' && context !== '' ? context : DEFAULT_CONFIG_FILE;
  let yaml: string;
  try {
    yaml = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ path: [], message: `cannot read ${file}: ${reason}` }], file);
  }
  const { config, diagnostics } = parseConfig(yaml);
  if (!config) throw new ConfigError(diagnostics, file);
  return { file, yaml, config };
}
