import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { LinkHealth, decideAutonomy, testLink } from '../../shared/agent/autonomy.ts';
import { Backoff } from '../../shared/agent/backoff.ts';
import { Check, probeSpecOf } from '../../shared/config/checks.ts';
import type { PlannedCheck } from '../../shared/config/model.ts';
import { ServerPool, closedPort } from '../support/probe-servers.ts';

const pool = new ServerPool();
afterAll(() => pool.closeAll());

const LINKS = ['fiber', 'lte', 'dsl'];

/** Intervals per link as a string: `x` failed, `o` passed; all links advance together. */
function run(history: Record<string, string>, thresholds = { down: 3, up: 2 }): LinkHealth {
  const health = new LinkHealth(LINKS, thresholds);
  const length = Math.max(...Object.values(history).map((h) => h.length));
  for (let i = 0; i < length; i++)
    for (const [link, h] of Object.entries(history)) if (h[i]) health.record(link, h[i] === 'o');
  return health;
}

describe('local autonomy decisions (mwan3-like thresholds)', () => {
  it.each([
    ['active still up', { fiber: 'ooo', lte: 'ooo' }, { kind: 'stay' }],
    ['active failed twice: not yet down', { fiber: 'oxx', lte: 'ooo' }, { kind: 'stay' }],
    ['active down, backup up', { fiber: 'xxx', lte: 'ooo' }, { kind: 'switch', to: 'lte' }],
    ['a failure run broken by a success', { fiber: 'xxoxx', lte: 'ooooo' }, { kind: 'stay' }],
    ['backup passed once only', { fiber: 'xxx', lte: 'xxo' }, { kind: 'stuck' }],
    ['backup down as well', { fiber: 'xxx', lte: 'xxx' }, { kind: 'stuck' }],
    ['the first link that is up, in order', { fiber: 'xxx', lte: 'xxx', dsl: 'ooo' }, { kind: 'switch', to: 'dsl' }],
    ['a down link comes back after `up` passes', { fiber: 'xxxoo', lte: 'ooooo' }, { kind: 'stay' }],
  ] as const)('%s', (_name, history, expected) => {
    expect(decideAutonomy(run(history), 'fiber', LINKS)).toMatchObject(expected);
  });

  it('explains a switch with the counters', () => {
    const decision = decideAutonomy(run({ fiber: 'xxxx', lte: 'oooo' }), 'fiber', LINKS);
    expect(decision).toEqual({
      kind: 'switch',
      to: 'lte',
      reason: 'control plane unreachable; active link fiber failed 4 interval(s) in a row, lte passed 4',
    });
  });

  it('forgets a link after a switch attempt and everything on reset', () => {
    const health = run({ fiber: 'xxx', lte: 'ooo' });
    health.forget('fiber');
    expect(health.verdict('fiber')).toBe('unknown');
    expect(health.verdict('lte')).toBe('up');
    health.reset();
    expect(health.verdict('lte')).toBe('unknown');
  });

  it('a link passes an interval when `reliability` targets answer within `count` tries', async () => {
    // `flaky` answers 503 twice, then 200; `dead` is a closed port.
    let requests = 0;
    const flakyPort = await pool.listen(
      createServer((req, res) => {
        requests++;
        res.statusCode = requests % 3 === 0 ? 200 : 503;
        res.end();
      }),
    );
    const target = (id: string, check: Record<string, unknown>): PlannedCheck => {
      const c = Check.parse({ id, timeoutMs: 1000, ...check });
      return {
        site: 'hq',
        id,
        name: undefined,
        link: null,
        dependency: null,
        timeoutMs: 1000,
        confirmRetryMs: 0,
        probe: probeSpecOf(c),
      };
    };
    const flaky = target('flaky', { http: { url: `http://127.0.0.1:${flakyPort}/` } });
    const dead = target('dead', { tcp: { host: '127.0.0.1', port: await closedPort() } });
    const base = { targets: [flaky, dead], localAddress: '127.0.0.2' };
    const passed = await testLink({ ...base, count: 3, reliability: 1 });
    expect(passed.passed).toBe(true);
    expect(passed.detail).toMatch(/^1\/2 target\(s\) answered; failed: dead \(.*refused.*\)$/i);
    requests = 0;
    expect((await testLink({ ...base, count: 2, reliability: 1 })).passed).toBe(false);
    requests = 0;
    expect((await testLink({ ...base, count: 3, reliability: 2 })).passed).toBe(false);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially to the cap, with full jitter above the minimum', () => {
    const max = new Backoff(1000, 60_000, () => 1);
    expect(Array.from({ length: 9 }, () => max.next())).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
    const min = new Backoff(1000, 60_000, () => 0);
    expect(Array.from({ length: 5 }, () => min.next())).toEqual([1000, 1000, 1000, 1000, 1000]);
    const half = new Backoff(1000, 60_000, () => 0.5);
    half.next();
    half.next();
    expect(half.next()).toBe(2500);
    half.reset();
    expect(half.attempts).toBe(0);
    expect(half.next()).toBe(1000);
  });
});
