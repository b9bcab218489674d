import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { describeKillPoint, formatTrial, runTrial, type KillPoint } from '../support/chaos-trial.ts';

// A sample of `npm run chaos` (bench/chaos.ts, the same trial; it also kills while the request is decided): right
// after the command went to the agent (its ack not back), within 50 ms of the transition, once most effects happened.
const SAMPLE: readonly KillPoint[] = [
  { after: 'command', ms: 0 },
  { after: 'transition', ms: 20 },
  { after: 'transition', ms: 400 },
];

describe('crash safety of the outbox (kill -9 around a failover, restart on the same data dir)', () => {
  it.each(SAMPLE.map((p) => [describeKillPoint(p), p] as const))(
    'killed at %s: one switch at the agent, no alert id twice, DNS on the backup, nothing left pending',
    async (_, point) => {
      const result = await runTrial(join(inject('scratchDir'), 'chaos'), point, { settleMs: 30_000 });
      expect({ lost: result.lost, duplicated: result.duplicated }, formatTrial(1, result)).toEqual({
        lost: [],
        duplicated: [],
      });
      expect(result).toMatchObject({ switches: 1, failoverAlerts: 1, dns: '198.51.100.20', openCommands: 0 });
    },
    90_000,
  );
});
