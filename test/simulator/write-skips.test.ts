import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { simulate, type SimulationResult } from '../../shared/simulator/run.ts';
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

/** What a run decided: every transition (without its evidence, whose counters may lag) and every effect. */
function decided(result: SimulationResult) {
  return {
    transitions: result.transitions.map(({ transition: t, offsetMs, trigger }) => ({
      offsetMs,
      trigger,
      seq: t.seq,
      kind: t.kind,
      from: t.from,
      to: t.to,
      fromLink: t.fromLink,
      toLink: t.toLink,
      suppressed: t.suppressed,
      incidentId: t.incidentId,
      summary: t.explanation.summary,
      verdicts: t.explanation.paths.map((p) => [p.path, p.verdict, p.degraded, p.votes.map((v) => v.vote)]),
    })),
    effects: result.effects.map((e) => ({ offsetMs: e.offsetMs, id: e.action.id, kind: e.action.kind })),
    rejected: result.rejected.map((r) => [r.offsetMs, r.command.type]),
    finalMode: result.summary.finalMode,
  };
}

describe('skipping writes of states that are only fresher (the scenario corpus)', () => {
  const saved: Record<string, { every: number; skipping: number }> = {};

  it.each(FILES)(
    '%s: the same transitions and effects with and without skipped writes',
    { timeout: 60_000 },
    async (file) => {
      const scenario = await loadScenario(scenarioPath(file));
      const every = await simulate(scenario, { dynamo, skipFreshOnly: false });
      const skipping = await simulate(scenario, { dynamo });
      expect(every.summary.skippedWrites).toBe(0);
      expect(decided(skipping)).toEqual(decided(every));
      expect(skipping.expectations.filter((e) => !e.met)).toEqual([]);
      expect(skipping.summary.dynamoWrites.state).toBe(
        every.summary.dynamoWrites.state - skipping.summary.skippedWrites,
      );
      saved[file] = { every: every.summary.dynamoWrites.state, skipping: skipping.summary.dynamoWrites.state };
    },
  );

  it('skips writes across the corpus', () => {
    const every = Object.values(saved).reduce((n, s) => n + s.every, 0);
    const skipping = Object.values(saved).reduce((n, s) => n + s.skipping, 0);
    expect(Object.keys(saved)).toHaveLength(FILES.length);
    expect(skipping).toBeLessThan(every * 0.8);
  });
});
