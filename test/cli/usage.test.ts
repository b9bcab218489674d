import { describe, it } from 'vitest';
import { runCli, STACK_FRAME } from '../support/cli.ts';

describe.concurrent('failover usage', () => {
  it('--help: exit 0 and every command listed', async ({ expect }) => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['check', 'validate', 'schema', 'probe', 'echo-responder', 'local', 'simulate'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('an unknown command or a missing required option: exit 2, no stack trace', async ({ expect }) => {
    const [unknown, missing] = await Promise.all([runCli(['frobnicate']), runCli(['probe'])]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '-c, --config <file>' not specified/);
    for (const r of [unknown, missing]) expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
