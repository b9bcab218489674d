import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { writeDemoConfig } from '../support/demo-config.ts';
import { dig, digAvailable } from '../support/dig.ts';
import { freePort } from '../support/ports.ts';
import { fileLines, startRuntimeChild, until } from '../support/runtime-child.ts';

const hasDig = await digAvailable();

/** A directory of its own for one test, under the run's scratch directory. */
async function scratch(name: string): Promise<string> {
  const base = join(inject('scratchDir'), 'local-demo');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, `${name}-`));
}

/** The demo on free ports in `dir`, with `replace` applied to its text (e.g. a shorter hold-down). */
async function demoConfig(dir: string, replace: (text: string) => string = (t) => t): Promise<string> {
  const demo = await writeDemoConfig(dir);
  await writeFile(demo.file, replace(demo.text));
  return demo.file;
}

describe.skipIf(!hasDig && process.env.FAILOVER_REQUIRE_PEERS !== '1')('the demo, end to end', () => {
  it('break primary: DNS, agent and alert fail over; heal: back after the hold-down; the incident in the API', async () => {
    const dir = await scratch('e2e');
    const config = await demoConfig(dir, (t) => t.replace('holdDownSeconds: 30', 'holdDownSeconds: 10'));
    const dataDir = join(dir, 'data');
    const rt = await startRuntimeChild({ config, dataDir });
    try {
      const server = rt.ready.dns!;
      const answer = async () => (await dig(server, 'portal.example.com')).answers.map((a) => a.data).join(',');
      const switchLog = join(dataDir, 'demo-switches.log');
      const alerts = () => fileLines(join(dataDir, 'alerts.jsonl')).then((l) => l.map((x) => JSON.parse(x)));
      expect(rt.ready.agents).toEqual([{ site: 'demo', switchLog }]);
      expect(rt.ready.demoApiKeyFile).toBe(join(dataDir, 'demo-api-key'));
      expect((await stat(rt.ready.demoApiKeyFile!)).mode & 0o777).toBe(0o600);
      await rt.waitForEvent('the demo agent to connect', (e) => e.event === 'agent' && e.type === 'auth-accepted');
      expect(await answer()).toBe('203.0.113.10');

      const broke = await rt.demo('break', 'primary');
      expect(broke.code, broke.stderr).toBe(0);
      expect(broke.stdout).toMatch(/^broke primary: demo target primary \(http on 127\.0\.0\.1:\d+\) resets every/);
      expect(broke.stdout).toContain('faults in force: primary');

      const failover = await rt.waitForEvent('the failover', (e) => e.event === 'transition' && e.kind === 'failover');
      expect(failover).toMatchObject({ site: 'demo', fromLink: 'fiber', toLink: 'lte', to: 'BACKUP_ACTIVE' });
      await until('the backup in DNS', async () => ((await answer()) === '198.51.100.20' ? true : undefined));
      const ack = await rt.waitForEvent("the agent's ack", (e) => e.event === 'agent' && e.type === 'command-acked');
      expect(ack).toMatchObject({ site: 'demo', status: 'succeeded' });
      expect(await fileLines(switchLog)).toEqual([
        expect.stringMatching(/^switched to lte \(from fiber\) by command /),
      ]);
      await until('the failover alert', async () =>
        (await alerts()).some((a) => a.event === 'failover') ? true : undefined,
      );

      const healed = await rt.demo('heal', 'primary');
      expect(healed.code, healed.stderr).toBe(0);
      expect(healed.stdout).toMatch(
        /^healed primary: demo target primary \(http on 127\.0\.0\.1:\d+\) answers again\n/,
      );
      expect(healed.stdout).toContain('faults in force: none');

      await rt.waitForEvent('the failback', (e) => e.event === 'transition' && e.kind === 'failback', 75_000);
      await until('the primary in DNS', async () => ((await answer()) === '203.0.113.10' ? true : undefined));
      await until('the restore-wan switch', async () => ((await fileLines(switchLog)).length === 2 ? true : undefined));
      expect((await fileLines(switchLog))[1]).toMatch(/^switched to fiber \(from lte\) by command /);

      const incidents = await rt.api('/v1/incidents?site=demo');
      expect(incidents.status).toBe(200);
      const incident = incidents.body.items.find((i: { kind: string }) => i.kind === 'failover');
      expect(incident).toMatchObject({ site: 'demo', status: 'resolved', summary: expect.stringContaining('fiber') });
      const detail = await rt.api(`/v1/incidents/${incident.id}`);
      expect(detail.status).toBe(200);
      const kinds = detail.body.timeline.map((t: { kind: string }) => t.kind);
      expect(kinds[0]).toBe('failover');
      expect(kinds).toContain('failback');
      expect(detail.body.timeline[0].explanation.text).toMatch(/fiber \(primary\) DOWN/);
      const site = await rt.api('/v1/sites/demo');
      expect(site.body).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber' });
      // Exactly one failover and one failback: nothing applied twice.
      expect((await alerts()).filter((a) => a.event === 'failover')).toHaveLength(1);
      expect(rt.events().filter((e) => e.event === 'transition' && e.kind === 'failover')).toHaveLength(1);
    } finally {
      const r = await rt.stop();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const last = rt.events().at(-1);
      expect(last).toMatchObject({ event: 'runtime', message: 'failover local: stopped' });
    }
  }, 150_000);

  it('no runtime: `failover demo` says how to start one, exit 1', async () => {
    const dir = await scratch('none');
    const port = await freePort({ tcp: true });
    const r = await runCli(['demo', 'break', 'primary', '--api-port', String(port), '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`failover: cannot reach the local runtime on 127.0.0.1:${port}: start it with npm start\n`);
  });
});
