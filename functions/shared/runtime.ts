import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { readBundledConfig } from '../../shared/config/bundled.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { ConfigError } from '../../shared/errors.ts';

/** The function's logger and metrics; the service name comes from POWERTOOLS_SERVICE_NAME, set by the construct. */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: 'Failover' });

/**
 * The configuration inlined into the bundle: sites.yaml, validated and resolved at synth, as JSON (so that neither
 * the YAML parser nor the schema is bundled). Text that is not such a configuration fails the cold start loudly.
 */
export function bundledConfig(json: string | undefined): FailoverConfig {
  if (!json) throw failStart('FAILOVER_CONFIG_JSON is empty: the bundle was built without the configuration');
  const read = readBundledConfig(json);
  if ('config' in read) return read.config;
  logger.error('invalid configuration', { diagnostic: read.problem });
  throw new ConfigError([{ path: [], message: read.problem }], 'bundled configuration');
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
