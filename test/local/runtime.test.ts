import { describe, it } from 'vitest';
import { DemoTargetError } from '../../local/demo-targets.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import type { Observation } from '../../shared/contracts/observation.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';
import { bindUdp, isPortFree, listenTcp } from '../support/ports.ts';

/** Collects the rounds a runtime reports and lets a test wait for one that matches. */
class Rounds {
  readonly all: RoundResult[] = [];
  readonly #waiters = new Set<() => void>();

  readonly onRound = (round: RoundResult): void => {
    this.all.push(round);
    for (const w of this.#waiters) w();
  };

  /** The first round (already seen or to come) that started at or after `sinceMs`. */
  next(sinceMs: number, timeoutMs = 20_000): Promise<RoundResult> {
    return new Promise((resolve, reject) => {
      const find = () => this.all.find((r) => Date.parse(r.startedAt) >= sinceMs);
      const check = () => {
        const round = find();
        if (!round) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(round);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no round started after ${new Date(sinceMs).toISOString()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

const observation = (round: RoundResult, check: string): Observation => {
  const o = round.observations.find((x) => x.check === check);
  if (!o) throw new Error(`round ${round.vantage} ${round.roundId} has no observation of ${check}`);
  return o;
};

describe.concurrent('startLocalRuntime', () => {
  it('reports a broken primary down while the backup stays up, then up again once healed', async ({ expect }) => {
    const { config, ports } = await demoConfigOnFreePorts({ latencyBudgetMs: 10_000 });
    const rounds = new Rounds();
    const errors: unknown[] = [];
    const runtime: LocalRuntime = await startLocalRuntime({
      config,
      clock: systemClock,
      onRound: rounds.onRound,
      onError: (e) => errors.push(e),
    });
    try {
      expect(runtime.targets.map((t) => [t.id, t.port])).toEqual(Object.entries(ports));
      const primary = runtime.targets.find((t) => t.id === 'primary')!;

      const first = await rounds.next(0);
      expect(observation(first, 'portal-fiber').outcome).toBe('up');
      expect(observation(first, 'portal-lte').outcome).toBe('up');
      expect(first.control).toMatchObject({ ok: true });

      primary.setBroken(true);
      expect(primary.isBroken()).toBe(true);
      const broken = await rounds.next(Date.now());
      const fiber = observation(broken, 'portal-fiber');
      expect(fiber.outcome).toBe('down');
      expect(['connect', 'protocol', 'timeout']).toContain(fiber.errorClass);
      // Confirmed by a retry inside the round before it counts.
      expect(fiber.attempts.map((a) => a.outcome)).toEqual(['down', 'down']);
      expect(observation(broken, 'portal-lte').outcome).toBe('up');
      expect(broken.control).toMatchObject({ ok: true });

      primary.setBroken(false);
      const healed = await rounds.next(Date.now());
      expect(observation(healed, 'portal-fiber')).toMatchObject({ outcome: 'up', errorClass: null });
      expect(observation(healed, 'portal-lte').outcome).toBe('up');
      // The regions take turns: three rounds came from at least two different regions.
      expect(new Set([first, broken, healed].map((r) => r.vantage)).size).toBeGreaterThanOrEqual(2);
    } finally {
      await runtime.stop();
    }

    await expect(runtime.done).resolves.toBeUndefined();
    expect(errors).toEqual([]);
    await runtime.stop(); // idempotent
    const seen = rounds.all.length;
    // Closed: every port can be bound again, with the protocols its target used.
    expect(await isPortFree(ports.control!, { tcp: true })).toBe(true);
    expect(await isPortFree(ports.primary!, { tcp: true })).toBe(true);
    expect(await isPortFree(ports.backup!, { tcp: true })).toBe(true);
    expect(await isPortFree(ports.pbx!, { tcp: true, udp: true })).toBe(true);
    expect(await isPortFree(ports.voice!, { udp: true })).toBe(true);
    expect(rounds.all.length).toBe(seen);
  }, 60_000);

  it('counts the checks its rounds had to skip', async ({ expect }) => {
    const demo = await demoConfigOnFreePorts();
    // A budget shorter than the demo checks' timeouts: the runtime must skip those checks, not judge them half-run.
    const config = { ...demo.config, probing: { ...demo.config.probing, roundBudgetMs: 1000 } };
    const long = config.sites.flatMap((s) => s.checks).filter((c) => c.timeoutMs > 1000);
    expect(long.length).toBeGreaterThan(0);
    const rounds = new Rounds();
    const runtime = await startLocalRuntime({
      config,
      clock: systemClock,
      rounds: 1,
      onRound: rounds.onRound,
      onError: () => undefined,
    });
    try {
      await runtime.done;
    } finally {
      await runtime.stop();
    }
    expect(rounds.all).toHaveLength(config.regions.probe.length);
    const skipped = rounds.all.flatMap((r) => r.skipped);
    expect(skipped.length).toBeGreaterThanOrEqual(long.length);
    expect(runtime.counters).toEqual({ rounds: rounds.all.length, skippedChecks: skipped.length });
  }, 60_000);

  it.for([
    ['backup', 'http', 'tcp'],
    ['pbx', 'sip', 'udp'],
    ['voice', 'echo', 'udp'],
  ] as const)(
    'a taken %s port: rejects with DemoTargetError and closes the targets it had started',
    async ([id, kind, protocol], { expect }) => {
      const { config, ports } = await demoConfigOnFreePorts();
      const blocker = protocol === 'tcp' ? await listenTcp(ports[id]) : await bindUdp(ports[id]);
      try {
        const starting = startLocalRuntime({
          config,
          clock: systemClock,
          onRound: () => undefined,
          onError: () => undefined,
        });
        await expect(starting).rejects.toThrow(DemoTargetError);
        await expect(starting).rejects.toThrow(
          new RegExp(
            `demo target "${id}" \\(${kind}\\) cannot listen on 127\\.0\\.0\\.1:${ports[id]}: the port is in use`,
          ),
        );
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
      expect(await isPortFree(ports.control!, { tcp: true })).toBe(true);
      expect(await isPortFree(ports.primary!, { tcp: true })).toBe(true);
    },
  );
});
