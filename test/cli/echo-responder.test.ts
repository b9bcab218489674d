import { describe, it } from 'vitest';
import { runCli, startCli } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';

describe('failover echo-responder', () => {
  it('answers a voip probe and stops on SIGTERM with its stats', async ({ expect }) => {
    const port = await freePort({ udp: true });
    const responder = startCli(['echo-responder', '--port', String(port), '--host', '127.0.0.1']);
    try {
      await responder.waitFor(`echo responder listening on udp 127.0.0.1:${port}`);
      const check = await runCli(['check', '--json', `voip://127.0.0.1:${port}`]);
      const result = JSON.parse(check.stdout) as Record<string, unknown>;
      expect(result).toMatchObject({ kind: 'voip', mos: expect.any(Number), lossPct: 0 });
      expect(result.outcome).not.toBe('down');
    } finally {
      responder.child.kill('SIGTERM');
    }
    const r = await responder.exited;
    expect(r.code, r.stderr).toBe(0);
    const stats = /echo responder stopped: (\d+) received, (\d+) echoed, (\d+) dropped/.exec(r.stdout);
    expect(stats, r.stdout).not.toBeNull();
    const [received, echoed, dropped] = stats!.slice(1).map(Number);
    expect(received).toBeGreaterThanOrEqual(50);
    expect(echoed).toBe(received);
    expect(dropped).toBe(0);
  });

  it('a bad --port: exit 2', async ({ expect }) => {
    const r = await runCli(['echo-responder', '--port', '70000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected a port number/);
  });
});
