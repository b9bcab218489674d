import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import type { Notifier } from '../../shared/ports/notifier.ts';
import { apiTestConfig, startApiHarness, type ApiHarness } from '../support/api.ts';

// The real API on loopback and dynalite, with real decisions: three sites fail over, the third is held (limit 2 of
// 10 sites), and operators release the brake through POST /v1/brake/release.
const SITES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
let api: ApiHarness;
const lines: string[] = [];
/** Every alert handed to the notifier, duplicates included (the console notifier would drop a second one). */
const sent: AlertAction[] = [];

beforeAll(async () => {
  const console = new ConsoleNotifier({ out: (line) => lines.push(line), color: false });
  const notifier: Notifier = {
    notify: (alert) => {
      sent.push(alert);
      return console.notify(alert);
    },
  };
  const config = apiTestConfig(SITES, '', 'brake: { maxShare: 0.1, minSites: 2, windowSeconds: 600 }');
  api = await startApiHarness({ config, notifier });
});
afterAll(() => api?.close());

/** Two rounds of the primary down (after two up). */
async function primaryDown(site: string) {
  await api.observe(site, 'up');
  await api.observe(site, 'up');
  await api.observe(site, 'down');
  return api.observe(site, 'down');
}

const kinds = (out: Awaited<ReturnType<typeof primaryDown>>) => out.transitions.map((t) => t.kind);
const release = (reason = 'probes checked by hand: these sites are down') =>
  api.call('POST', '/v1/brake/release', { key: api.keys.write, body: { reason } });

describe('the mass-failover brake through the API', () => {
  it('answers 409 brake-not-engaged, with the brake in `brake`, when nothing is engaged; changes nothing', async () => {
    const res = await release();
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'brake-not-engaged', brake: { engaged: false, failedOver: 0 } });
    expect(await api.deps.store.loadFleetBrake()).toBeNull();
    const status = await api.call('GET', '/v1/brake', { key: api.keys.read });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({
      enabled: true,
      limit: 2,
      sites: 10,
      windowSeconds: 600,
      failedOver: 0,
      engaged: false,
      engagement: null,
      releaseAt: null,
      released: false,
      release: null,
    });
  });

  it('refuses a release without a reason (400 naming body.reason), and a read key (403)', async () => {
    const bad = await api.call('POST', '/v1/brake/release', { key: api.keys.write, body: { reason: ' ' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.reason']);
    const read = await api.call('POST', '/v1/brake/release', { key: api.keys.read, body: { reason: 'x' } });
    expect(read.status).toBe(403);
  });

  it('shows the engagement, and of five releases at once one releases and four get 409; one alert', async () => {
    expect(kinds(await primaryDown('a'))).toContain('failover');
    expect(kinds(await primaryDown('b'))).toContain('failover');
    expect(kinds(await primaryDown('c'))).toEqual(['failover-held']);
    const engaged = await api.call('GET', '/v1/brake', { key: api.keys.read });
    expect(engaged.body).toMatchObject({ engaged: true, failedOver: 2, engagement: { announcer: 'c' } });
    const before = (await api.deps.store.loadFleetBrake())!.version;

    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => release(`release number ${n}`)));
    const ok = answers.filter((r) => r.status === 200);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    for (const r of answers.filter((a) => a.status === 409)) {
      expect(r.body).toMatchObject({ code: 'brake-not-engaged', brake: { engaged: false, released: true } });
      expect(r.body.detail).toContain('ops-alice released brake-');
    }
    expect(ok[0]!.body).toMatchObject({
      released: engaged.body.engagement,
      brake: { engaged: false, released: true, failedOver: 2, release: { by: 'ops-alice' } },
      alert: { sent: true },
    });
    // One conditional write won.
    const item = (await api.deps.store.loadFleetBrake())!;
    expect(item.version).toBe(before + 1);
    expect(item.brake.release).toMatchObject({ engagement: engaged.body.engagement.id, by: 'ops-alice' });

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      severity: 'critical',
      event: 'brake-released',
      site: 'c',
      dedupKey: `${engaged.body.engagement.id}:released`,
    });
    expect(sent[0]!.subject).toBe('[BRAKE RELEASED] automatic failovers resume: released by ops-alice');
    expect(sent[0]!.body).toContain(`Reason: ${ok[0]!.body.brake.release.reason}`);
    expect(lines.filter((l) => l.includes('[BRAKE RELEASED]'))).toHaveLength(1);
  });

  it('after the release the held site fails over on its next decision, and so do sites past the limit', async () => {
    // c is still down: its next round fails it over.
    const c = await api.observe('c', 'down');
    expect(kinds(c)).toContain('failover');
    expect(c.state.activeLink).toBe('lte');
    for (const site of ['d', 'e']) expect(kinds(await primaryDown(site))).toContain('failover');
    const status = await api.call('GET', '/v1/brake', { key: api.keys.read });
    expect(status.body).toMatchObject({ engaged: false, released: true, failedOver: 2 });
    // A second release while the first is in force: nothing engaged.
    expect((await release()).status).toBe(409);
  });
});
