import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`, in .ci/run): no browser download works on these machines. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser is there; the browser tests require it when FAILOVER_REQUIRE_PEERS=1 (as .ci/run sets). */
export const hasChromium = existsSync(CHROMIUM);

/** A headless Chromium with a fresh profile of its own, removed on close. */
export interface Browser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  /** Saves a PNG of the whole page under FAILOVER_SCREENSHOTS (default: a folder in the OS temp dir); its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'failover-chromium-'));
  const shots = process.env.FAILOVER_SCREENSHOTS ?? join(tmpdir(), 'failover-screenshots');
  await mkdir(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    newPage: () => context.newPage(),
    async screenshot(page, name) {
      const path = join(shots, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
