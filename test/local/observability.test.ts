import { join } from 'node:path';
import { describe, expect, inject, it, vi } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { startLocalRuntime } from '../../local/runtime.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';
import { find, parsePrometheus } from '../support/prometheus.ts';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

/** The demo on free ports, in this process, with /metrics, /healthz and /readyz on its API port. */
async function demoRuntime(rounds?: number) {
  const demo = await demoConfigOnFreePorts();
  const stamp = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return startLocalRuntime({
    config: demo.config,
    clock: systemClock,
    ...(rounds !== undefined ? { rounds } : {}),
    onRound: () => undefined,
    onError: () => undefined,
    control: {
      dnsPort: 0,
      apiPort: 0,
      secretsDir: join(inject('scratchDir'), `observability-${stamp}`),
      notifier: new ConsoleNotifier({ jsonlPath: join(inject('scratchDir'), `alerts-${stamp}.jsonl`), out: () => {} }),
      onTransition: () => undefined,
      onDispatch: () => undefined,
    },
  });
}

describe('the local runtime: /metrics, /healthz, /readyz on the API port', () => {
  it('is ready, and its metrics have every check, round, decision, transition, action and outbox series', async () => {
    const runtime = await demoRuntime();
    const url = runtime.control!.api.url;
    const scrape = async () => {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ alive: true });
      await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 20_000 });

      await vi.waitFor(
        async () => {
          const { samples } = await scrape();
          for (const region of REGIONS) {
            expect(find(samples, 'failover_rounds_total', { region })[0]?.value).toBeGreaterThan(0);
            expect(
              find(samples, 'failover_check_up', {
                site: 'demo',
                check: 'portal-fiber',
                link: 'fiber',
                vantage: `region:${region}`,
              }),
            ).toMatchObject([{ value: 1 }]);
          }
          expect(find(samples, 'failover_decisions_total', { site: 'demo' }).length).toBeGreaterThan(0);
        },
        { timeout: 45_000, interval: 250 },
      );
      const first = await scrape();
      expect(first.types.get('failover_check_latency_seconds')).toBe('histogram');
      expect(
        find(first.samples, 'failover_check_latency_seconds_count', { check: 'portal-fiber' })[0]!.value,
      ).toBeGreaterThan(0);
      expect(find(first.samples, 'failover_outbox_depth', { site: 'demo' })).toHaveLength(1);
      expect(find(first.samples, 'process_cpu_seconds_total')).toHaveLength(1);
      expect(first.types.get('failover_rounds_late_total')).toBe('counter');
      expect(first.types.get('failover_round_checks_skipped_total')).toBe('counter');

      runtime.targets.find((t) => t.id === 'primary')!.setBroken(true);
      await vi.waitFor(
        async () => {
          const { samples } = await scrape();
          expect(find(samples, 'failover_transitions_total', { site: 'demo', kind: 'failover' })).toMatchObject([
            { value: 1 },
          ]);
          expect(
            find(samples, 'failover_decisions_total', { site: 'demo', outcome: 'transition' })[0]?.value,
          ).toBeGreaterThan(0);
          expect(
            find(samples, 'failover_actions_total', { site: 'demo', kind: 'dns', result: 'applied' })[0]?.value,
          ).toBeGreaterThan(0);
          expect(
            find(samples, 'failover_check_up', { check: 'portal-fiber', link: 'fiber', vantage: 'region:us-east-1' }),
          ).toMatchObject([{ value: 0 }]);
        },
        { timeout: 60_000, interval: 250 },
      );

      // The state store goes away: not ready, and the answer says which part.
      await runtime.control!.dynamo.close();
      await vi.waitFor(
        async () => {
          const res = await fetch(`${url}/readyz`);
          expect(res.status).toBe(503);
          const body = (await res.json()) as { ready: boolean; notReady: Record<string, string> };
          expect(body.ready).toBe(false);
          expect(Object.keys(body.notReady)).toEqual(['store']);
        },
        { timeout: 20_000, interval: 250 },
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await runtime.stop();
    }
  }, 180_000);

  it('is not ready once its probe workers have stopped (after --rounds)', async () => {
    const runtime = await demoRuntime(1);
    try {
      await runtime.done;
      const res = await fetch(`${runtime.control!.api.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        ready: false,
        notReady: { probeWorkers: `stopped: ${REGIONS.join(', ')}` },
      });
    } finally {
      await runtime.stop();
    }
  }, 60_000);
});
