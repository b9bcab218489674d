import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { Transition } from '../../shared/domain/model.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { startLocalRuntime } from '../../local/runtime.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';
import { dig, digAvailable } from '../support/dig.ts';

const hasDig = await digAvailable();

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!hasDig && process.env.FAILOVER_REQUIRE_PEERS !== '1')('the local runtime fails over and back', () => {
  it('moves the DNS answer to the backup when the primary dies, alerts, and back after the hold-down', async () => {
    const demo = await demoConfigOnFreePorts();
    // A shorter hold-down than the demo's, so that the failback comes within the test.
    const { config } = parseConfig(demo.text.replace('holdDownSeconds: 30', 'holdDownSeconds: 10'));
    const alerts = join(inject('scratchDir'), `alerts-${Date.now()}.jsonl`);
    const transitions: Transition[] = [];
    const errors: unknown[] = [];
    const runtime = await startLocalRuntime({
      config: config!,
      clock: systemClock,
      onRound: () => undefined,
      onError: (e) => errors.push(e),
      control: {
        dnsPort: 0,
        apiPort: 0,
        secretsDir: join(inject('scratchDir'), `secrets-${Date.now()}`),
        notifier: new ConsoleNotifier({ jsonlPath: alerts, out: () => undefined }),
        onTransition: (t) => transitions.push(t),
        onDispatch: () => undefined,
      },
    });
    try {
      const server = runtime.control!.dns!;
      const answer = async () => (await dig(server, 'portal.example.com')).answers.map((a) => a.data);
      expect(await answer()).toEqual(['203.0.113.10']);

      runtime.targets.find((t) => t.id === 'primary')!.setBroken(true);
      await until('the failover', async () => transitions.find((t) => t.kind === 'failover'));
      await until('the backup address in DNS', async () =>
        (await answer())[0] === '198.51.100.20' ? true : undefined,
      );
      // The alert is a lane of its own beside DNS (docs/architecture.md): wait for its line, do not race it.
      const alertLines = async () =>
        (await readFile(alerts, 'utf8').catch(() => ''))
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { event: string });
      await until('the failover alert', async () =>
        (await alertLines()).some((l) => l.event === 'failover') ? true : undefined,
      );
      const lines = await alertLines();
      expect(lines.map((l) => l.event)).toContain('failover');

      runtime.targets.find((t) => t.id === 'primary')!.setBroken(false);
      await until('the failback', async () => transitions.find((t) => t.kind === 'failback'), 90_000);
      await until('the primary address in DNS', async () =>
        (await answer())[0] === '203.0.113.10' ? true : undefined,
      );
      expect(transitions.map((t) => t.kind)).toEqual(['failover', 'failback']);
      expect(errors).toEqual([]);
    } finally {
      await runtime.stop();
    }
  }, 180_000);
});
