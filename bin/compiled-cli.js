import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The URL of the compiled CLI's entry in `dir` (default dist/cli) when its manifest says it was built after the last
 * change of every source file it was built from; undefined when it is missing or stale (then run the sources).
 */
export function compiledCli(dir = join(ROOT, 'dist/cli'), root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof manifest?.entry !== 'string' || typeof manifest.builtAt !== 'number' || !Array.isArray(manifest.inputs))
    return undefined;
  for (const input of manifest.inputs) {
    const info = statSync(join(root, input), { throwIfNoEntry: false });
    if (!info || info.mtimeMs > manifest.builtAt) return undefined;
  }
  return pathToFileURL(join(dir, manifest.entry)).href;
}
