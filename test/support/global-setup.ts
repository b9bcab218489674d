import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A scratch directory for the whole run, removed at its end. */
    scratchDir: string;
  }
}

/** One scratch directory per test run, shared by the workers and removed when the run ends. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'failover-test-'));
  project.provide('scratchDir', dir);
  return () => rm(dir, { recursive: true, force: true });
}
