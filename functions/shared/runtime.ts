import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { parseConfigJson } from '../../shared/config/validate.ts';
import { ConfigError, formatDiagnostic } from '../../shared/errors.ts';

/** The function's logger and metrics; the service name comes from POWERTOOLS_SERVICE_NAME, set by the construct. */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: 'Failover' });

/**
 * Validates the configuration inlined into the bundle (sites.yaml, validated and turned into JSON at synth, so that
 * no YAML parser is bundled); on problems logs every diagnostic and throws, so that the cold start fails loudly
 * instead of working with a half-understood configuration.
 */
export function bundledConfig(json: string | undefined): FailoverConfig {
  if (!json) throw failStart('FAILOVER_CONFIG_JSON is empty: the bundle was built without the configuration');
  const { config, diagnostics } = parseConfigJson(json);
  if (config) return config;
  for (const d of diagnostics) logger.error('invalid configuration', { diagnostic: formatDiagnostic(d) });
  throw new ConfigError(diagnostics, 'bundled configuration');
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
