import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { writeDemoConfig } from '../support/demo-config.ts';
import { dig, digAvailable } from '../support/dig.ts';
import { fileLines, startRuntimeChild, until, type RuntimeChild } from '../support/runtime-child.ts';

const hasDig = await digAvailable();
const run = promisify(execFile);

/** Waits `ms` and checks that the child is still running (stuck, as intended), not exited. */
async function stillRunning(rt: RuntimeChild, ms: number): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return rt.cli.child.exitCode === null && rt.cli.child.signalCode === null;
}

describe.skipIf(!hasDig && process.env.FAILOVER_REQUIRE_PEERS !== '1')('restart safety', () => {
  it('killed mid-failover (a forced exit, then kill -9): after restart every action is done exactly once', async () => {
    const base = join(inject('scratchDir'), 'local-restart');
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, 'run-'));
    const demo = await writeDemoConfig(dir);
    // No failback within the test: each action of the failover must happen once, and only those.
    await writeFile(demo.file, demo.text.replace('holdDownSeconds: 30', 'holdDownSeconds: 3600'));
    const dataDir = join(dir, 'data');
    const switchLog = join(dataDir, 'demo-switches.log');
    // Nobody ever reads this FIFO: opening it to append an alert blocks, so the alert lane hangs mid-failover.
    const fifo = join(dir, 'alerts.fifo');
    await run('mkfifo', [fifo]);
    const alertsFile = join(dir, 'alerts.jsonl');

    // 1. The failover starts; DNS and the agent's switch are done, the alert hangs.
    const first = await startRuntimeChild({ config: demo.file, dataDir, extraArgs: ['--alerts', fifo] });
    const answer = async (rt: RuntimeChild) =>
      (await dig(rt.ready.dns!, 'portal.example.com')).answers.map((a) => a.data).join(',');
    try {
      await first.waitForEvent('the agent', (e) => e.event === 'agent' && e.type === 'auth-accepted');
      expect((await first.demo('break', 'primary')).code).toBe(0);
      await first.waitForEvent('the failover', (e) => e.event === 'transition' && e.kind === 'failover');
      await until('the backup in DNS', async () => ((await answer(first)) === '198.51.100.20' ? true : undefined));
      await first.waitForEvent('the ack', (e) => e.event === 'agent' && e.type === 'command-acked');
      await first.waitForEvent('the alert, printed before it is recorded', (e) => e.event === 'alert');
      expect(await fileLines(switchLog)).toHaveLength(1);

      // A graceful stop waits for the alert lane, which never finishes; a second SIGINT exits at once.
      first.cli.child.kill('SIGINT');
      await first.waitForEvent('stopping', (e) => e.event === 'runtime' && /SIGINT: stopping/.test(String(e.message)));
      expect(await stillRunning(first, 1500)).toBe(true);
      first.cli.child.kill('SIGINT');
      const forced = await first.cli.exited;
      expect(forced.signal).toBe('SIGINT');
      expect(first.events().some((e) => /SIGINT again: exiting now/.test(String(e.message)))).toBe(true);
    } finally {
      if (first.cli.child.exitCode === null && first.cli.child.signalCode === null) first.cli.child.kill('SIGKILL');
      await first.cli.exited.catch(() => undefined);
    }

    // 2. Restarted: the pending alert is dispatched again and hangs again; this time kill -9.
    const second = await startRuntimeChild({ config: demo.file, dataDir, extraArgs: ['--alerts', fifo] });
    try {
      // The outage goes on: the new process's demo targets start healthy.
      expect((await second.demo('break', 'primary')).code).toBe(0);
      expect(await answer(second)).toBe('198.51.100.20');
      await second.waitForEvent('the pending alert, sent again', (e) => e.event === 'alert');
      second.cli.child.kill('SIGKILL');
      expect((await second.cli.exited).signal).toBe('SIGKILL');
    } finally {
      if (second.cli.child.exitCode === null && second.cli.child.signalCode === null) second.cli.child.kill('SIGKILL');
      await second.cli.exited.catch(() => undefined);
    }

    // 3. Restarted with a file that takes alerts: the alert is recorded once, nothing else runs again.
    const third = await startRuntimeChild({ config: demo.file, dataDir, extraArgs: ['--alerts', alertsFile] });
    try {
      expect((await third.demo('break', 'primary')).code).toBe(0);
      expect(await answer(third)).toBe('198.51.100.20');
      await until('the alert in the file', async () => ((await fileLines(alertsFile)).length > 0 ? true : undefined));
      await third.waitForEvent('the agent', (e) => e.event === 'agent' && e.type === 'auth-accepted');
      // A round from every region after the restart: time for anything left to run twice.
      const since = Date.now();
      for (const region of ['us-east-1', 'us-west-2', 'eu-west-1'])
        await third.waitForEvent(
          `a round of ${region}`,
          (e) => e.event === 'round' && e.vantage === `region:${region}` && Date.parse(String(e.startedAt)) > since,
          30_000,
        );
      await until('an empty outbox', async () => {
        const site = await third.api('/v1/sites/demo');
        return site.body.pendingActions === 0 ? site.body : undefined;
      });
      const alerts = (await fileLines(alertsFile)).map((l) => JSON.parse(l) as { event: string; dedupKey: string });
      expect(alerts.map((a) => [a.event, a.dedupKey])).toEqual([['failover', 'demo:1']]);
      expect(await fileLines(switchLog)).toEqual([
        expect.stringMatching(/^switched to lte \(from fiber\) by command /),
      ]);
      expect(await answer(third)).toBe('198.51.100.20');
      const site = await third.api('/v1/sites/demo');
      expect(site.body).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte', pendingActions: 0 });
      // Nothing decided twice: the restarted runtimes made no transition of their own.
      expect(third.events().filter((e) => e.event === 'transition')).toEqual([]);
      expect(third.events().filter((e) => e.event === 'agent' && e.type === 'command-acked')).toEqual([]);
    } finally {
      const r = await third.stop();
      expect(r.code, r.stderr).toBe(0);
    }
  }, 150_000);
});
