import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where `npm run build:cli` (and `npm install`, through `prepare`) writes the compiled CLI. */
export const CLI_DIR = join(REPO_ROOT, 'dist/cli');
/** The build's record, read by bin/failover.js: the entry and every source file it was built from. */
export const MANIFEST = 'manifest.json';

/** What {@link buildCli} wrote. */
export interface CliBuild {
  readonly dir: string;
  readonly entry: string;
  readonly files: readonly string[];
  /** Source files (relative to the repository) the output was built from, package.json included. */
  readonly inputs: readonly string[];
}

/**
 * Compiles the CLI (cli/main.ts) to ES modules under `dir`: one entry, and a chunk per lazily loaded command, so that
 * `--help` loads commander and nothing else. Packages stay in node_modules (imported at run time, not bundled).
 * Every file is written beside its final name and renamed into place, the manifest last: a CLI started during a
 * build runs either the old build or the new one.
 */
export async function buildCli(dir: string = CLI_DIR): Promise<CliBuild> {
  // Sources saved after this moment are newer than the build, even when esbuild read them.
  const startedAt = Date.now();
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: { failover: 'cli/main.ts' },
    outdir: dir,
    bundle: true,
    splitting: true,
    external: await externalPackages(),
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    charset: 'utf8',
    // The CommonJS packages inside (yaml, commander) require Node's built-ins; an ES module has no require of its own.
    banner: {
      js: "import { createRequire as __failoverCreateRequire } from 'node:module';\nconst require = __failoverCreateRequire(import.meta.url);",
    },
    define: { FAILOVER_VERSION: JSON.stringify(version) },
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const inputs = [...Object.keys(result.metafile.inputs), 'package.json'].sort();
  const files: string[] = [];
  const entry = join(dir, 'failover.mjs');
  // The entry last among the modules: the chunks it names exist before it does.
  const outputs = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
  for (const out of outputs) {
    await mkdir(dirname(out.path), { recursive: true });
    const tmp = `${out.path}.${process.pid}.tmp`;
    await writeFile(tmp, out.contents);
    await rename(tmp, out.path);
    files.push(out.path);
  }
  await removeOthers(dir, new Set([...files, join(dir, MANIFEST)]));
  const manifest = { entry: relative(dir, entry), builtAt: startedAt, inputs };
  const tmp = join(dir, `${MANIFEST}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, join(dir, MANIFEST));
  return { dir, entry, files, inputs };
}

/**
 * The packages left in node_modules: all but the small pure-JavaScript ones the common commands load (one bundled
 * module loads faster than zod's hundreds of files). The AWS SDK, dynalite (LevelDB) and ws (optional native
 * add-ons) stay out.
 */
async function externalPackages(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const bundled = new Set(['commander', 'yaml', 'zod', 'jsonpath-plus', 'dns-packet', '@leichtgewicht/ip-codec']);
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((n) => !bundled.has(n));
  return names.flatMap((n) => [n, `${n}/*`]);
}

/** Chunks of an older build that this one no longer has. */
async function removeOthers(dir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !keep.has(path) && !path.endsWith('.tmp')) await rm(path, { force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = await buildCli(process.argv[2] ?? CLI_DIR);
  const modules = out.files.filter((f) => f.endsWith('.mjs')).length;
  console.log(
    `${relative(process.cwd(), out.entry) || out.entry}: the CLI, ${modules} modules from ${out.inputs.length - 1} source files`,
  );
}
