import type { Server } from 'node:net';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, inject, it } from 'vitest';
import { runCli, STACK_FRAME } from '../support/cli.ts';
import { writeDemoConfig } from '../support/demo-config.ts';
import { freePort, isPortFree, listenTcp } from '../support/ports.ts';

async function scratch(): Promise<string> {
  const base = join(inject('scratchDir'), 'local-ports');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, 'run-'));
}

describe.concurrent('a port that is taken', () => {
  it.for([
    ['DNS', '--dns-port'],
    ['API', '--api-port'],
  ] as const)(
    '%s: exit 2, naming the option to change, nothing left listening',
    async ([label, option], { expect }) => {
      const dir = await scratch();
      const demo = await writeDemoConfig(dir);
      const port = await freePort();
      const blocker: Server = await listenTcp(port);
      try {
        const other = option === '--dns-port' ? ['--api-port', '0'] : ['--dns-port', '0'];
        const args = ['local', '--config', demo.file, option, String(port), ...other, '--data-dir', join(dir, 'd')];
        const r = await runCli(args, { timeoutMs: 40_000 });
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(
          `failover: ${label} port ${port} is in use (is another \`failover local\` running?); stop it or pass ${option} N (0 picks a free port)\n`,
        );
        expect(r.stderr).not.toMatch(STACK_FRAME);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
      // The demo targets it had started are closed again.
      expect(await isPortFree(demo.ports.primary!, { tcp: true })).toBe(true);
    },
  );

  it('a demo target: exit 2, naming the setting in the configuration file', async ({ expect }) => {
    const dir = await scratch();
    const demo = await writeDemoConfig(dir);
    const blocker = await listenTcp(demo.ports.backup);
    try {
      const args = ['local', '--config', demo.file, '--dns-port', '0', '--api-port', '0', '--data-dir', join(dir, 'd')];
      const r = await runCli(args, { timeoutMs: 40_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `cannot listen on 127.0.0.1:${demo.ports.backup}: the port is in use (is another \`failover local\` running?); stop it or change local.demoTargets[2].port in ${demo.file} (and the checks aimed at it)`,
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
