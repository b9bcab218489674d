import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import type { ObservationSink } from '../../shared/ports/observation-sink.ts';
import { probeRegion, type ProbeRegionEvent } from '../../shared/usecases/probe-region.ts';
import { ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
afterAll(() => pool.closeAll());

class CollectingSink implements ObservationSink {
  readonly batches: ObservationBatch[] = [];
  failNext = 0;
  async publish(batches: readonly ObservationBatch[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unreachable');
    }
    this.batches.push(...batches);
  }
}

async function setup(interval: number) {
  const port = await pool.listen(createServer((_req, res) => res.end('ok')));
  const { config } = parseConfig(`version: 1
regions: { probe: [us-east-1, eu-west-1], control: us-east-1 }
probing: { jitterMs: 0, roundBudgetMs: 5000 }
sites:
  - id: hq
    policy: { intervalSeconds: ${interval} }
    links:
      - { id: fiber, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: fiber, http: { url: 'http://127.0.0.1:${port}/' } }
      - { id: web-lte, link: lte, http: { url: 'http://127.0.0.1:${port}/lte' } }
`);
  return config!;
}

describe('probeRegion', () => {
  it("runs each of the window's rounds at its offset and publishes one batch per site and round", async () => {
    const config = await setup(15);
    const sink = new CollectingSink();
    const windowStartMs = Date.UTC(2026, 10, 25, 18, 0, 0);
    const now = windowStartMs;
    const waits: number[] = [];
    const out = await probeRegion(
      {
        config,
        sink,
        clock: { now: () => now },
        wait: async (ms) => {
          waits.push(ms);
        },
      },
      { region: 'eu-west-1', windowStartMs, windowMs: 60_000 },
    );
    expect(waits.sort((a, b) => a - b)).toEqual([7500, 22_500, 37_500, 52_500]);
    expect(out).toEqual({ rounds: 4, observations: 8, published: 4, failedRounds: [] });
    expect(sink.batches.map((b) => b.roundId).sort()).toEqual([
      '2026-11-25T18:00:07.500Z',
      '2026-11-25T18:00:22.500Z',
      '2026-11-25T18:00:37.500Z',
      '2026-11-25T18:00:52.500Z',
    ]);
    expect(sink.batches[0]).toMatchObject({ site: 'hq', vantage: 'region:eu-west-1' });
    expect(sink.batches[0]!.observations.find((o) => o.check === 'web')).toMatchObject({
      link: 'fiber',
      outcome: 'up',
    });
  });

  it('reports a round it could not hand on and carries on with the others', async () => {
    const config = await setup(30);
    const sink = new CollectingSink();
    sink.failNext = 1;
    const events: ProbeRegionEvent[] = [];
    const windowStartMs = Date.UTC(2026, 10, 25, 18, 0, 0);
    const out = await probeRegion(
      { config, sink, clock: { now: () => windowStartMs + 60_000 }, log: (e) => events.push(e) },
      { region: 'us-east-1', windowStartMs, windowMs: 60_000 },
    );
    expect(out.rounds).toBe(2);
    expect(out.failedRounds).toHaveLength(1);
    expect(out.published).toBe(1);
    expect(events.filter((e) => e.type === 'publish-failed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'round')).toHaveLength(2);
  });
});
