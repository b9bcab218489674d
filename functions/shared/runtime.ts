import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readBundledConfig, type ReadOptions } from '../../shared/config/bundled.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { ConfigError } from '../../shared/errors.ts';

/** The function's logger and metrics; the service name comes from POWERTOOLS_SERVICE_NAME, set by the construct. */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: 'Failover' });

/**
 * The configuration the bundle carries: sites.yaml, validated and resolved at synth, as compact JSON in the file
 * `failover-config.json` beside the bundle (so that neither the YAML parser nor the schema is bundled, and the text
 * is not compiled as code). esbuild names the file (FAILOVER_CONFIG_FILE) and blanks FAILOVER_CONFIG_JSON, which
 * only an unbundled handler (a test) reads. `options` say which slice the function reads (the bundle must carry it;
 * a test's whole configuration is cut to it) and whether its sites are parsed when first read or all at cold start
 * (shared/config/bundled.ts). A missing file, or text that is not such a configuration, fails the cold start loudly.
 */
export function bundledConfig(options: ReadOptions = {}): FailoverConfig {
  const text = process.env.FAILOVER_CONFIG_JSON ?? configFileBytes(process.env.FAILOVER_CONFIG_FILE);
  if (text.length === 0)
    throw failStart('FAILOVER_CONFIG_JSON is empty: the bundle was built without the configuration');
  const read = readBundledConfig(text, options);
  if ('config' in read) return read.config;
  logger.error('invalid configuration', { diagnostic: read.problem });
  throw new ConfigError([{ path: [], message: read.problem }], 'bundled configuration');
}

function configFileBytes(file: string | undefined): Uint8Array {
  if (!file)
    throw failStart('no configuration: the bundle names no FAILOVER_CONFIG_FILE and FAILOVER_CONFIG_JSON is unset');
  const url = new URL(file, import.meta.url);
  try {
    return readFileSync(url);
  } catch (error) {
    throw failStart(`cannot read the bundled configuration ${url.pathname}: ${(error as Error).message}`);
  }
}

/** The value of a required environment variable; a missing one fails the cold start. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw failStart(`${name} is not set`);
  return value;
}

/** Logs why the cold start cannot go on and returns the error to throw. */
export function failStart(message: string): Error {
  logger.error(`cold start failed: ${message}`);
  return new Error(message);
}
