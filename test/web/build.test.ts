import { cp, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWeb, WEB_BUILD_INFO, WEB_SOURCE_DIR, webBuildState } from '../../local/web-build.ts';
import { loadWebAssets } from '../../shared/api/web-assets.ts';
import { REPO_ROOT } from '../support/cli.ts';

describe('the web build (npm run build:web, and failover local when web/ changed)', () => {
  it('is fresh after a build, stale after a source changes or appears, missing without its record', async () => {
    // Inside the checkout, so that the copy's imports (uplot) resolve to its node_modules.
    await mkdir(join(REPO_ROOT, 'node_modules', '.cache'), { recursive: true });
    const dir = await mkdtemp(join(REPO_ROOT, 'node_modules', '.cache', 'failover-web-build-'));
    try {
      const src = join(dir, 'web');
      const out = join(dir, 'dist');
      await cp(WEB_SOURCE_DIR, src, { recursive: true });
      expect(webBuildState(out, src)).toBe('missing');

      const built = await buildWeb(out, src);
      expect(built.files).toEqual(expect.arrayContaining(['index.html', 'status.html', 'favicon.svg', WEB_BUILD_INFO]));
      expect(webBuildState(out, src)).toBe('fresh');
      const assets = loadWebAssets(out);
      expect(assets.problem).toBeUndefined();
      expect(assets.paths.filter((p) => p.startsWith('/assets/') && p.endsWith('.js')).length).toBeGreaterThan(0);

      const now = new Date();
      await utimes(join(src, 'src', 'dom.ts'), now, now);
      expect(webBuildState(out, src)).toBe('stale');
      await new Promise((r) => setTimeout(r, 20));
      await buildWeb(out, src);
      expect(webBuildState(out, src)).toBe('fresh');

      await writeFile(join(src, 'src', 'new-file.ts'), 'export const x = 1;\n');
      expect(webBuildState(out, src)).toBe('stale');

      await rm(join(out, WEB_BUILD_INFO));
      expect(webBuildState(out, src)).toBe('missing');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
