import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { detectionBounds, startDetectionBench } from '../../bench/detection.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';

const RECORD = { name: 'portal.example.com', primary: '203.0.113.10', backup: '198.51.100.20' };

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite({ tableName: 'detection-test' });
});
afterAll(async () => {
  await dynamo?.close();
});

describe('detection on the local runtime against the simulator', () => {
  // On a loaded machine the runtime's rounds take longer than the model's, so the test checks what the model claims:
  // the runtime fails over on the round the simulator names, and DNS moves soon after that round ends.
  // npm run bench:detect compares the whole delays.
  it('fails over on the round the simulator names, within the bound the policy sets', async () => {
    const demo = await demoConfigOnFreePorts();
    // The demo's policy, with a shorter hold-down so that the failback comes soon.
    const bench = await startDetectionBench(demo.text.replace('holdDownSeconds: 30', 'holdDownSeconds: 10'), RECORD);
    try {
      const bound = detectionBounds(bench.config);
      for (const phase of [2_000, 7_500]) {
        const t = await bench.trial(phase, dynamo);
        const why = JSON.stringify(t);
        expect(t.decidingRoundMs, why).toBe(t.simulatedDecidingRoundMs);
        expect(t.pipelineMs, why).toBeLessThanOrEqual(2000); // a few ms when quiet; a loaded machine stretches it
        expect(t.detectionMs, why).toBeGreaterThanOrEqual(bound.minMs);
        expect(t.simulatedDetectionMs, why).toBeGreaterThanOrEqual(bound.minMs);
        expect(t.simulatedDetectionMs, why).toBeLessThanOrEqual(bound.maxMs + 1000);
      }
    } finally {
      await bench.close();
    }
  }, 300_000);
});
