import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { simulate } from '../../shared/simulator/run.ts';
import { loadScenario } from '../../shared/simulator/scenario.ts';
import { SCENARIO_FILES, scenarioPath } from '../support/scenario-files.ts';

const FILES = SCENARIO_FILES;

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

describe('the scenario corpus (test/scenarios)', () => {
  it('has at least 15 scenarios, each with expectations', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(15);
  });

  // One dynalite for the file; simulate() gives every run a table of its own.
  it.each(FILES)('%s: every expectation met', { timeout: 60_000 }, async (file) => {
    const scenario = await loadScenario(scenarioPath(file));
    const result = await simulate(scenario, { dynamo });
    expect(result.expectations.length).toBeGreaterThan(0);
    expect(result.expectations.filter((e) => !e.met)).toEqual([]);
    expect(result.summary.pendingActions).toBe(0);
    expect(result.summary.decisions).toBeGreaterThan(0);
  });
});
