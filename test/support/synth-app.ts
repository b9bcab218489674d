import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { addFailoverStacks, type FailoverStacks } from '../../infra/stacks/failover-app.ts';

export interface Synthesized {
  readonly stacks: FailoverStacks;
  readonly assembly: CloudAssembly;
  readonly config: FailoverConfig;
}

/**
 * Synthesizes the real app (with bundling and cdk-nag) from a configuration file into a temporary directory, which
 * `dirs` collects for the caller to remove (removeDirs).
 */
export function synthesizeApp(configFile: string, dirs: string[], prefix = 'failover-cdk-'): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(outdir);
  const app = new App({ outdir, context: { config: configFile } });
  const stacks = addFailoverStacks(app);
  return { stacks, assembly: app.synth(), config: stacks.appConfig.config };
}

export function removeDirs(dirs: readonly string[]): void {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
