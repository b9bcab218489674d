import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { apiTestConfig, startApiHarness, type ApiHarness } from '../support/api.ts';
import { runCli } from '../support/cli.ts';

// `failover brake status|release` in child processes against the real API on loopback (dynalite, real decisions).
let api: ApiHarness;
const alerts: string[] = [];

beforeAll(async () => {
  const config = apiTestConfig(
    ['a', 'b', 'c', 'd', 'e'],
    '',
    'brake: { maxShare: 0.2, minSites: 2, windowSeconds: 900 }',
  );
  api = await startApiHarness({
    config,
    notifier: new ConsoleNotifier({ out: (line) => alerts.push(line), color: false }),
  });
});
afterAll(() => api?.close());

const cli = (args: string[], key: string | undefined = api.keys.write) =>
  runCli(['brake', ...args, '--api', api.url], { env: { FAILOVER_API_KEY: key }, timeoutMs: 60_000 });

async function primaryDown(site: string) {
  for (const outcome of ['up', 'up', 'down', 'down'] as const) await api.observe(site, outcome);
}

describe('failover brake', () => {
  it('says why it cannot run: no key (2), a read key releasing (1), nothing engaged (1)', async () => {
    const none = await cli(['status'], '');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no API key: set FAILOVER_API_KEY or pass --key-file');
    const read = await cli(['release', '--reason', 'x'], api.keys.read);
    expect(read.code).toBe(1);
    expect(read.stderr).toContain('a read key cannot release');
    const idle = await cli(['release', '--reason', 'nothing to see']);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toContain('nothing released: the mass-failover brake is not engaged');
    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('brake: not engaged');
  }, 120_000);

  it('shows an engagement, and of two releases at once one releases (exit 0) and one finds nothing (exit 1)', async () => {
    for (const site of ['a', 'b', 'c']) await primaryDown(site);
    const status = await cli(['status']);
    expect(status.stdout).toMatch(/^brake: ENGAGED since \S+ \(brake-\S+, announced by c\)/);
    expect(status.stdout).toContain('2 of 5 sites failed over in the last 15 min (limit 2)');

    const [one, two] = await Promise.all([
      cli(['release', '--reason', 'probe region fixed']),
      cli(['release', '--reason', 'probe region fixed']),
    ]);
    expect([one.code, two.code].sort()).toEqual([0, 1]);
    const won = one.code === 0 ? one : two;
    expect(won.stdout).toContain('alert: sent');
    expect(alerts.filter((l) => l.includes('[BRAKE RELEASED]'))).toHaveLength(1);

    const after = await cli(['status', '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({
      engaged: false,
      released: true,
      release: { by: 'ops-alice', reason: 'probe region fixed' },
    });
  }, 120_000);
});
