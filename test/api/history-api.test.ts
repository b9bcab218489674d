import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../shared/domain/history.ts';
import { foldHistory } from '../../shared/usecases/history/fold-history.ts';
import { apiTestConfig, startApiHarness, T0, type ApiHarness } from '../support/api.ts';

const STATUS_PAGES = `statusPages:
  - id: acme
    title: Acme status
    sites:
      - { site: hq, name: Head office, group: Offices }
  - id: quiet
    sites: [branch]
    incidents: false
`;

describe('history, uptime and status pages over HTTP', () => {
  let api: ApiHarness;
  const config = apiTestConfig(['hq', 'branch'], '', STATUS_PAGES);
  beforeAll(async () => {
    api = await startApiHarness({ config });
    // T0 is 12:00: rounds at 12:01..12:06 up, then the primary fails from 12:07 (two rounds: threshold 2).
    for (let i = 0; i < 6; i++) await api.observe('hq', 'up');
    for (let i = 0; i < 4; i++) await api.observe('hq', 'down');
  });
  afterAll(async () => api?.close());

  const history = (query: string, key = api.keys.read) =>
    api.call('GET', `/v1/sites/hq/checks/web-fiber/history${query}`, { key });

  it('answers each 5-minute bucket with counts from every region, uptime and latency', async () => {
    const from = new Date(T0).toISOString();
    const to = new Date(T0 + 15 * 60_000).toISOString();
    const res = await history(`?step=5m&from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(res.body.step).toBe('5m');
    expect(res.body.buckets.map((b: { start: string }) => b.start)).toEqual([
      '2026-11-25T12:00:00.000Z',
      '2026-11-25T12:05:00.000Z',
      '2026-11-25T12:10:00.000Z',
    ]);
    // 12:01-12:04 up (4 rounds x 3 regions); 12:05, 12:06 up and 12:07-12:09 down; 12:10 down.
    expect(res.body.buckets.map((b: { up: number; down: number }) => [b.up, b.down])).toEqual([
      [12, 0],
      [6, 9],
      [0, 3],
    ]);
    expect(res.body.buckets[1].uptime).toBeCloseTo(6 / 15);
    expect(res.body.buckets[0].latency).toEqual({ count: 12, avgMs: 12.5, p50Ms: 20, p95Ms: 20, maxMs: 20 });
    expect(res.body.buckets[2].latency).toBeNull();
    expect(res.body.total).toMatchObject({ up: 18, down: 12, degraded: 0, skipped: 0, uptime: 18 / 30 });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('defaults to the last day in 5-minute steps, rounds from down and to up, and leaves empty buckets empty', async () => {
    const res = await history('');
    expect(res.status).toBe(200);
    expect(res.body.buckets).toHaveLength(288 + 1);
    expect(res.body.to).toBe('2026-11-25T12:15:00.000Z');
    const partial = await history(`?step=1h&from=2026-11-25T12:34:00Z&to=2026-11-25T13:01:00%2B00:00`);
    expect(partial.body.from).toBe('2026-11-25T12:00:00.000Z');
    expect(partial.body.to).toBe('2026-11-25T14:00:00.000Z');
    expect(partial.body.buckets[1]).toEqual({
      start: '2026-11-25T13:00:00.000Z',
      up: 0,
      degraded: 0,
      down: 0,
      skipped: 0,
      uptime: null,
      latency: null,
    });
  });

  it.each([
    ['?step=2m', 'query.step'],
    ['?from=yesterday', 'query.from'],
    ['?from=2026-11-25T12:00:00Z&to=2026-11-25T11:00:00Z', 'query.from'],
    ['?step=5m&from=2026-11-20T00:00:00Z&to=2026-11-25T00:00:00Z', 'query.from'],
    ['?step=1h&from=2026-09-01T00:00:00Z', 'query.from'],
    ['?limit=5', 'query.limit'],
  ])('refuses %s with a 400 naming %s', async (query, path) => {
    const res = await history(query);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('answers 404 for an unknown site or check, 401 without a key', async () => {
    expect((await api.call('GET', '/v1/sites/nope/checks/web-fiber/history', { key: api.keys.read })).status).toBe(404);
    const check = await api.call('GET', '/v1/sites/hq/checks/nope/history', { key: api.keys.read });
    expect([check.status, check.body.code]).toEqual([404, 'unknown-check']);
    expect((await api.call('GET', '/v1/sites/hq/checks/web-fiber/history')).status).toBe(401);
    expect((await api.call('GET', '/v1/sites/hq/uptime')).status).toBe(401);
  });

  it('answers uptime per day for the site as its users see it and for each check', async () => {
    const res = await api.call('GET', '/v1/sites/hq/uptime?days=3', { key: api.keys.read });
    expect(res.status).toBe(200);
    expect([res.body.from, res.body.to]).toEqual(['2026-11-23', '2026-11-25']);
    const today = res.body.service.days[2];
    // Each region's round counts once, in the mode it was decided into: 10 rounds x 3 regions.
    expect(today.primary + today.backup).toBe(30);
    expect(today.backup).toBeGreaterThan(0);
    expect(today.bothDown).toBe(0);
    expect(today.uptime).toBe(1);
    expect(res.body.service.days[0]).toMatchObject({ date: '2026-11-23', uptime: null, primary: 0 });
    const fiber = res.body.checks.find((c: { check: string }) => c.check === 'web-fiber');
    expect(fiber).toMatchObject({ link: 'fiber', uptime: 18 / 30 });
    expect(fiber.days[2]).toMatchObject({ up: 18, down: 12 });
    const lte = res.body.checks.find((c: { check: string }) => c.check === 'web-lte');
    expect(lte.uptime).toBe(1);
    expect((await api.call('GET', '/v1/sites/hq/uptime?days=0', { key: api.keys.read })).status).toBe(400);
  });

  it('reads the same figures after the hours and days are folded, without counting anything twice', async () => {
    const read = async () => ({
      fiveMin: (await history(`?step=5m&from=${new Date(T0).toISOString()}&to=${new Date(T0 + HOUR_MS).toISOString()}`))
        .body.total,
      hourly: (await history(`?step=1h&from=${new Date(T0).toISOString()}&to=${new Date(T0 + DAY_MS).toISOString()}`))
        .body.total,
      daily: (await history(`?step=1d&from=2026-11-20T00:00:00Z&to=2026-11-27T00:00:00Z`)).body.total,
      uptime: (await api.call('GET', '/v1/sites/hq/uptime?days=5', { key: api.keys.read })).body,
    });
    const saved = api.clock.now();
    api.clock.set(Date.UTC(2026, 10, 26, 0, 30));
    const before = await read();
    expect(before.hourly).toMatchObject({ up: 18, down: 12 });
    expect(before.daily).toEqual(before.hourly);
    const folded = await foldHistory({ config, history: api.deps.history!, clock: api.clock });
    expect(folded.failed).toEqual([]);
    expect(folded).toMatchObject({ hours: 1, days: 1 });
    expect(await api.deps.history!.foldMark('hq')).toEqual({
      hourEnd: Date.UTC(2026, 10, 26, 0),
      dayEnd: Date.UTC(2026, 10, 26),
    });
    expect(await api.deps.history!.list('hq', '1d', Date.UTC(2026, 10, 25), Date.UTC(2026, 10, 26))).toHaveLength(1);
    expect(await read()).toEqual(before);
    // Run again: the same rows, the mark stays.
    expect(await foldHistory({ config, history: api.deps.history!, clock: api.clock })).toMatchObject({ hours: 0 });
    expect(await read()).toEqual(before);
    api.clock.set(saved);
  });

  describe('public status pages', () => {
    it('show only the sites they list, by public name, in public terms, with no key', async () => {
      const res = await api.call('GET', '/v1/status/acme?days=3');
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=30');
      expect(res.body).toMatchObject({ page: 'acme', title: 'Acme status', status: 'degraded' });
      expect(res.body.components).toHaveLength(1);
      expect(res.body.components[0]).toMatchObject({
        id: 'hq',
        name: 'Head office',
        group: 'Offices',
        status: 'degraded',
        uptime: 1,
      });
      expect(res.body.components[0].days.map((d: { status: string }) => d.status)).toEqual([
        'no-data',
        'no-data',
        'degraded',
      ]);
      expect(res.body.incidents).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{16}$/),
          component: 'hq',
          title: 'Running on a backup connection',
          kind: 'failover',
          status: 'open',
          startedAt: expect.any(String),
          resolvedAt: null,
        },
      ]);
      // Nothing operators see: links, addresses, checks, vantages, explanations, the other site.
      for (const secret of [
        'fiber',
        'lte',
        '203.0.113',
        '198.51.100',
        'web-',
        'region',
        'us-east-1',
        'branch',
        'quorum',
      ])
        expect(res.text).not.toContain(secret);
    });

    it('hide incidents when the page says so, and start unknown before any decision', async () => {
      const res = await api.call('GET', '/v1/status/quiet');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ title: 'quiet', status: 'unknown', incidents: [] });
      expect(res.body.components[0]).toMatchObject({
        id: 'branch',
        name: 'Site branch',
        status: 'unknown',
        uptime: null,
      });
      expect(res.body.components[0].days).toHaveLength(90);
    });

    it('answer the same bare 404 for a page that does not exist and for a site that is on no page', async () => {
      const a = await api.call('GET', '/v1/status/nope');
      const b = await api.call('GET', '/v1/status/hq');
      const c = await api.call('GET', '/v1/status/nope/badge.svg');
      for (const res of [a, b, c]) {
        expect(res.status).toBe(404);
        expect([res.body.detail, res.body.code]).toEqual(['no such status page', 'no-status-page']);
      }
    });

    it('serve an SVG uptime badge that parses as XML, with its media type and cache headers', async () => {
      const res = await api.call('GET', '/v1/status/acme/badge.svg?days=7');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      const doc = new DOMParser().parseFromString(res.text, 'image/svg+xml');
      expect(doc.documentElement?.tagName).toBe('svg');
      expect(doc.documentElement?.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
      expect(doc.getElementsByTagName('title')[0]?.textContent).toBe('uptime: 100%');

      const labelled = await api.call('GET', '/v1/status/quiet/badge.svg?label=%3Cbranch%20%26%20co%3E');
      const quiet = new DOMParser().parseFromString(labelled.text, 'image/svg+xml');
      expect(quiet.getElementsByTagName('title')[0]?.textContent).toBe('<branch & co>: no data');

      const wrong = await api.call('GET', '/v1/status/acme/badge.svg?component=branch');
      expect(wrong.status).toBe(400);
      expect((await api.call('GET', '/v1/status/acme/badge.svg?component=hq')).status).toBe(200);
      expect((await api.call('GET', '/v1/status/acme/badge.svg?days=91')).status).toBe(400);
    });
  });
});
