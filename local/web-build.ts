import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { packageRoot } from '../shared/package-root.ts';

/** The dashboard's and status page's sources (TypeScript, HTML, CSS), built by Vite. */
export const WEB_SOURCE_DIR = join(packageRoot(), 'web');
/** Where `npm run build:web` (and `npm install`, through `prepare`) writes them; the local runtime serves this. */
export const WEB_DIR = join(packageRoot(), 'dist/web');
/** The build's record: when it started and the files it was built from (relative to the package root). */
export const WEB_BUILD_INFO = 'build-info.json';

/** Whether `dir` holds a build of the sources as they are now. */
export type WebBuildState = 'fresh' | 'missing' | 'stale';

/** What {@link buildWeb} wrote. */
export interface WebBuild {
  readonly dir: string;
  readonly files: readonly string[];
  readonly ms: number;
}

function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(root, path);
    return entry.isFile() ? [relative(root, path)] : [];
  });
}

/** The files a build depends on: every file under web/, package.json and the lock file (library versions). */
function inputs(srcDir: string): string[] {
  const root = packageRoot();
  return [...sourceFiles(root, srcDir), 'package.json', 'package-lock.json'].sort();
}

/**
 * 'fresh' when `dir` has a build record that lists every current input and was started after the last change of
 * each; 'missing' without a record; 'stale' otherwise (a source changed, was added or removed).
 */
export function webBuildState(dir: string = WEB_DIR, srcDir: string = WEB_SOURCE_DIR): WebBuildState {
  let info: { builtAt?: unknown; inputs?: unknown };
  try {
    info = JSON.parse(readFileSync(join(dir, WEB_BUILD_INFO), 'utf8')) as typeof info;
  } catch {
    return 'missing';
  }
  if (typeof info.builtAt !== 'number' || !Array.isArray(info.inputs)) return 'missing';
  const now = inputs(srcDir);
  if (now.join('\n') !== info.inputs.join('\n')) return 'stale';
  for (const input of now) {
    const stat = statSync(join(packageRoot(), input), { throwIfNoEntry: false });
    if (!stat || stat.mtimeMs > info.builtAt) return 'stale';
  }
  return 'fresh';
}

/**
 * Builds web/ with Vite (its two pages, hashed assets under assets/) into a folder beside `dir`, then swaps it into
 * place: a server that read the old build keeps serving it, one that starts later reads the new one whole.
 * Vite is a development dependency: this needs the checkout's node_modules, as `npm install` leaves them.
 */
export async function buildWeb(dir: string = WEB_DIR, srcDir: string = WEB_SOURCE_DIR): Promise<WebBuild> {
  const startedAt = Date.now();
  const { build } = await import('vite');
  const tmp = `${dir}.${process.pid}.${startedAt}.tmp`;
  const old = `${dir}.${process.pid}.${startedAt}.old`;
  const used = inputs(srcDir);
  try {
    await build({
      configFile: false,
      root: srcDir,
      base: '/',
      logLevel: 'warn',
      publicDir: join(srcDir, 'public'),
      build: {
        outDir: tmp,
        emptyOutDir: true,
        assetsDir: 'assets',
        target: 'es2022',
        reportCompressedSize: false,
        rolldownOptions: { input: { index: join(srcDir, 'index.html'), status: join(srcDir, 'status.html') } },
      },
    });
    await writeFile(join(tmp, WEB_BUILD_INFO), `${JSON.stringify({ builtAt: startedAt, inputs: used }, null, 2)}\n`);
    await mkdir(dirname(dir), { recursive: true });
    await rename(dir, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
  return { dir, files: sourceFiles(dir, dir).sort(), ms: Date.now() - startedAt };
}

/** Builds unless `dir` is fresh; resolves what it did. */
export async function ensureWebBuilt(dir: string = WEB_DIR): Promise<WebBuildState | 'built'> {
  const state = webBuildState(dir);
  if (state === 'fresh') return state;
  await buildWeb(dir);
  return 'built';
}
