import { readFileSync } from 'node:fs';

// Replaced by the package's version when scripts/build-agent.ts bundles the agent: the bundle has no package.json.
declare const FAILOVER_VERSION: string | undefined;

/** The package's version: fixed at build time in the agent bundle, read from package.json otherwise. */
export function packageVersion(): string | undefined {
  if (typeof FAILOVER_VERSION === 'string') return FAILOVER_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
