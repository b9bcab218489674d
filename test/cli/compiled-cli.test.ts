import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledCli } from '../../bin/compiled-cli.js';
import { CLI_DIR } from '../../scripts/build-cli.ts';
import { REPO_ROOT, runCli } from '../support/cli.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'failover-compiled-'));
  dirs.push(dir);
  return dir;
}

const TRACER = join(REPO_ROOT, 'test/support/trace-imports.mjs');

/** Runs the CLI with every module it resolves recorded; resolves the result and the modules' URLs. */
async function traced(args: readonly string[], env: Record<string, string> = {}) {
  const file = join(await scratch(), 'imports.txt');
  await writeFile(file, '');
  const result = await runCli(args, {
    command: [process.execPath, '--import', pathToFileURL(TRACER).href, join(REPO_ROOT, 'bin/failover.js')],
    env: { TRACE_IMPORTS: file, ...env },
  });
  const modules = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  return { result, modules };
}

const pkg = (name: string) => (url: string) => url.includes(`/node_modules/${name}/`);

/** The packages of node_modules a program loaded: from node_modules, or bundled into the compiled CLI's modules. */
function packagesLoaded(modules: readonly string[]): Set<string> {
  const found = new Set<string>();
  const add = (path: string) => {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (m) found.add(m[1]!);
  };
  for (const url of modules) {
    add(url);
    // esbuild marks each bundled file with a `// node_modules/<package>/<file>` line.
    if (url.startsWith(pathToFileURL(CLI_DIR).href))
      for (const line of readFileSync(fileURLToPath(url), 'utf8').matchAll(/^\/\/ (node_modules\/\S+)$/gm))
        add(line[1]!);
  }
  return found;
}

describe('the compiled CLI', () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

  it('is what bin/failover.js runs once built (by npm install, and by the test setup)', async () => {
    expect(compiledCli()).toBe(pathToFileURL(join(CLI_DIR, 'failover.mjs')).href);
    const { result, modules } = await traced(['--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
    expect(modules).toContain(pathToFileURL(join(CLI_DIR, 'failover.mjs')).href);
    expect(modules.some((m) => m.endsWith('/cli/main.ts'))).toBe(false);
    expect(modules.some(pkg('tsx'))).toBe(false);
  });

  it('--help loads commander and none of the commands: no yaml, no zod, no AWS SDK', async () => {
    const { result, modules } = await traced(['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: failover [options] [command]');
    expect(result.stdout).toMatch(/-V, --version\s+print the version/);
    const loaded = packagesLoaded(modules);
    expect(loaded.has('commander')).toBe(true);
    for (const name of ['yaml', 'zod', '@aws-sdk/client-dynamodb', 'dynalite', 'ws'])
      expect(loaded.has(name), name).toBe(false);
    // A command loads what it needs when it runs: the same trace sees it.
    const validate = await traced(['validate', join(REPO_ROOT, 'examples/demo.yaml')]);
    expect(validate.result.code, validate.result.stderr).toBe(0);
    const used = packagesLoaded(validate.modules);
    expect(used.has('yaml') && used.has('zod')).toBe(true);
  });

  it('from the sources through tsx when asked (FAILOVER_CLI_FROM_SOURCE), with the same answers', async () => {
    const { result, modules } = await traced(['--version'], { FAILOVER_CLI_FROM_SOURCE: '1' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
    expect(modules.some((m) => m.endsWith('/cli/main.ts'))).toBe(true);
    expect(modules.some((m) => m.startsWith(pathToFileURL(CLI_DIR).href))).toBe(false);
  });

  it('is passed over when missing, unreadable or older than one of its sources', async () => {
    const root = await scratch();
    const dir = join(root, 'dist/cli');
    await mkdir(join(root, 'src'), { recursive: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(root, 'src/a.ts'), '');
    await writeFile(join(root, 'src/b.ts'), '');
    const builtAt = Date.now();
    const past = new Date(builtAt - 60_000);
    await utimes(join(root, 'src/a.ts'), past, past);
    await utimes(join(root, 'src/b.ts'), past, past);
    const manifest = (inputs: string[]) =>
      writeFile(join(dir, 'manifest.json'), JSON.stringify({ entry: 'failover.mjs', builtAt, inputs }));

    expect(compiledCli(dir, root)).toBeUndefined();
    await writeFile(join(dir, 'manifest.json'), '{ not json');
    expect(compiledCli(dir, root)).toBeUndefined();
    await manifest(['src/a.ts', 'src/b.ts']);
    expect(compiledCli(dir, root)).toBe(pathToFileURL(join(dir, 'failover.mjs')).href);
    const later = new Date(builtAt + 1000);
    await utimes(join(root, 'src/b.ts'), later, later);
    expect(compiledCli(dir, root)).toBeUndefined();
    await manifest(['src/a.ts', 'src/gone.ts']);
    expect(compiledCli(dir, root)).toBeUndefined();
  });
});
