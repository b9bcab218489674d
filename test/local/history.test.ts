import { DOMParser } from '@xmldom/xmldom';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeDemoConfig } from '../support/demo-config.ts';
import { startRuntimeChild, until, type RuntimeChild } from '../support/runtime-child.ts';

interface Total {
  up: number;
  degraded: number;
  down: number;
  skipped: number;
}

const total = async (rt: RuntimeChild, check: string): Promise<Total> => {
  const res = await rt.api(`/v1/sites/demo/checks/${check}/history?step=5m`);
  expect(res.status).toBe(200);
  return res.body.total as Total;
};
const counted = (t: Total) => t.up + t.degraded + t.down;

describe('history on the local runtime', () => {
  it('records every round, shows a failover on the public page, and keeps it all across a restart', async () => {
    const base = join(inject('scratchDir'), 'local-history');
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(join(base, 'run-'));
    const demo = await writeDemoConfig(dir, { latencyBudgetMs: 10_000 });
    const dataDir = join(dir, 'data');

    const first = await startRuntimeChild({ config: demo.file, dataDir });
    let before: Total;
    try {
      // Three regions, one round each every 10 s: at least two rounds of every region.
      await until('six results of portal-fiber', async () =>
        counted(await total(first, 'portal-fiber')) >= 6 ? true : undefined,
      );
      expect((await first.demo('break', 'primary')).code).toBe(0);
      await until('portal-fiber down in the history', async () =>
        (await total(first, 'portal-fiber')).down > 0 ? true : undefined,
      );
      const page = await until('the public page on the backup', async () => {
        const res = await fetch(`${first.ready.api}/v1/status/demo`);
        const body = (await res.json()) as { status: string };
        return body.status === 'degraded' ? { res, body } : undefined;
      });
      expect(page.res.headers.get('cache-control')).toBe('public, max-age=30');
      expect(JSON.stringify(page.body)).not.toMatch(/fiber|lte|portal|203\.0\.113|198\.51\.100|region/);
      const badge = await fetch(`${first.ready.api}/v1/status/demo/badge.svg`);
      expect(badge.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
      const svg = new DOMParser().parseFromString(await badge.text(), 'image/svg+xml');
      expect(svg.documentElement?.tagName).toBe('svg');
      expect(svg.getElementsByTagName('title')[0]?.textContent).toBe('uptime: 100%');
      const uptime = await first.api('/v1/sites/demo/uptime?days=1');
      expect(uptime.body.service.days[0].backup).toBeGreaterThan(0);
      before = await total(first, 'portal-fiber');
      expect((await first.stop()).code).toBe(0);
    } finally {
      if (first.cli.child.exitCode === null && first.cli.child.signalCode === null) first.cli.child.kill('SIGKILL');
      await first.cli.exited.catch(() => undefined);
    }

    const second = await startRuntimeChild({ config: demo.file, dataDir });
    try {
      const after = await total(second, 'portal-fiber');
      expect(after.up).toBeGreaterThanOrEqual(before.up);
      expect(after.down).toBeGreaterThanOrEqual(before.down);
      await until('new rounds added to the old', async () =>
        counted(await total(second, 'portal-fiber')) > counted(before) ? true : undefined,
      );
    } finally {
      await second.stop();
    }
  });
});
