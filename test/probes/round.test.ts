import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpSpec, TcpSpec } from '../../shared/config/checks.ts';
import type { PlannedCheck } from '../../shared/config/model.ts';
import { ObservationBatch } from '../../shared/contracts/observation.ts';
import { runProbe } from '../../shared/probes/index.ts';
import { confirmFloorMs, paceRound, TAIL_MS } from '../../shared/probes/pace.ts';
import { roundIdFor, runRound, toSiteBatches } from '../../shared/probes/round.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
afterAll(() => pool.closeAll());

function httpCheck(site: string | null, id: string, port: number, extra: Partial<PlannedCheck> = {}): PlannedCheck {
  return {
    site,
    id,
    name: undefined,
    link: site ? 'fiber' : null,
    dependency: null,
    timeoutMs: 2000,
    confirmRetryMs: 50,
    probe: { kind: 'http', http: HttpSpec.parse({ url: `http://127.0.0.1:${port}/` }) },
    ...extra,
  };
}

const defaults = { vantage: 'region:eu-west-1', roundId: roundIdFor(Date.UTC(2026, 10, 25)), jitterMs: 0 };

describe('runRound', () => {
  it('runs every check once and keys each observation by site, check, link, vantage and round', async () => {
    const port = await pool.listen(createServer((_req, res) => res.end('ok')));
    const round = await runRound({
      ...defaults,
      checks: [httpCheck('hq', 'a', port), httpCheck('hq', 'b', port), httpCheck('store', 'c', port)],
      concurrency: 4,
      budgetMs: 10_000,
    });
    expect(round.observations).toHaveLength(3);
    for (const o of round.observations) {
      expect(o).toMatchObject({ v: 1, vantage: 'region:eu-west-1', roundId: defaults.roundId, outcome: 'up' });
      expect(o.attempts).toHaveLength(1);
    }
    const batches = toSiteBatches(round);
    expect(batches.map((b) => [b.site, b.observations.length])).toEqual([
      ['hq', 2],
      ['store', 1],
    ]);
    for (const b of batches) expect(ObservationBatch.safeParse(b).success).toBe(true);
  });

  it('never has more answering checks in flight than its concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const port = await pool.listen(
      createServer((_req, res) => {
        peak = Math.max(peak, ++inFlight);
        setTimeout(() => {
          inFlight--;
          res.end('ok');
        }, 30);
      }),
    );
    const checks = Array.from({ length: 24 }, (_, i) => httpCheck('hq', `c${i}`, port));
    const round = await runRound({ ...defaults, checks, concurrency: 5, budgetMs: 20_000 });
    expect(round.observations.every((o) => o.outcome === 'up')).toBe(true);
    expect(peak).toBe(5);
  });

  it('confirms a failed attempt with one retry: a single lost answer does not count as down', async () => {
    let requests = 0;
    const port = await pool.listen(
      createServer((_req, res) => {
        res.statusCode = ++requests === 1 ? 503 : 200;
        res.end();
      }),
    );
    const round = await runRound({
      ...defaults,
      checks: [httpCheck('hq', 'flaky', port)],
      concurrency: 1,
      budgetMs: 10_000,
    });
    const [o] = round.observations;
    expect(o!.outcome).toBe('up');
    expect(o!.attempts.map((a) => a.outcome)).toEqual(['down', 'up']);
    expect(Date.parse(o!.attempts[1]!.at) - Date.parse(o!.attempts[0]!.at)).toBeGreaterThanOrEqual(50);
  });

  it('reports down when the retry fails too, with both attempts recorded', async () => {
    const port = await closedPort();
    const round = await runRound({
      ...defaults,
      checks: [httpCheck('hq', 'dead', port)],
      concurrency: 1,
      budgetMs: 10_000,
    });
    const [o] = round.observations;
    expect(o).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    expect(o!.attempts.map((a) => a.outcome)).toEqual(['down', 'down']);
  });

  it('skips a check whose whole deadline no longer fits the budget rather than judging it half-run', async () => {
    const port = await pool.listen(createServer((_req, res) => res.end('ok')));
    const round = await runRound({
      ...defaults,
      checks: [httpCheck('hq', 'short', port, { timeoutMs: 500 }), httpCheck('hq', 'long', port, { timeoutMs: 5000 })],
      concurrency: 2,
      budgetMs: 2000,
    });
    expect(round.observations.map((o) => [o.check, o.outcome])).toEqual([['short', 'up']]);
    expect(round.skipped).toEqual([
      {
        site: 'hq',
        check: 'long',
        link: 'fiber',
        dependency: null,
        reason: 'round budget exhausted before the check could run',
      },
    ]);
    // The decider hears of the skip with the site's batch, and abstains on the check's path (see decide's tests).
    const [batch] = toSiteBatches(round);
    expect(batch!.skipped).toEqual([
      { check: 'long', link: 'fiber', dependency: null, reason: 'round budget exhausted before the check could run' },
    ]);
    expect(ObservationBatch.safeParse(batch).success).toBe(true);
  });

  it('sends a batch for a site whose every check was skipped, and none for skipped control checks', async () => {
    const port = await pool.listen(createServer((_req, res) => res.end('ok')));
    const round = await runRound({
      ...defaults,
      checks: [
        httpCheck('hq', 'short', port, { timeoutMs: 500 }),
        httpCheck('store', 'long', port, { timeoutMs: 5000 }),
        httpCheck(null, 'control-long', port, { timeoutMs: 5000 }),
      ],
      concurrency: 3,
      budgetMs: 2000,
    });
    expect(round.skipped.map((s) => s.check).sort()).toEqual(['control-long', 'long']);
    const batches = toSiteBatches(round);
    expect(batches.map((b) => [b.site, b.observations.length, b.skipped?.map((s) => s.check)])).toEqual([
      ['hq', 1, undefined],
      ['store', 0, ['long']],
    ]);
  });

  it('spreads starts over the jitter window', async () => {
    const port = await pool.listen(createServer((_req, res) => res.end('ok')));
    const values = [0, 0.5, 0.99];
    let i = 0;
    const round = await runRound({
      ...defaults,
      checks: values.map((_, n) => httpCheck('hq', `c${n}`, port)),
      concurrency: 3,
      jitterMs: 400,
      budgetMs: 10_000,
      random: () => values[i++ % values.length]!,
    });
    // Each check starts no sooner than its offset (a timer never fires early; 1 ms for the ISO times' rounding).
    const startedAt = Date.parse(round.startedAt);
    const offsets = Object.fromEntries(values.map((v, n) => [`c${n}`, Math.floor(v * 400)]));
    expect(round.observations).toHaveLength(3);
    for (const o of round.observations)
      expect(Date.parse(o.attempts[0]!.at) - startedAt).toBeGreaterThanOrEqual(offsets[o.check]! - 1);
  });

  it('judges the vantage from its control checks: impaired when most of them fail', async () => {
    const up = await pool.listen(createServer((_req, res) => res.end('ok')));
    const dead = await closedPort();
    const tcp = (id: string, port: number): PlannedCheck => ({
      ...httpCheck(null, id, port),
      probe: { kind: 'tcp', tcp: TcpSpec.parse({ host: '127.0.0.1', port }) },
    });
    const healthy = await runRound({
      ...defaults,
      checks: [tcp('k1', up), tcp('k2', up), tcp('k3', dead), httpCheck('hq', 'site', up)],
      concurrency: 4,
      budgetMs: 10_000,
    });
    expect(healthy.control).toMatchObject({ ok: true, passed: 2, total: 3 });
    expect(healthy.observations.map((o) => o.check)).toEqual(['site']);

    const impaired = await runRound({
      ...defaults,
      checks: [tcp('k1', up), tcp('k2', dead), tcp('k3', dead)],
      concurrency: 4,
      budgetMs: 10_000,
    });
    expect(impaired.control).toMatchObject({ ok: false, passed: 1, total: 3 });
    expect(impaired.control!.detail).toMatch(/vantage impaired: k\d \(connection refused/);
    expect(toSiteBatches(healthy)[0]!.control).toEqual({
      ok: true,
      passed: 2,
      total: 3,
      detail: '2/3 control checks passed',
    });
  });

  it('stops early when aborted, reporting unstarted checks as skipped', async () => {
    const port = await pool.listen(createServer((_req, res) => res.end('ok')));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const round = await runRound({
      ...defaults,
      checks: Array.from({ length: 5 }, (_, i) => httpCheck('hq', `c${i}`, port)),
      concurrency: 5,
      jitterMs: 5000,
      budgetMs: 20_000,
      signal: controller.signal,
      random: () => 0.9,
    });
    expect(round.observations).toHaveLength(0);
    expect(round.skipped.map((s) => s.reason)).toEqual(Array(5).fill('round aborted'));
  });

  describe('with hanging targets', () => {
    // The defaults' shape (5 s timeouts, a 2 s confirming delay, an 8 s budget: two timeouts do not fit) at 3 s,
    // 1.2 s and 5.8 s. The start window (1.6 s) and the confirming attempts' room are wide enough that a loaded
    // machine's event-loop lag delays the round without changing what it must conclude.
    const timeoutMs = 3000;
    const budgetMs = 5800;
    const hanging = (site: string, id: string, port: number) =>
      httpCheck(site, id, port, { timeoutMs, confirmRetryMs: 1200 });
    const budgetOf = (detail: string) => Number(/no answer within (\d+) ms/.exec(detail)?.[1]);

    it('starts every check in time to confirm a timeout, and confirms every timeout within a budget that fits', async () => {
      const healthy = await pool.listen(createServer((_req, res) => res.end('ok')));
      const silent = await pool.silent();
      // 10% hanging and fewer slots than hanging targets: slots held for a whole timeout would skip most checks.
      const checks = Array.from({ length: 100 }, (_, i) =>
        hanging(`site-${i % 10}`, `c${i}`, i % 10 === 3 ? silent : healthy),
      );
      const options = { ...defaults, checks, concurrency: 4, jitterMs: 300, budgetMs };
      const pace = paceRound(checks, options);
      expect(pace.startWindowMs).toBe(budgetMs - timeoutMs - 2 * confirmFloorMs(timeoutMs));
      const round = await runRound(options);

      expect(round.skipped).toEqual([]);
      expect(round.observations).toHaveLength(100);
      const startedAt = Date.parse(round.startedAt);
      const deadline = startedAt + budgetMs;
      // The plan aims to start every check within the start window, and leaves a confirming attempt's floor of room
      // beyond it (less the tail) for a slow event loop: a check started by then can still have a timeout confirmed.
      const latestStartMs = budgetMs - timeoutMs - confirmFloorMs(timeoutMs) - TAIL_MS;
      expect(latestStartMs - pace.startWindowMs).toBeGreaterThan(500);
      for (const o of round.observations) {
        const [first, second] = o.attempts.map((a) => ({ ...a, at: Date.parse(a.at) }));
        expect(first!.at - startedAt, `${o.check} started late`).toBeLessThanOrEqual(latestStartMs);
        if (o.check.endsWith('3')) {
          expect(o).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
          expect(o.attempts.map((a) => a.errorClass)).toEqual(['timeout', 'timeout']);
          // After a whole timeout the confirming attempt starts at once (no second wait of confirmRetryMs), with
          // what is left of the budget: at least its floor, less than a whole timeout, ending inside the budget.
          expect(second!.at - first!.at).toBeGreaterThanOrEqual(timeoutMs);
          expect(second!.at - first!.at).toBeLessThan(timeoutMs + 1200);
          const confirmMs = budgetOf(second!.detail);
          expect(confirmMs).toBeGreaterThanOrEqual(confirmFloorMs(timeoutMs));
          expect(confirmMs).toBeLessThan(timeoutMs);
          expect(second!.at + confirmMs).toBeLessThanOrEqual(deadline);
        } else {
          expect(o.outcome, `${o.check}: ${o.detail}`).toBe('up');
        }
      }
    });

    it('lets silent checks give their slot back but never opens more than maxOpen', async () => {
      const silent = await pool.silent();
      let open = 0;
      let peak = 0;
      // The real probe, counted as the runner sees it (a server sees a close only some time after the client).
      const counted: typeof runProbe = async (spec, ctx) => {
        peak = Math.max(peak, ++open);
        try {
          return await runProbe(spec, ctx);
        } finally {
          open--;
        }
      };
      const checks = Array.from({ length: 6 }, (_, i) => ({ ...httpCheck('hq', `c${i}`, silent), timeoutMs: 300 }));
      // A budget with little room to spare: the slot must turn over long before a silent peer's timeout.
      const round = await runRound({ ...defaults, checks, concurrency: 1, maxOpen: 3, budgetMs: 1500, probe: counted });
      expect(round.observations.length + round.skipped.length).toBe(6);
      expect(round.observations.length).toBeGreaterThan(1);
      expect(round.observations.every((o) => o.outcome === 'down')).toBe(true);
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(3);
    });

    it('reports as skipped the checks that a full socket cap kept from starting in time', async () => {
      const silent = await pool.silent();
      const checks = Array.from({ length: 10 }, (_, i) => ({ ...httpCheck('hq', `c${i}`, silent), timeoutMs: 500 }));
      const round = await runRound({ ...defaults, checks, concurrency: 1, maxOpen: 2, budgetMs: 1200 });
      expect(round.observations.length + round.skipped.length).toBe(10);
      expect(round.skipped.length).toBeGreaterThan(0);
      expect(round.skipped.every((s) => /budget/.test(s.reason))).toBe(true);
    });
  });
});
