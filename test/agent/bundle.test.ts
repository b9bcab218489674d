import { createPublicKey } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../scripts/build-agent.ts';
import { privateKeyFromPem, rawPublicKey } from '../../shared/contracts/agent-signing.ts';
import { installBundle, runBundle, type InstallRoot } from '../support/agent-bundle.ts';
import { REPO_ROOT, STACK_FRAME } from '../support/cli.ts';

/** The single-file agent (dist/failover-agent.mjs), built from the sources and run from a folder of its own. */

let box: InstallRoot;
beforeAll(async () => {
  box = await installBundle('bundle');
});
afterAll(() => box?.remove());

const isRoot = process.getuid?.() === 0;

describe('the agent bundle', () => {
  it('is the same bytes from the same sources, names its packages, and loads nothing but Node built-ins', async () => {
    const again = await buildAgent(join(box.root, 'again', 'failover-agent.mjs'));
    expect(again.sha256).toBe(box.bundle.sha256);
    const text = await readFile(box.bundle.installed, 'utf8');
    expect(text).not.toContain(REPO_ROOT);
    expect(text).not.toContain(box.root);
    expect(box.bundle.runtimeImports.length).toBeGreaterThan(0);
    for (const path of box.bundle.runtimeImports) expect(isBuiltin(path), path).toBe(true);
    expect(box.bundle.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['commander', 'ws', 'yaml', 'zod']));
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(text.split('\n').slice(0, 3).join('\n')).toMatch(
      new RegExp(`^#!/usr/bin/env node\\n// failover-agent ${pkg.version}: .*\\n// Bundled packages: .*ws \\d`),
    );
  });

  it('runs from an empty folder: --version, --help with run and keygen; an older Node.js is refused', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const [version, help, runHelp, old] = await Promise.all([
      runBundle(box, ['--version']),
      runBundle(box, ['--help']),
      runBundle(box, ['run', '--help']),
      // Node 18 is not on this machine: the bundle's first lines are shown an older version number.
      (async () => {
        const fake = join(box.root, 'node18.mjs');
        await writeFile(
          fake,
          "Object.defineProperty(process.versions, 'node', { value: '18.20.4' });\n" +
            "Object.defineProperty(process, 'version', { value: 'v18.20.4' });\n",
        );
        return runBundle(box, ['--version'], { command: [process.execPath, '--import', fake, box.bundle.installed] });
      })(),
    ]);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: failover-agent /);
    expect(help.stdout).toMatch(/^\s+run \[options\]/m);
    expect(help.stdout).toMatch(/^\s+keygen \[options\]/m);
    expect(runHelp.stdout).toContain('-c, --config <file>');
    expect(old.code).toBe(2);
    expect(old.stderr).toBe(`failover-agent needs Node.js 20 or later; ${process.execPath} is v18.20.4\n`);
  });

  it('a configuration problem: exit 2 and the problem, as `failover agent` says it', async () => {
    const file = join(box.root, 'bad-agent.yaml');
    await writeFile(file, 'version: 2\nsite: hq\n');
    const result = await runBundle(box, ['--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('version (line 1:10): expected 1');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('failover-agent keygen', () => {
  it('makes the missing folders (0700) and the key (0600), refuses to replace it, replaces it with --force', async () => {
    const out = box.at('/etc/failover-agent/private/agent.key');
    const first = await runBundle(box, ['keygen', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const publicKey = first.stdout.trim();
    expect(rawPublicKey(createPublicKey(privateKeyFromPem(await readFile(out, 'utf8'))))).toBe(publicKey);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((await stat(box.at('/etc/failover-agent/private'))).mode & 0o777).toBe(0o700);
    expect((await stat(box.at('/etc/failover-agent'))).mode & 0o777).toBe(0o700);

    const again = await runBundle(box, ['keygen', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`failover: ${out} exists; pass --force to replace it\n`);
    expect(rawPublicKey(createPublicKey(privateKeyFromPem(await readFile(out, 'utf8'))))).toBe(publicKey);

    const forced = await runBundle(box, ['keygen', '--out', out, '--force', '--json']);
    expect(forced.code).toBe(0);
    const replaced = JSON.parse(forced.stdout) as { publicKey: string; privateKeyFile: string };
    expect(replaced.privateKeyFile).toBe(out);
    expect(replaced.publicKey).not.toBe(publicKey);
    expect(rawPublicKey(createPublicKey(privateKeyFromPem(await readFile(out, 'utf8'))))).toBe(replaced.publicKey);
  });

  it('leaves an existing folder as it is', async () => {
    const dir = join(box.root, 'shared-folder');
    await mkdir(dir);
    await chmod(dir, 0o755);
    const result = await runBundle(box, ['keygen', '--out', join(dir, 'agent.key')]);
    expect(result.code).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
  });

  it('names what is wrong: a folder as --out, a file where a folder should be, no permission', async () => {
    const dir = join(box.root, 'errors');
    await mkdir(join(dir, 'locked'), { recursive: true });
    await writeFile(join(dir, 'a-file'), 'not a folder\n');
    await chmod(dir, 0o755);
    await chmod(join(dir, 'locked'), isRoot ? 0o755 : 0o500);
    // Root may write anywhere: the permission case runs as nobody, which may not write to root's folder.
    const nobody = isRoot
      ? {
          command: [
            'setpriv',
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            process.execPath,
            box.bundle.installed,
          ],
        }
      : {};
    const [folder, inTheWay, denied] = await Promise.all([
      runBundle(box, ['keygen', '--out', dir]),
      runBundle(box, ['keygen', '--out', join(dir, 'a-file', 'agent.key')]),
      runBundle(box, ['keygen', '--out', join(dir, 'locked', 'keys', 'agent.key')], nobody),
    ]);
    expect(folder).toMatchObject({ code: 2, stdout: '' });
    expect(folder.stderr).toBe(
      `failover: ${dir} is a folder: name the key file itself, e.g. ${join(dir, 'agent.key')}\n`,
    );
    expect(inTheWay.code).toBe(2);
    expect(inTheWay.stderr).toBe(
      `failover: cannot make the folder ${join(dir, 'a-file')} for the key: ${join(dir, 'a-file')} or a folder above it is a file, not a folder\n`,
    );
    expect(denied.code).toBe(2);
    expect(denied.stderr).toBe(
      `failover: cannot make the folder ${join(dir, 'locked', 'keys')} for the key: permission denied (run keygen as a user who may write there, e.g. with sudo)\n`,
    );
    for (const r of [folder, inTheWay, denied]) expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
