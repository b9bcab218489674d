import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ActionConfig } from '../../shared/agent/config.ts';
import { OUTPUT_LIMIT, describeCommandLine, runAction, substituteArgs } from '../../shared/agent/executor.ts';

async function script(body: string): Promise<{ path: string; dir: string }> {
  const base = join(inject('scratchDir'), 'executor');
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'x-'));
  const path = join(dir, 'action');
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return { path, dir };
}

const action = (command: string, extra: Record<string, unknown> = {}) => ActionConfig.parse({ command, ...extra });

describe('action executor', () => {
  it('substitutes placeholders as whole argv values, never through a shell', () => {
    const vars = { link: 'lte', fromLink: 'fiber', commandId: 'c1', gateway: '100.64.0.1' };
    expect(substituteArgs(['{link}', 'via={gateway}', '$(reboot) {fromLink}'], vars)).toEqual({
      argv: ['lte', 'via=100.64.0.1', '$(reboot) fiber'],
    });
    expect(substituteArgs(['{link}', '{interface}'], vars)).toEqual({ missing: 'interface' });
    expect(describeCommandLine('/sbin/ip', ['route', 'a b'])).toBe('/sbin/ip route "a b"');
  });

  it('captures stdout and stderr and the exit status', async () => {
    const { path } = await script('echo "to $1"; echo oops >&2; echo "$FAILOVER_LINK"');
    const ok = await runAction(action(path), ['lte'], { dryRun: false, env: { FAILOVER_LINK: 'lte' } });
    expect(ok).toMatchObject({ status: 'succeeded', exitCode: 0, dryRun: false });
    expect(ok.output.split('\n').sort()).toEqual(['', 'lte', 'oops', 'to lte']);
    expect(Date.parse(ok.finishedAt)).toBeGreaterThanOrEqual(Date.parse(ok.startedAt));

    const { path: failing } = await script('echo "no route"; exit 7');
    expect(await runAction(action(failing), [], { dryRun: false })).toMatchObject({
      status: 'failed',
      exitCode: 7,
      output: 'no route\n',
    });
  });

  it('passes arguments with spaces and shell characters literally', async () => {
    const { path, dir } = await script('printf "%s|" "$@" > "$OUT"');
    const out = join(dir, 'args');
    await runAction(action(path, { env: { OUT: out } }), ['a b', '$(touch x)', ';'], { dryRun: false });
    expect(await readFile(out, 'utf8')).toBe('a b|$(touch x)|;|');
  });

  it('keeps the last 4 KiB of output', async () => {
    const { path } = await script('i=0; while [ $i -lt 300 ]; do echo "line $i of a long output"; i=$((i+1)); done');
    const result = await runAction(action(path), [], { dryRun: false });
    expect(result.output.length).toBeLessThanOrEqual(OUTPUT_LIMIT);
    expect(result.output.length).toBeGreaterThan(OUTPUT_LIMIT - 30);
    expect(result.output.endsWith('line 299 of a long output\n')).toBe(true);
  });

  it('sends SIGTERM to the whole process group at the timeout, then SIGKILL', async () => {
    const { path: stubborn } = await script('trap "" TERM\necho started\nsleep 30 & wait');
    const started = Date.now();
    const result = await runAction(action(stubborn, { timeoutSeconds: 0.2 }), [], { dryRun: false, killGraceMs: 200 });
    expect(result).toMatchObject({ status: 'failed', exitCode: null });
    expect(result.output).toMatch(/^started\n\n\[timed out after 0.2 s: sent SIGTERM, then SIGKILL\]$/);
    expect(Date.now() - started).toBeLessThan(5000); // the backgrounded sleep did not hold the pipes open

    const { path: polite } = await script('sleep 30');
    expect((await runAction(action(polite, { timeoutSeconds: 0.2 }), [], { dryRun: false })).output).toMatch(
      /timed out after 0.2 s: sent SIGTERM\]$/,
    );
  });

  it('reports a program that cannot start as failed, with the reason', async () => {
    const result = await runAction(action('/nonexistent/switch-wan'), ['lte'], { dryRun: false });
    expect(result).toMatchObject({ status: 'failed', exitCode: null });
    expect(result.output).toBe('cannot run /nonexistent/switch-wan lte: ENOENT');
  });

  it('in dry run, runs nothing and says what it would have run', async () => {
    const { path, dir } = await script('touch "$1"');
    const marker = join(dir, 'ran');
    const result = await runAction(action(path, { timeoutSeconds: 9 }), [marker], { dryRun: true });
    expect(result).toMatchObject({ status: 'succeeded', dryRun: true, exitCode: null });
    expect(result.output).toBe(`dry run: would run ${path} ${marker} (timeout 9 s)`);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });
});
