import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli, STACK_FRAME } from '../support/cli.ts';
import { writeDemoConfig } from '../support/demo-config.ts';
import { startRuntimeChild } from '../support/runtime-child.ts';

/** A directory of its own for one test, under the run's scratch directory. */
async function scratch(name: string): Promise<string> {
  const base = join(inject('scratchDir'), 'local-demo');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, `${name}-`));
}

describe('demo faults through the running runtime', () => {
  it('faults: keys required, unknown faults listed, regions cut off abstain, voice loss lowers the MOS', async () => {
    const dir = await scratch('faults');
    const dataDir = join(dir, 'data');
    const rt = await startRuntimeChild({ config: (await writeDemoConfig(dir)).file, dataDir });
    try {
      const unknown = await rt.demo('break', 'nope');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(
        /unknown fault "nope": expected one of control, primary, backup, pbx, voice, region:us-east-1, region:us-west-2, region:eu-west-1, voip-loss:PCT/,
      );
      expect(unknown.stderr).not.toMatch(STACK_FRAME);

      // Like every route: no key, 401; the demo key (write) may.
      const anonymous = await fetch(`${rt.ready.api}/v1/demo/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fault: 'primary' }),
      });
      expect(anonymous.status).toBe(401);
      const created = await runCli(['api-key', 'create', '--name', 'viewer', '--scope', 'read', '--data-dir', dataDir]);
      expect(created.code, created.stderr).toBe(0);
      const reader = await fetch(`${rt.ready.api}/v1/demo/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${created.stdout.trim()}` },
        body: JSON.stringify({ fault: 'primary' }),
      });
      expect(reader.status).toBe(403);
      expect(await reader.json()).toMatchObject({ code: 'insufficient-scope' });
      expect((await rt.api('/v1/demo/faults')).body.active).toEqual([]);

      const cut = await rt.demo('break', 'region:eu-west-1');
      expect(cut.code, cut.stderr).toBe(0);
      const loss = await rt.demo('break', 'voip-loss:30', '--json');
      expect(JSON.parse(loss.stdout).active.map((f: { fault: string }) => f.fault)).toEqual([
        'region:eu-west-1',
        'voip-loss:30',
      ]);
      const after = Date.now();
      const impaired = await rt.waitForEvent(
        'a round of the cut-off region',
        (e) => e.event === 'round' && e.vantage === 'region:eu-west-1' && Date.parse(String(e.startedAt)) > after,
        30_000,
      );
      expect(impaired.control).toMatchObject({ ok: false });
      const voice = await rt.waitForEvent(
        'a voice observation with loss',
        (e) =>
          e.event === 'observation' &&
          e.check === 'voice-fiber' &&
          e.vantage !== 'region:eu-west-1' &&
          Date.parse(String(e.at)) > after,
        30_000,
      );
      expect((voice.fields as { lossPct: number }).lossPct).toBeGreaterThan(0);
      expect((voice.fields as { mos: number }).mos).toBeLessThan(4.3);

      // The other two regions still make the quorum: the primary fails over without eu-west-1.
      await rt.demo('break', 'primary');
      const failover = await rt.waitForEvent(
        'the failover',
        (e) => e.event === 'transition' && e.kind === 'failover',
        60_000,
      );
      const fiber = (
        failover.explanation as { paths: { path: string; votes: { vantage: string; vote: string }[] }[] }
      ).paths.find((p) => p.path === 'fiber')!;
      const votes = Object.fromEntries(fiber.votes.map((v) => [v.vantage, v.vote]));
      expect(votes).toEqual({ 'region:us-east-1': 'down', 'region:us-west-2': 'down', 'region:eu-west-1': 'abstain' });
      const all = await rt.demo('heal', 'all');
      expect(all.stdout).toContain('faults in force: none');
      expect((await rt.api('/v1/demo/faults')).body.active).toEqual([]);
    } finally {
      await rt.stop();
    }
  }, 120_000);
});
