import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.ts';

// Replaced by the package's version when the agent bundle and the compiled CLI are built: nothing to read at run time.
declare const FAILOVER_VERSION: string | undefined;

/** The package's version: fixed at build time in the agent bundle, read from package.json otherwise. */
export function packageVersion(): string | undefined {
  if (typeof FAILOVER_VERSION === 'string') return FAILOVER_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}
