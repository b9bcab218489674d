import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../shared/api/openapi.ts';
import { API_ROUTES, type ApiRouteSpec } from '../../shared/api/routes.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { decideDeps } from '../../functions/api/deps.ts';
import { apiTestConfig, startApiHarness, T0, type ApiHarness } from '../support/api.ts';
import { testBatch } from '../support/observations.ts';

const SITES = ['hq', 'shop', 'depot', 'lab', 'paged'];
let api: ApiHarness;

beforeAll(async () => {
  const config = apiTestConfig(
    SITES,
    `    maintenance:
      - { id: yearly-check, start: '2027-01-10T22:00', end: '2027-01-11T02:00', timezone: Europe/Paris, reason: Yearly electrical check }
`,
  );
  api = await startApiHarness({ config });
});
afterAll(() => api?.close());

/** A path of `spec` with its parameters filled in. */
function concrete(spec: ApiRouteSpec): string {
  return spec.path.replace(/\{[^}]+\}/g, (m) => (m === '{id}' ? 'hq' : 'x'));
}

/** Two rounds of the primary down: the site fails over (opening an incident). */
async function failOver(site: string) {
  await api.observe(site, 'up');
  await api.observe(site, 'up');
  await api.observe(site, 'down');
  const out = await api.observe(site, 'down');
  expect(out.transitions.map((t) => t.kind)).toContain('failover');
  return out;
}

describe('authentication and scopes', () => {
  const keyed = (API_ROUTES as readonly ApiRouteSpec[]).filter((r) => r.auth === 'read' || r.auth === 'write');

  it('answers 401 with a Bearer challenge on every route that needs a key, when none is sent', async () => {
    for (const spec of keyed) {
      const res = await api.call(spec.method, concrete(spec), spec.method === 'POST' ? { body: { reason: 'x' } } : {});
      expect(res.status, `${spec.method} ${spec.path}`).toBe(401);
      expect(res.body.code).toBe('missing-api-key');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="failover"/);
    }
  });

  it('answers 401 to a malformed, unknown, mistyped or revoked key, with one message for all', async () => {
    const id = api.keys.write.split('_')[1]!;
    const wrongSecret = `fo_${id}_${'0'.repeat(64)}`;
    const unknownId = `fo_${'f'.repeat(16)}_${api.keys.write.split('_')[2]}`;
    for (const key of ['nope', 'fo_short_key', wrongSecret, unknownId, api.keys.revoked, '']) {
      const res = await api.call('GET', '/v1/sites', { headers: { authorization: `Bearer ${key}` } });
      expect(res.status, key).toBe(401);
      expect(res.body.detail).toBe('the API key is not valid (unknown, revoked or mistyped)');
    }
    const basic = await api.call('GET', '/v1/sites', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
  });

  it('accepts the key as a Bearer token or in x-api-key', async () => {
    expect((await api.call('GET', '/v1/sites', { key: api.keys.read })).status).toBe(200);
    expect((await api.call('GET', '/v1/sites', { headers: { 'x-api-key': api.keys.read } })).status).toBe(200);
  });

  it('answers 403 to a read key on every write route, and lets it read', async () => {
    for (const spec of keyed.filter((r) => r.auth === 'write')) {
      const res = await api.call(spec.method, concrete(spec), {
        key: api.keys.read,
        ...(spec.method === 'POST' ? { body: { reason: 'x' } } : {}),
      });
      expect(res.status, `${spec.method} ${spec.path}`).toBe(403);
      expect(res.body.code).toBe('insufficient-scope');
    }
    for (const spec of keyed.filter((r) => r.auth === 'read' && !r.path.includes('{'))) {
      expect((await api.call(spec.method, spec.path, { key: api.keys.read })).status, spec.path).not.toBe(403);
    }
  });

  it('records when a key was last used', async () => {
    await api.call('GET', '/v1/sites', { key: api.keys.read });
    const record = await api.deps.apiKeys.get(api.keys.read.split('_')[1]!);
    expect(record?.lastUsedAt).toBe(api.clock.now());
  });

  it('serves the OpenAPI document without a key', async () => {
    const res = await api.call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(openApiDocument());
  });
});

describe('routing and request errors', () => {
  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const missing = await api.call('GET', '/v1/nothing-here', { key: api.keys.write });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'no-route', instance: '/v1/nothing-here' });
    const wrong = await api.call('PUT', '/v1/sites/hq', { key: api.keys.write });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    const twoMethods = await api.call('PATCH', '/v1/maintenance', { key: api.keys.write });
    expect(twoMethods.headers.get('allow')).toBe('GET, POST');
  });

  it('answers 400 listing every invalid field with its path', async () => {
    const res = await api.call('POST', '/v1/sites/hq/override', {
      key: api.keys.write,
      body: { pin: 'sideways', reason: '', until: 'tomorrow' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid-request');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.pin',
      'body.reason',
      'body.until',
    ]);
    const extra = await api.call('POST', '/v1/sites/hq/failover', {
      key: api.keys.write,
      body: { reason: 'x', force: true },
    });
    expect(extra.body.errors).toEqual([{ path: 'body.force', message: 'unknown field' }]);
  });

  it('answers 400 to a body that is not JSON or is missing', async () => {
    const bad = await api.call('POST', '/v1/sites/hq/failover', {
      key: api.keys.write,
      body: '{"reason": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid-json');
    const none = await api.call('POST', '/v1/sites/hq/failover', { key: api.keys.write });
    expect(none.status).toBe(400);
    expect(none.body.errors).toEqual([{ path: 'body', message: 'a JSON body is required' }]);
  });

  it('answers 400 to a body that is not valid UTF-8, changing nothing', async () => {
    const before = await api.deps.store.load('lab');
    // {"reason":"<0xff>("}: lossy decoding would read U+FFFD and accept it.
    const body = Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xff]), Buffer.from('("}')]);
    const res = await api.call('POST', '/v1/sites/lab/failover', {
      key: api.keys.write,
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid-utf8', errors: [{ path: 'body', message: 'not valid UTF-8' }] });
    expect(await api.deps.store.load('lab')).toEqual(before);
    // A truncated sequence (the first two bytes of a three-byte character) is refused too.
    const cut = await api.call('POST', '/v1/sites/lab/failover', {
      key: api.keys.write,
      body: Buffer.concat([Buffer.from('{"reason":"'), Buffer.from('€').subarray(0, 2), Buffer.from('"}')]),
      headers: { 'content-type': 'application/json' },
    });
    expect(cut.body.code).toBe('invalid-utf8');
  });

  it('answers 415 to a body that is not application/json', async () => {
    const res = await api.call('POST', '/v1/sites/hq/failover', {
      key: api.keys.write,
      body: 'reason=because',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('accept-post')).toBe('application/json');
    const charset = await api.call('POST', '/v1/sites/nowhere/failover', {
      key: api.keys.write,
      body: '{"reason":"x"}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(charset.status).toBe(404);
  });

  it('answers 413 to a body over 256 KiB, before authenticating', async () => {
    const res = await api.call('POST', '/v1/maintenance', {
      body: { site: 'hq', reason: 'x'.repeat(300 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body.title).toBe('Content Too Large');
  });

  it('answers 413 to a declared Content-Length over the limit without waiting for the body', async () => {
    const url = new URL(api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /v1/maintenance HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n{"site":`,
        );
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        data += chunk;
        if (data.includes('\r\n\r\n') && data.includes('}')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('answers 404 for an unknown site and incident', async () => {
    for (const [method, path] of [
      ['GET', '/v1/sites/atlantis'],
      ['POST', '/v1/sites/atlantis/failover'],
      ['POST', '/v1/sites/atlantis/override'],
    ] as const) {
      const res = await api.call(method, path, {
        key: api.keys.write,
        ...(method === 'POST'
          ? { body: path.endsWith('override') ? { clear: true, reason: 'x' } : { reason: 'x' } }
          : {}),
      });
      expect(res.status, path).toBe(404);
      expect(res.body.code).toBe('unknown-site');
    }
    for (const id of ['hq.999', 'not-an-id', 'atlantis.1']) {
      const res = await api.call('GET', `/v1/incidents/${id}`, { key: api.keys.read });
      expect(res.status, id).toBe(404);
      expect(res.body.code).toBe('unknown-incident');
    }
  });
});

describe('sites', () => {
  it('lists every configured site, before and after decisions', async () => {
    const res = await api.call('GET', '/v1/sites', { key: api.keys.read });
    expect(res.body.items.map((s: { id: string }) => s.id)).toEqual(SITES);
    const lab = res.body.items.find((s: { id: string }) => s.id === 'lab');
    expect(lab).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber', modeSince: null, updatedAt: null });
  });

  it("shows a site's links, each check's latest result per vantage, vantages and policy", async () => {
    await api.observe('shop', 'up');
    await api.observe('shop', 'down', 'up');
    const res = await api.call('GET', '/v1/sites/shop', { key: api.keys.read });
    expect(res.status).toBe(200);
    const site = res.body;
    expect(site.links.map((l: { id: string; active: boolean }) => [l.id, l.active])).toEqual([
      ['fiber', true],
      ['lte', false],
    ]);
    const fiber = site.checks.find((c: { id: string }) => c.id === 'web-fiber');
    expect(fiber.kind).toBe('tcp');
    expect(fiber.results).toHaveLength(3);
    expect(fiber.results[0]).toMatchObject({
      vantage: 'region:eu-west-1',
      link: 'fiber',
      outcome: 'down',
      down: 1,
      up: 0,
      errorClass: 'connect',
      detail: 'connection refused',
      at: new Date(api.clock.now()).toISOString(),
    });
    expect(site.vantages.map((v: { id: string; stale: boolean }) => [v.id, v.stale])).toEqual([
      ['region:eu-west-1', false],
      ['region:us-east-1', false],
      ['region:us-west-2', false],
    ]);
    expect(site.policy).toMatchObject({ failback: 'manual', quorum: 2, failureThreshold: 2 });
    expect(site).toMatchObject({ override: null, incident: null, maintenance: null, damping: { penalty: 0 } });
  });
});

describe('operator commands', () => {
  it('pins to the backup, refuses a conflicting pin with 409, and clears the pin', async () => {
    const pin = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { pin: 'backup', reason: 'ISP works tonight', until: new Date(T0 + 86_400_000).toISOString() },
    });
    expect(pin.status).toBe(200);
    expect(pin.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['override']);
    expect(pin.body.site).toMatchObject({
      mode: 'BACKUP_ACTIVE',
      activeLink: 'lte',
      override: { pin: 'backup', link: 'lte', by: 'ops-alice', reason: 'ISP works tonight' },
    });
    expect(pin.body.transitions[0].explanation.summary).toContain('ops-alice pinned the site to lte');
    expect(api.decisions.at(-1)?.state.site).toBe('depot');

    const conflict = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { pin: 'primary', reason: 'changed my mind' },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('override-conflict');
    expect(conflict.body.detail).toMatch(/pinned to lte \(backup\) by ops-alice .*clear the override first/);

    const again = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { pin: 'backup', reason: 'still working' },
    });
    expect(again.status).toBe(200);
    expect(again.body.site.override).toMatchObject({ reason: 'still working', until: null });

    const failover = await api.call('POST', '/v1/sites/depot/failback', { key: api.keys.write, body: { reason: 'x' } });
    expect(failover.status).toBe(409);
    expect(failover.body.detail).toBe('the site is pinned to lte; clear the override first');

    const clear = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { clear: true, reason: 'done' },
    });
    expect(clear.status).toBe(200);
    expect(clear.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['override-cleared']);
    expect(clear.body.site.override).toBeNull();

    const clearAgain = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { clear: true, reason: 'done' },
    });
    expect(clearAgain.status).toBe(409);
    expect(clearAgain.body).toMatchObject({ code: 'command-rejected', detail: 'no override to clear' });
  });

  it('refuses a pin whose expiry has passed', async () => {
    const res = await api.call('POST', '/v1/sites/depot/override', {
      key: api.keys.write,
      body: { pin: 'backup', reason: 'x', until: '2020-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.until', message: 'must be in the future' }]);
  });

  it("fails over and back on an operator's word, refusing what the engine refuses with 409", async () => {
    const back = await api.call('POST', '/v1/sites/lab/failback', { key: api.keys.write, body: { reason: 'test' } });
    expect(back.status).toBe(409);
    expect(back.body.detail).toBe('already on the primary link');

    const over = await api.call('POST', '/v1/sites/lab/failover', {
      key: api.keys.write,
      body: { reason: 'fiber flaky, moving early' },
    });
    expect(over.status).toBe(200);
    expect(over.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['failover']);
    expect(over.body.transitions[0].explanation.summary).toContain('ops-alice asked for a failover');
    expect(over.body.site).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });

    const twice = await api.call('POST', '/v1/sites/lab/failover', { key: api.keys.write, body: { reason: 'x' } });
    expect(twice.status).toBe(409);
    expect(twice.body.detail).toBe('already on backup lte');

    await api.observe('lab', 'down');
    await api.observe('lab', 'down');
    const refused = await api.call('POST', '/v1/sites/lab/failback', { key: api.keys.write, body: { reason: 'x' } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe('primary fiber is down');

    await api.observe('lab', 'up');
    await api.observe('lab', 'up');
    const ok = await api.call('POST', '/v1/sites/lab/failback', {
      key: api.keys.write,
      body: { reason: 'fiber fixed' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['failback']);
    expect(ok.body.site).toMatchObject({ mode: 'PRIMARY_ACTIVE', activeLink: 'fiber' });
  });
});

describe('incidents', () => {
  it('shows an incident with its timeline and explanations, and acknowledges it', async () => {
    const out = await failOver('hq');
    const id = out.state.incident!.id;
    const res = await api.call('GET', `/v1/incidents/${id}`, { key: api.keys.read });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, site: 'hq', kind: 'failover', status: 'open', acknowledged: false });
    expect(res.body.timeline.map((t: { kind: string }) => t.kind)).toEqual(['failover']);
    const explanation = res.body.timeline[0].explanation;
    expect(explanation.summary).toMatch(/fiber \(primary\) is down; lte \(backup\) is up/);
    expect(explanation.text).toContain('fiber (primary) DOWN: 3 down of 3 vantages (quorum 2)');
    expect(explanation.paths[0].votes[0].checks[0]).toMatchObject({ check: 'web-fiber', down: 2 });

    const ack = await api.call('POST', `/v1/incidents/${id}/acknowledge`, { key: api.keys.write });
    expect(ack.status).toBe(200);
    expect(ack.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['acknowledged']);
    expect(ack.body.site.incident).toMatchObject({ id, acknowledged: true });
    const after = await api.call('GET', `/v1/incidents/${id}`, { key: api.keys.read });
    expect(after.body.acknowledged).toBe(true);
    expect(after.body.timeline.map((t: { kind: string }) => t.kind)).toEqual(['failover', 'acknowledged']);
  });

  it('walks every incident exactly once through the pages, by Link header and by next', async () => {
    // Incidents on several sites: open ones, and lab's resolved one.
    await failOver('shop');
    const all = await api.call('GET', '/v1/incidents?limit=200', { key: api.keys.read });
    const ids = all.body.items.map((i: { id: string }) => i.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(all.body.next).toBeNull();
    expect(all.headers.get('link')).toBeNull();

    const byLink: string[] = [];
    let path: string | null = '/v1/incidents?limit=1';
    while (path) {
      const page = await api.call('GET', path, { key: api.keys.read });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      byLink.push(...page.body.items.map((i: { id: string }) => i.id));
      const link = page.headers.get('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      if (path) expect(path).toContain('limit=1');
    }
    expect(byLink).toEqual(ids);

    const byNext: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await api.call('GET', `/v1/incidents?limit=2${query}`, { key: api.keys.read });
      byNext.push(...page.body.items.map((i: { id: string }) => i.id));
      cursor = page.body.next;
    } while (cursor);
    expect(byNext).toEqual(ids);
    expect(new Set(byNext).size).toBe(byNext.length);
  });

  it('filters by site, status and time', async () => {
    const hq = await api.call('GET', '/v1/incidents?site=hq', { key: api.keys.read });
    expect(hq.body.items.every((i: { site: string }) => i.site === 'hq')).toBe(true);
    expect(hq.body.items.length).toBeGreaterThan(0);
    const resolved = await api.call('GET', '/v1/incidents?status=resolved', { key: api.keys.read });
    expect(resolved.body.items.map((i: { site: string; status: string }) => [i.site, i.status])).toEqual([
      ['lab', 'resolved'],
    ]);
    const future = await api.call('GET', `/v1/incidents?since=${new Date(api.clock.now() + 1000).toISOString()}`, {
      key: api.keys.read,
    });
    expect(future.body.items).toEqual([]);
  });

  it('answers 400 to a bad query: an unknown site, status, parameter, limit or cursor', async () => {
    const cases: [string, string][] = [
      ['site=atlantis', 'query.site'],
      ['status=closed', 'query.status'],
      ['limit=0', 'query.limit'],
      ['limit=many', 'query.limit'],
      ['since=yesterday', 'query.since'],
      ['stauts=open', 'query.stauts'],
      ['cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
    ];
    for (const [query, path] of cases) {
      const res = await api.call('GET', `/v1/incidents?${query}`, { key: api.keys.read });
      expect(res.status, query).toBe(400);
      expect(
        res.body.errors.map((e: { path: string }) => e.path),
        query,
      ).toEqual([path]);
    }
  });

  it('answers 400 naming an unknown query parameter on every route, `__proto__` and `constructor` included', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v1/incidents?__proto__=x', 'query.__proto__'],
      ['GET', '/v1/incidents?constructor=x&status=open', 'query.constructor'],
      ['GET', '/v1/maintenance?toString=1', 'query.toString'],
      // Routes that take no query at all refuse one too.
      ['GET', '/v1/sites?__proto__[admin]=1', 'query.__proto__[admin]'],
      ['GET', '/v1/sites/hq?verbose=1', 'query.verbose'],
      ['GET', '/v1/openapi.json?x=1', 'query.x'],
    ];
    for (const [method, path, field] of cases) {
      const res = await api.call(method, path, { key: api.keys.read });
      expect(res.status, path).toBe(400);
      expect(res.body.code, path).toBe('invalid-request');
      expect(res.body.errors, path).toEqual([{ path: field, message: 'unknown parameter' }]);
      expect(res.body.detail, path).toContain(field);
    }
    // A command with an unknown parameter changes nothing.
    const before = await api.deps.store.load('depot');
    const res = await api.call('POST', '/v1/sites/depot/failover?force=1', {
      key: api.keys.write,
      body: { reason: 'drill' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'query.force', message: 'unknown parameter' }]);
    expect(await api.deps.store.load('depot')).toEqual(before);
  });

  it('refuses to acknowledge a resolved incident', async () => {
    const resolved = await api.call('GET', '/v1/incidents?status=resolved', { key: api.keys.read });
    const id = resolved.body.items[0].id;
    const res = await api.call('POST', `/v1/incidents/${id}/acknowledge`, { key: api.keys.write });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('incident-resolved');
  });
});

describe('maintenance windows', () => {
  it('takes effect at once, freezes automation, and ends when deleted', async () => {
    const now = new Date(api.clock.now()).toISOString();
    const end = new Date(api.clock.now() + 3_600_000).toISOString();
    const created = await api.call('POST', '/v1/maintenance', {
      key: api.keys.write,
      body: { site: 'paged', start: now, end, reason: 'router firmware', ticket: 'CHG-77' },
    });
    expect(created.status).toBe(201);
    const window = created.body.window;
    expect(window).toMatchObject({
      site: 'paged',
      source: 'api',
      status: 'active',
      timezone: 'UTC',
      ticket: 'CHG-77',
      createdBy: 'ops-alice',
    });
    expect(window.id).toMatch(/^paged\.mw-[0-9a-f]{12}$/);
    expect(created.headers.get('location')).toBe(`/v1/maintenance/${window.id}`);
    expect(created.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['maintenance-started']);

    const site = await api.call('GET', '/v1/sites/paged', { key: api.keys.read });
    expect(site.body.maintenance).toMatchObject({ id: window.id, reason: 'router firmware', ticket: 'CHG-77' });

    // Frozen: the primary going down does not fail the site over, and alerts are recorded only.
    await api.observe('paged', 'down');
    const frozen = await api.observe('paged', 'down');
    expect(frozen.state.mode).toBe('PRIMARY_ACTIVE');

    const list = await api.call('GET', '/v1/maintenance?site=paged', { key: api.keys.read });
    expect(list.body.items.map((w: { id: string }) => w.id)).toEqual([window.id, 'yearly-check']);

    const deleted = await api.call('DELETE', `/v1/maintenance/${window.id}`, { key: api.keys.write });
    expect(deleted.status).toBe(200);
    expect(deleted.body.window.status).toBe('cancelled');
    expect(deleted.body.transitions.map((t: { kind: string }) => t.kind)).toContain('maintenance-ended');
    const gone = await api.call('DELETE', `/v1/maintenance/${window.id}`, { key: api.keys.write });
    expect(gone.status).toBe(404);
    const after = await api.call('GET', '/v1/maintenance?site=paged', { key: api.keys.read });
    expect(after.body.items.map((w: { id: string }) => w.id)).toEqual(['yearly-check']);
  });

  it('lists windows of sites.yaml beside those of the API, and refuses to delete them', async () => {
    const start = new Date(api.clock.now() + 86_400_000).toISOString();
    const end = new Date(api.clock.now() + 90_000_000).toISOString();
    const made = await api.call('POST', '/v1/maintenance', {
      key: api.keys.write,
      body: { site: 'lab', start, end, reason: 'later' },
    });
    expect(made.body.window.status).toBe('scheduled');
    expect(made.body.transitions).toEqual([]);
    const list = await api.call('GET', '/v1/maintenance', { key: api.keys.read });
    const lab = list.body.items.filter((w: { site: string }) => w.site === 'lab');
    expect(lab.map((w: { source: string; id: string }) => [w.source, w.id])).toEqual([
      ['api', made.body.window.id],
      ['config', 'yearly-check'],
    ]);
    expect(lab[1]).toMatchObject({
      start: '2027-01-10T22:00',
      timezone: 'Europe/Paris',
      startAt: '2027-01-10T21:00:00.000Z',
    });
    const refused = await api.call('DELETE', '/v1/maintenance/yearly-check', { key: api.keys.write });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('configured-window');
  });

  it('reads local times in the window time zone', async () => {
    const res = await api.call('POST', '/v1/maintenance', {
      key: api.keys.write,
      body: {
        site: 'hq',
        start: '2027-07-01T22:00',
        end: '2027-07-02T02:00',
        timezone: 'America/Chicago',
        reason: 'x',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.window).toMatchObject({ startAt: '2027-07-02T03:00:00.000Z', endAt: '2027-07-02T07:00:00.000Z' });
  });

  it('answers 400 to an unknown site or time zone, an end before the start, or a window already over', async () => {
    const base = { site: 'hq', start: '2027-07-01T22:00', end: '2027-07-02T02:00', reason: 'x' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, site: 'atlantis' }, 'body.site'],
      [{ ...base, timezone: 'Mars/Olympus' }, 'body.timezone'],
      [{ ...base, end: '2027-07-01T21:00' }, 'body.end'],
      [{ ...base, start: '2020-01-01T00:00', end: '2020-01-02T00:00' }, 'body.end'],
      [{ ...base, start: 'soon' }, 'body.start'],
    ];
    for (const [body, path] of cases) {
      const res = await api.call('POST', '/v1/maintenance', { key: api.keys.write, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
    expect((await api.call('GET', '/v1/maintenance?site=atlantis', { key: api.keys.read })).status).toBe(400);
  });

  it('does not alert again at the end of a window for a site that was down before it and is still down', async () => {
    if ((await api.deps.store.load('shop'))?.mode !== 'BACKUP_ACTIVE') await failOver('shop');
    expect((await api.deps.store.load('shop'))?.incident).not.toBeNull();
    const now = new Date(api.clock.now()).toISOString();
    const end = new Date(api.clock.now() + 7_200_000).toISOString();
    const made = await api.call('POST', '/v1/maintenance', {
      key: api.keys.write,
      body: { site: 'shop', start: now, end, reason: 'fiber splice' },
    });
    expect(made.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['maintenance-started']);
    await api.observe('shop', 'down');
    // Still down when the window ends: one reminder, not a second incident.
    const ended = await api.call('DELETE', `/v1/maintenance/${made.body.window.id}`, { key: api.keys.write });
    const kinds = ended.body.transitions.map((t: { kind: string }) => t.kind);
    expect(kinds).toEqual(['maintenance-ended', 'reminder']);
    expect(ended.body.transitions[1].explanation.summary).toMatch(/still unresolved after maintenance/);
    const alerts = api.decisions.at(-1)!.actions.filter((a) => a.kind === 'alert');
    expect(alerts.map((a) => a.kind === 'alert' && [a.event, a.suppressed])).toEqual([['reminder', false]]);
  });
});

describe('an operator failover on a failback: auto site, and racing commands', () => {
  let auto: ApiHarness;
  beforeAll(async () => {
    // Hold-down 0: without the operator's hold, any round would fail the site back at once.
    auto = await startApiHarness({
      config: apiTestConfig(['race', 'held', 'blind'], '    policy: { failback: auto, holdDownSeconds: 0 }\n'),
    });
    for (const site of ['race', 'held', 'blind']) for (let i = 0; i < 3; i++) await auto.observe(site, 'up');
  });
  afterAll(() => auto?.close());

  const post = (site: string, action: string, body: unknown) =>
    auto.call('POST', `/v1/sites/${site}/${action}`, { key: auto.keys.write, body });

  it('answers 20 concurrent failovers with one success and 19 conflicts naming the current state', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post('race', 'failover', { reason: `request ${i}` })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array<number>(19).fill(409)]);
    const winner = answers.find((a) => a.status === 200)!;
    expect(winner.body.transitions.map((t: { kind: string }) => t.kind)).toEqual(['failover']);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(['command-conflict', 'command-rejected']).toContain(refused.body.code);
      expect(refused.body.current).toMatchObject({
        mode: 'BACKUP_ACTIVE',
        activeLink: 'lte',
        operatorFailover: { by: 'ops-alice', until: null },
      });
    }
    expect((await auto.deps.store.listTransitions('race')).map((t) => t.kind)).toEqual(['failover']);
    for (let i = 0; i < 5; i++) await auto.observe('race', 'up');
    expect(await auto.deps.store.load('race')).toMatchObject({ mode: 'BACKUP_ACTIVE', activeLink: 'lte' });
    const back = await post('race', 'failback', { reason: 'done' });
    expect(back.status).toBe(200);
    expect(back.body.site).toMatchObject({ mode: 'PRIMARY_ACTIVE', operatorFailover: null });
  });

  it('holds a failover until `until`, validated: in the future, at most 7 days ahead', async () => {
    const at = (ms: number) => new Date(auto.clock.now() + ms).toISOString();
    const past = await post('held', 'failover', { reason: 'x', until: at(-1000) });
    expect(past.status).toBe(400);
    expect(past.body.errors).toEqual([{ path: 'body.until', message: 'must be in the future' }]);
    const far = await post('held', 'failover', { reason: 'x', until: at(8 * 86_400_000) });
    expect(far.status).toBe(400);
    expect(far.body.errors).toEqual([{ path: 'body.until', message: 'must be at most 7 days ahead' }]);
    const bad = await post('held', 'failover', { reason: 'x', until: 'tonight' });
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.until']);
    expect(await auto.deps.store.load('held')).toMatchObject({ mode: 'PRIMARY_ACTIVE' });

    const until = at(150_000);
    const ok = await post('held', 'failover', { reason: 'ISP work', until });
    expect(ok.status).toBe(200);
    expect(ok.body.site.operatorFailover).toEqual({ by: 'ops-alice', reason: 'ISP work', at: at(0), until });
    expect(ok.body.transitions[0].explanation.summary).toContain(`until an operator fails back or until ${until}`);
    await auto.observe('held', 'up');
    await auto.observe('held', 'up');
    expect(await auto.deps.store.load('held')).toMatchObject({ mode: 'BACKUP_ACTIVE' });
    const out = await auto.observe('held', 'up'); // 3 minutes: `until` has passed
    expect(out.transitions.map((t) => t.kind)).toEqual(['failback']);
    expect(out.transitions[0]!.explanation.summary).toContain(`ops-alice's failover held until`);
  });

  it('answers a pin to the other side with 409 override-conflict, with the current state', async () => {
    expect(
      (
        await auto.call('POST', '/v1/sites/held/override', {
          key: auto.keys.write,
          body: { pin: 'backup', reason: 'a' },
        })
      ).status,
    ).toBe(200);
    const other = await auto.call('POST', '/v1/sites/held/override', {
      key: auto.keys.write,
      body: { pin: 'primary', reason: 'b' },
    });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ code: 'override-conflict', current: { override: { pin: 'backup' } } });
    await auto.call('POST', '/v1/sites/held/override', { key: auto.keys.write, body: { clear: true, reason: 'c' } });
  });

  it("shows the quorum in the site's view, and a quorum-lost episode when regions stop reporting", async () => {
    await auto.observe('blind', 'up');
    const healthy = await auto.call('GET', '/v1/sites/blind', { key: auto.keys.read });
    expect(healthy.body.quorum).toEqual({ needed: 2, regions: 3, reporting: 3, lost: false, since: null, missing: [] });
    const lastRound = new Date(auto.clock.now()).toISOString();
    const kinds: string[] = [];
    // Stale after 2.5 + 1.25 intervals (shared/domain/write-policy.ts), lost after 1.5 more.
    for (let i = 0; i < 7; i++) {
      auto.clock.advance(60_000);
      const batch = testBatch({
        site: 'blind',
        vantage: 'region:us-east-1',
        at: auto.clock.now(),
        results: [
          { check: 'web-fiber', link: 'fiber', outcome: 'up' },
          { check: 'web-lte', link: 'lte', outcome: 'up' },
        ],
      });
      const out = await decideSite(decideDeps(auto.deps), { site: 'blind', batches: [batch] });
      kinds.push(...out.transitions.map((t) => t.kind));
    }
    expect(kinds).toEqual(['quorum-lost']);
    const blind = await auto.call('GET', '/v1/sites/blind', { key: auto.keys.read });
    expect(blind.body.quorum).toMatchObject({ needed: 2, regions: 3, reporting: 1, lost: true });
    expect(blind.body.quorum.missing).toEqual([
      { region: 'us-west-2', reason: 'stale', lastAt: lastRound, detail: '' },
      { region: 'eu-west-1', reason: 'stale', lastAt: lastRound, detail: '' },
    ]);
    const [transition] = await auto.deps.store.listTransitions('blind');
    expect(transition).toMatchObject({ kind: 'quorum-lost', explanation: { regions: { reporting: 1, total: 3 } } });
  });
});
