import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildCli } from '../../scripts/build-cli.ts';
import { buildWeb, webBuildState } from '../../local/web-build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A scratch directory for the whole run, removed at its end. */
    scratchDir: string;
  }
}

/**
 * One scratch directory per test run, shared by the workers and removed when the run ends. The compiled CLI is built
 * first, so that every test that runs `bin/failover.js` runs what `npm install` would have built from these sources,
 * and the dashboard when web/ changed since its build (the runtimes under test serve it).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await buildCli();
  if (webBuildState() !== 'fresh') await buildWeb();
  const dir = await mkdtemp(join(tmpdir(), 'failover-test-'));
  project.provide('scratchDir', dir);
  return () => rm(dir, { recursive: true, force: true });
}
