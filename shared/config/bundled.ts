import type { FailoverConfig } from './model.ts';

// The configuration as the Lambda functions carry it: resolved and validated at synthesis, written as JSON. Reading
// it needs neither the YAML parser nor the schema, which keeps both out of the functions' bundles and cold starts.

/** Names the shape of the JSON; a function refuses any other, e.g. a bundle built by hand from a raw sites.yaml. */
export const BUNDLED_CONFIG_FORMAT = 'failover-config/resolved-1';

/** `config` as the JSON text a function reads back with {@link readBundledConfig}. */
export function bundledConfigJson(config: FailoverConfig): string {
  return JSON.stringify({ format: BUNDLED_CONFIG_FORMAT, config }, (key, value: unknown) => {
    // JSON would turn these into something else (null, {}, or nothing); refuse rather than change the meaning.
    const plain =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      Array.isArray(value) ||
      (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype);
    if (!plain && !(value === undefined && !/^\d+$/.test(key)))
      throw new Error(`the configuration cannot be written as JSON: ${key || 'the root'} is ${String(value)}`);
    return value;
  });
}

/** The configuration a function was bundled with, or why the text is not one. */
export function readBundledConfig(json: string): { config: FailoverConfig } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  const { format, config } = (data ?? {}) as { format?: unknown; config?: { version?: unknown } };
  if (format !== BUNDLED_CONFIG_FORMAT)
    return { problem: `format ${JSON.stringify(format)}, expected "${BUNDLED_CONFIG_FORMAT}" (build it at synth)` };
  if (config?.version !== 1) return { problem: `version ${JSON.stringify(config?.version)}, expected 1` };
  return { config: config as FailoverConfig };
}
