import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import type { ObservationSink } from '../../shared/ports/observation-sink.ts';
import { planRounds } from '../../shared/probes/schedule.ts';
import {
  probeRound,
  scheduleRounds,
  staleAfterMsOf,
  type DelayedTicket,
  type ProbeRegionEvent,
  type LinkHealthSink,
  type RoundQueue,
} from '../../shared/usecases/probe-region.ts';
import type { LinkHealthSample } from '../../shared/probes/link-health.ts';
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

class CollectingQueue implements RoundQueue {
  readonly tickets: DelayedTicket[] = [];
  async enqueue(tickets: readonly DelayedTicket[]): Promise<void> {
    this.tickets.push(...tickets);
  }
}

class CollectingHealth implements LinkHealthSink {
  readonly samples: LinkHealthSample[] = [];
  failNext = 0;
  async publish(samples: readonly LinkHealthSample[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('CloudWatch unreachable');
    }
    this.samples.push(...samples);
  }
}

async function setup(interval: number, dns = '') {
  const port = await pool.listen(
    createServer((req, res) => {
      res.writeHead(req.url === '/lte' ? 503 : 200);
      res.end('ok');
    }),
  );
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
${dns}`);
  return config!;
}

const MINUTE = Date.UTC(2026, 10, 25, 18, 0, 0);

describe('scheduleRounds', () => {
  it("queues one ticket per round of the window, delayed to the round's offset, and never waits", async () => {
    const config = await setup(15);
    const queue = new CollectingQueue();
    // The tick arrives 12.3 s into the minute before the window (the Scheduler's 60-second precision).
    const now = MINUTE - 60_000 + 12_300;
    const out = await scheduleRounds(
      { config, queue, clock: { now: () => now } },
      { region: 'eu-west-1', fromMs: MINUTE, toMs: MINUTE + 60_000 },
    );
    // eu-west-1 is region 1 of 2: staggered by half of the 15 s interval.
    const offsets = [7500, 22_500, 37_500, 52_500];
    expect(queue.tickets).toEqual(
      offsets.map((o) => ({ ticket: { region: 'eu-west-1', atMs: MINUTE + o }, delayMs: MINUTE + o - now })),
    );
    expect(out).toEqual({ scheduled: queue.tickets, skipped: [] });
    // The planner stays the one source of round times.
    expect(queue.tickets.map((t) => t.ticket.atMs)).toEqual(
      planRounds(config, 'eu-west-1', MINUTE, MINUTE + 60_000).map((r) => r.atMs),
    );
  });

  it('queues a round that is due or a little late at once, and leaves out rounds already stale', async () => {
    const config = await setup(15);
    const queue = new CollectingQueue();
    const events: ProbeRegionEvent[] = [];
    // 20 s into the window: the 0 s round is stale (more than 7.5 s late), the 15 s round 5 s late is still run.
    const now = MINUTE + 20_000;
    const out = await scheduleRounds(
      { config, queue, clock: { now: () => now }, log: (e) => events.push(e) },
      { region: 'us-east-1', fromMs: MINUTE, toMs: MINUTE + 60_000 },
    );
    expect(out.skipped).toEqual(['2026-11-25T18:00:00.000Z']);
    expect(queue.tickets.map((t) => [t.ticket.atMs - MINUTE, t.delayMs])).toEqual([
      [15_000, 0],
      [30_000, 10_000],
      [45_000, 25_000],
    ]);
    expect(events).toEqual([
      { type: 'stale', roundId: '2026-11-25T18:00:00.000Z', lateMs: 20_000, staleAfterMs: 7500 },
    ]);
  });

  it('refuses a window beyond the 15 minutes a queue can hold a ticket', async () => {
    const config = await setup(60);
    const queue = new CollectingQueue();
    await expect(
      scheduleRounds(
        { config, queue, clock: { now: () => MINUTE } },
        { region: 'us-east-1', fromMs: MINUTE + 16 * 60_000, toMs: MINUTE + 17 * 60_000 },
      ),
    ).rejects.toThrow(RangeError);
    expect(queue.tickets).toEqual([]);
  });
});

describe('probeRound', () => {
  it("runs the ticket's round against the real server and publishes one batch per site", async () => {
    const config = await setup(15);
    const sink = new CollectingSink();
    const atMs = MINUTE + 22_500;
    const out = await probeRound({ config, sink, clock: { now: () => atMs + 400 } }, { region: 'eu-west-1', atMs });
    expect(out).toEqual({
      roundId: '2026-11-25T18:00:22.500Z',
      status: 'published',
      lateMs: 400,
      observations: 2,
      skipped: 0,
      published: 1,
      healthSamples: 0,
      healthFailed: false,
    });
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]).toMatchObject({
      site: 'hq',
      vantage: 'region:eu-west-1',
      roundId: '2026-11-25T18:00:22.500Z',
    });
    expect(sink.batches[0]!.observations.find((o) => o.check === 'web')).toMatchObject({
      link: 'fiber',
      outcome: 'up',
    });
  });

  const GATED = `    dns:
      - { zone: example.com, hostedZoneId: Z0123456789EXAMPLE, name: vpn.example.com, type: A, strategy: health-check-gated, values: { fiber: [192.0.2.1], lte: [192.0.2.2] } }
`;

  it("puts the region's own health of the data-plane links, stamped with the round time, beside the observations", async () => {
    const config = await setup(15, GATED);
    const sink = new CollectingSink();
    const health = new CollectingHealth();
    const atMs = MINUTE + 22_500;
    const out = await probeRound({ config, sink, health, clock: { now: () => atMs } }, { region: 'eu-west-1', atMs });
    expect(out).toMatchObject({ status: 'published', published: 1, healthSamples: 2, healthFailed: false });
    expect(health.samples).toEqual([
      { site: 'hq', link: 'fiber', role: 'primary', value: 1, atMs },
      // The backup answers 503 (twice: the confirming retry too).
      { site: 'hq', link: 'lte', role: 'backup', value: 0, atMs },
    ]);
  });

  it('puts the health when the control queue is unreachable, and hands the observations on when CloudWatch is', async () => {
    const config = await setup(30, GATED);
    const sink = new CollectingSink();
    const health = new CollectingHealth();
    const events: ProbeRegionEvent[] = [];
    const deps = {
      config,
      sink,
      health,
      clock: { now: () => MINUTE + 30_000 },
      log: (e: ProbeRegionEvent) => events.push(e),
    };
    sink.failNext = 1;
    const lost = await probeRound(deps, { region: 'us-east-1', atMs: MINUTE + 30_000 });
    expect(lost).toMatchObject({ status: 'publish-failed', healthSamples: 2, healthFailed: false });
    expect(health.samples).toHaveLength(2);
    health.failNext = 1;
    const unhealthy = await probeRound(deps, { region: 'us-east-1', atMs: MINUTE + 60_000 });
    expect(unhealthy).toMatchObject({ status: 'published', published: 1, healthSamples: 0, healthFailed: true });
    expect(events.map((e) => e.type)).toEqual(['round', 'publish-failed', 'round', 'health-publish-failed']);
  });

  it('reports a round it could not hand on', async () => {
    const config = await setup(30);
    const sink = new CollectingSink();
    sink.failNext = 1;
    const events: ProbeRegionEvent[] = [];
    const out = await probeRound(
      { config, sink, clock: { now: () => MINUTE + 30_000 }, log: (e) => events.push(e) },
      { region: 'us-east-1', atMs: MINUTE + 30_000 },
    );
    expect(out).toMatchObject({ status: 'publish-failed', observations: 2, published: 0 });
    expect(events.map((e) => e.type)).toEqual(['round', 'publish-failed']);
    expect(sink.batches).toEqual([]);
  });

  it('drops a round more than half an interval late unrun, and runs one just inside', async () => {
    const config = await setup(30);
    const sink = new CollectingSink();
    const events: ProbeRegionEvent[] = [];
    const atMs = MINUTE + 30_000;
    const deps = (now: number) => ({
      config,
      sink,
      clock: { now: () => now },
      log: (e: ProbeRegionEvent) => events.push(e),
    });

    const late = await probeRound(deps(atMs + 15_001), { region: 'us-east-1', atMs });
    expect(late).toEqual({
      roundId: '2026-11-25T18:00:30.000Z',
      status: 'stale',
      lateMs: 15_001,
      observations: 0,
      skipped: 0,
      published: 0,
      healthSamples: 0,
      healthFailed: false,
    });
    expect(events).toEqual([{ type: 'stale', roundId: late.roundId, lateMs: 15_001, staleAfterMs: 15_000 }]);
    expect(sink.batches).toEqual([]);

    const justInTime = await probeRound(deps(atMs + 15_000), { region: 'us-east-1', atMs });
    expect(justInTime.status).toBe('published');
  });

  it('drops a ticket the current plan has no round for (the configuration changed)', async () => {
    const config = await setup(60);
    const sink = new CollectingSink();
    const events: ProbeRegionEvent[] = [];
    // With a 60 s interval, us-east-1 has no round at 30 s past the minute.
    const out = await probeRound(
      { config, sink, clock: { now: () => MINUTE + 30_000 }, log: (e) => events.push(e) },
      { region: 'us-east-1', atMs: MINUTE + 30_000 },
    );
    expect(out.status).toBe('unplanned');
    expect(events).toEqual([{ type: 'unplanned', roundId: '2026-11-25T18:00:30.000Z' }]);
  });
});

describe('a round larger than a ticket', () => {
  /** 30 sites of two checks against one loopback server, one control check, tickets of 11 checks. */
  async function fleet() {
    const paths: string[] = [];
    const port = await pool.listen(
      createServer((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(200);
        res.end('ok');
      }),
    );
    const sites = Array.from(
      { length: 30 },
      (_, i) => `  - id: s${i}
    links:
      - { id: a, role: primary, address: 192.0.2.${i + 1} }
      - { id: b, role: backup, address: 198.51.100.${i + 1} }
    checks:
      - { id: a, link: a, http: { url: 'http://127.0.0.1:${port}/s${i}/a' } }
      - { id: b, link: b, http: { url: 'http://127.0.0.1:${port}/s${i}/b' } }`,
    );
    const { config, diagnostics } = parseConfig(`version: 1
regions: { probe: [us-east-1, eu-west-1], control: us-east-1 }
probing: { jitterMs: 0, roundBudgetMs: 5000, maxChecksPerTicket: 11 }
controlChecks:
  - { id: known-good, http: { url: 'http://127.0.0.1:${port}/control' } }
sites:
${sites.join('\n')}
`);
    expect(diagnostics).toEqual([]);
    return { config: config!, paths };
  }

  it('is queued as tickets of whole sites that together run every check once, each with the control checks', async () => {
    const { config, paths } = await fleet();
    const queue = new CollectingQueue();
    const now = MINUTE - 30_000;
    await scheduleRounds(
      { config, queue, clock: { now: () => now } },
      { region: 'us-east-1', fromMs: MINUTE, toMs: MINUTE + 60_000 },
    );
    // 60 site checks, room for 10 beside the control check: 6 tickets of one round, all due at once.
    expect(queue.tickets).toEqual(
      Array.from({ length: 6 }, (_, shard) => ({
        ticket: { region: 'us-east-1', atMs: MINUTE, shard, shards: 6 },
        delayMs: 30_000,
      })),
    );

    const sink = new CollectingSink();
    const events: ProbeRegionEvent[] = [];
    const outs = await Promise.all(
      queue.tickets.map(({ ticket }) =>
        probeRound({ config, sink, clock: { now: () => MINUTE + 100 }, log: (e) => events.push(e) }, ticket),
      ),
    );
    expect(outs.map((o) => [o.status, o.published, o.observations])).toEqual(
      Array.from({ length: 6 }, () => ['published', 5, 10]),
    );
    // Every site once, in one batch of the round's id, judged by the control check of the ticket that probed it.
    expect(sink.batches.map((b) => b.site).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `s${i}`).sort());
    for (const batch of sink.batches) {
      expect(batch).toMatchObject({ roundId: '2026-11-25T18:00:00.000Z', control: { ok: true, passed: 1, total: 1 } });
      expect(batch.observations.map((o) => o.check).sort()).toEqual(['a', 'b']);
    }
    expect(paths.filter((p) => p === '/control')).toHaveLength(6);
    expect(paths.filter((p) => p !== '/control')).toHaveLength(60);
    expect(
      events
        .filter((e) => e.type === 'round')
        .map((e) => (e as { shard: number }).shard)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('runs the whole round for a ticket without a shard, and drops a shard the plan no longer has', async () => {
    const { config } = await fleet();
    const sink = new CollectingSink();
    const events: ProbeRegionEvent[] = [];
    const deps = { config, sink, clock: { now: () => MINUTE + 100 }, log: (e: ProbeRegionEvent) => events.push(e) };
    const whole = await probeRound(deps, { region: 'us-east-1', atMs: MINUTE });
    expect(whole).toMatchObject({ status: 'published', published: 30, observations: 60 });
    const gone = await probeRound(deps, { region: 'us-east-1', atMs: MINUTE, shard: 6, shards: 7 });
    expect(gone.status).toBe('unplanned');
    expect(events.at(-1)).toEqual({ type: 'unplanned', roundId: '2026-11-25T18:00:00.000Z', shard: 6 });
  });
});

describe('staleAfterMsOf', () => {
  it("is half the shortest interval of the round's sites", async () => {
    const config = await setup(20);
    const [round] = planRounds(config, 'us-east-1', MINUTE, MINUTE + 60_000);
    expect(staleAfterMsOf(config, round!)).toBe(10_000);
  });
});
