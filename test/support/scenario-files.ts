import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The scenario corpus: test/scenarios. */
export const SCENARIO_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

/** The corpus's file names, sorted. */
export const SCENARIO_FILES = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** The path of one scenario of the corpus. */
export const scenarioPath = (file: string): string => join(SCENARIO_DIR, file);
