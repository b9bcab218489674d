import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpSpec, TcpSpec } from '../../shared/config/checks.ts';
import type { PlannedCheck } from '../../shared/config/model.ts';
import { ObservationBatch } from '../../shared/contracts/observation.ts';
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

  it('never has more checks in flight than its concurrency', async () => {
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

  it('skips checks the budget cannot fit rather than judging them half-run', async () => {
    const port = await pool.listen(createServer((_req, res) => setTimeout(() => res.end('ok'), 300)));
    const checks = Array.from({ length: 4 }, (_, i) => httpCheck('hq', `c${i}`, port, { timeoutMs: 1000 }));
    const round = await runRound({ ...defaults, checks, concurrency: 1, budgetMs: 1700 });
    // One slot: each check holds it ~300 ms, and a check only starts when its whole 1 s deadline fits the budget.
    expect(round.observations.length).toBeGreaterThanOrEqual(1);
    expect(round.observations.length).toBeLessThan(4);
    expect(round.skipped.length).toBe(4 - round.observations.length);
    expect(round.skipped[0]!.reason).toMatch(/budget/);
    expect(round.observations.every((o) => o.outcome === 'up')).toBe(true);
  });

  it('spreads starts over the jitter window', async () => {
    const arrivals: number[] = [];
    const port = await pool.listen(
      createServer((_req, res) => {
        arrivals.push(performance.now());
        res.end('ok');
      }),
    );
    const values = [0, 0.5, 0.99];
    let i = 0;
    await runRound({
      ...defaults,
      checks: values.map((_, n) => httpCheck('hq', `c${n}`, port)),
      concurrency: 3,
      jitterMs: 400,
      budgetMs: 10_000,
      random: () => values[i++ % values.length]!,
    });
    arrivals.sort((a, b) => a - b);
    expect(arrivals[2]! - arrivals[0]!).toBeGreaterThanOrEqual(350);
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
});
