import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, STACK_FRAME } from '../support/cli.ts';
import { writeDemoConfig } from '../support/demo-config.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'failover-secrets-'));
  dirs.push(dir);
  return dir;
}

/** `failover local` on the demo, on free ports, with its state and secrets in `dataDir`. */
function local(file: string, dataDir: string) {
  const args = ['local', '-c', file, '--rounds', '1', '--json-logs', '--dns-port', '0', '--api-port', '0'];
  return runCli([...args, '--data-dir', dataDir], { timeoutMs: 60_000 });
}

/** Every folder and file under `dir` (itself included) with its permission bits. */
async function modes(dir: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const out = [{ path: dir, dir: true, mode: (await stat(dir)).mode & 0o777 }];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isDirectory() || entry.isFile())
      out.push({ path, dir: entry.isDirectory(), mode: (await stat(path)).mode & 0o777 });
  }
  return out;
}

const refusal = (what: string, file: string, mode: string) =>
  `${what} ${file} is accessible by group or others (mode ${mode}); run \`chmod 600 ${file}\``;

describe('secret files and the data directory of failover local', () => {
  it('makes a new --data-dir 0700 with every file in it 0600, then refuses each secret file others may read, at start', async () => {
    const base = await scratch();
    const { file } = await writeDemoConfig(base);
    const data = join(base, 'data');

    const first = await local(file, data);
    expect(first.code, first.stderr).toBe(0);
    const made = await modes(data);
    const names = made.map((m) => m.path.slice(data.length + 1));
    // The secrets, dynalite's LevelDB files and the demo agent's state are all there.
    for (const name of ['api-key-pepper', 'agent-signing-key.pem', 'agent-challenge-secret', 'demo-api-key', 'CURRENT'])
      expect(names).toContain(name);
    expect(names.some((n) => /^MANIFEST-/.test(n))).toBe(true);
    expect(names).toContain('demo-agent/demo');
    for (const m of made)
      expect({ path: m.path, mode: m.mode.toString(8) }).toEqual({ path: m.path, mode: m.dir ? '700' : '600' });

    // One secret file readable by others: the start is refused with its name and the chmod that fixes it.
    const pepper = join(data, 'api-key-pepper');
    await chmod(pepper, 0o644);
    const before = await readFile(join(data, 'demo-api-key'), 'utf8');
    const one = await local(file, data);
    expect(one.code).toBe(2);
    expect(one.stderr.trim()).toBe(`failover: ${refusal('the API key pepper', pepper, '0644')}`);
    expect(one.stdout).not.toContain('"ready"');

    // Each of them, and every one named in the same message.
    const webhookKeys = join(data, 'webhook-keys');
    await writeFile(webhookKeys, 'x'.repeat(40), { mode: 0o640 });
    await chmod(webhookKeys, 0o640);
    for (const name of ['agent-signing-key.pem', 'agent-challenge-secret', 'demo-api-key'])
      await chmod(join(data, name), 0o604);
    const all = await local(file, data);
    expect(all.code).toBe(2);
    expect(all.stderr).toContain('5 secret files are not private:');
    expect(all.stderr).toContain(refusal('the API key pepper', pepper, '0644'));
    expect(all.stderr).toContain(refusal('the command signing key', join(data, 'agent-signing-key.pem'), '0604'));
    expect(all.stderr).toContain(refusal('the agent challenge secret', join(data, 'agent-challenge-secret'), '0604'));
    expect(all.stderr).toContain(refusal('the webhook key ring', webhookKeys, '0640'));
    expect(all.stderr).toContain(refusal('the demo API key', join(data, 'demo-api-key'), '0604'));
    expect(one.stderr + all.stderr).not.toMatch(STACK_FRAME);
    // Refused, not repaired: the modes and the key are as they were.
    expect((await stat(pepper)).mode & 0o777).toBe(0o644);
    expect(await readFile(join(data, 'demo-api-key'), 'utf8')).toBe(before);

    // The API key commands read the same pepper and refuse it the same way.
    const create = await runCli(['api-key', 'create', '--name', 'ops', '--scope', 'read', '--data-dir', data]);
    expect(create.code).toBe(2);
    expect(create.stderr.trim()).toBe(`failover: ${refusal('the API key pepper', pepper, '0644')}`);
    expect(create.stdout).toBe('');
  });

  it('refuses an existing --data-dir that group or others may enter, with the chmod that fixes it', async () => {
    const base = await scratch();
    const { file } = await writeDemoConfig(base);
    const data = join(base, 'shared');
    await mkdir(data);
    await chmod(data, 0o755);
    const r = await local(file, data);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `failover: the data directory ${data} is accessible by group or others (mode 0755); run \`chmod 700 ${data}\``,
    );
    expect((await stat(data)).mode & 0o777).toBe(0o755);
    expect(await readdir(data)).toEqual([]);
  });
});
