import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { FileApiKeyStore, localApiKeys } from '../../shared/adapters/local/file-api-key-store.ts';
import { loadPepperFile } from '../../shared/adapters/local/file-pepper.ts';
import { apiKeyId, cachedPepper, hashApiKey, issueApiKey, verifyApiKey } from '../../shared/api/api-keys.ts';
import { ApiKeyExistsError, type ApiKeyRecord, type ApiKeyStore } from '../../shared/ports/api-key-store.ts';
import {
  apiMaintenanceWindows,
  siteOfWindowId,
  type MaintenanceStore,
  type StoredMaintenanceWindow,
} from '../../shared/ports/maintenance-store.ts';
import { apiTestConfig, testClock, T0 } from '../support/api.ts';
import { javaAvailable, peersRequired, startDynamoDbLocal, type DynamoDbLocal } from '../support/dynamodb-local.ts';

let dynamo: LocalDynamo;
let dir: string;
beforeAll(async () => {
  dynamo = await startDynalite();
  dir = await mkdtemp(join(tmpdir(), 'failover-keys-'));
});
afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

const record = (id: string, createdAt: number, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  name: `key ${id}`,
  scope: 'read',
  hash: 'aGFzaA',
  createdAt,
  revokedAt: null,
  lastUsedAt: null,
  ...extra,
});

/** The ApiKeyStore contract: every adapter passes it. */
function apiKeyStoreContract(name: string, make: () => Promise<ApiKeyStore>) {
  describe(`${name} (the ApiKeyStore contract)`, () => {
    let store: ApiKeyStore;
    beforeAll(async () => {
      store = await make();
    });
    it('stores, gets and lists keys, oldest first, and refuses a taken id', async () => {
      expect(await store.list()).toEqual([]);
      await store.create(record('00000000000000b2', T0 + 2, { scope: 'write' }));
      await store.create(record('00000000000000a1', T0 + 1));
      expect(await store.get('00000000000000b2')).toEqual(record('00000000000000b2', T0 + 2, { scope: 'write' }));
      expect(await store.get('0000000000000000')).toBeNull();
      expect(await store.get('not-an-id')).toBeNull();
      expect((await store.list()).map((r) => r.id)).toEqual(['00000000000000a1', '00000000000000b2']);
      await expect(store.create(record('00000000000000a1', T0))).rejects.toBeInstanceOf(ApiKeyExistsError);
    });

    it('records uses, and revokes for good: a later use never undoes it', async () => {
      const r = (await store.get('00000000000000a1'))!;
      await store.touch(r, T0 + 10);
      expect((await store.get(r.id))?.lastUsedAt).toBe(T0 + 10);
      const revoked = await store.revoke(r.id, T0 + 20);
      expect(revoked).toMatchObject({ id: r.id, revokedAt: T0 + 20 });
      await store.touch(r, T0 + 30);
      const after = (await store.get(r.id))!;
      expect(after.revokedAt).toBe(T0 + 20);
      expect(await store.revoke(r.id, T0 + 40)).toMatchObject({ revokedAt: T0 + 20 });
      expect(await store.revoke('0000000000000000', T0)).toBeNull();
      expect((await store.list()).map((k) => [k.id, k.revokedAt])).toEqual([
        ['00000000000000a1', T0 + 20],
        ['00000000000000b2', null],
      ]);
    });
  });
}

// DynamoDB Local needs `java` (Debian: openjdk-17-jre-headless); without it those suites are skipped, except in CI.
const java = await javaAvailable();
let local: Promise<DynamoDbLocal> | undefined;
const dynamoDbLocal = () => (local ??= startDynamoDbLocal());
afterAll(async () => (await local)?.close());

apiKeyStoreContract('DynamoDbApiKeyStore on dynalite', async () => new DynamoDbApiKeyStore(dynamo));
apiKeyStoreContract('FileApiKeyStore', async () => new FileApiKeyStore(join(dir, 'keys')));
describe.skipIf(!java && !peersRequired)('on DynamoDB Local', () => {
  apiKeyStoreContract(
    'DynamoDbApiKeyStore on DynamoDB Local',
    async () => new DynamoDbApiKeyStore(await dynamoDbLocal()),
  );
  maintenanceStoreContract(
    'DynamoDbMaintenanceStore on DynamoDB Local',
    async () => new DynamoDbMaintenanceStore(await dynamoDbLocal()),
  );
});

describe('API keys', () => {
  it('are fo_<16 hex>_<64 hex>, stored as an HMAC under the pepper, verified in constant time', async () => {
    const clock = testClock();
    const store = new FileApiKeyStore(join(dir, 'issued'));
    const pepper = Buffer.from('pepper-one');
    const { key, record: stored } = await issueApiKey(
      { store, pepper: async () => pepper, clock },
      {
        name: 'alice',
        scope: 'write',
      },
    );
    expect(key).toMatch(/^fo_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(apiKeyId(key)).toBe(stored.id);
    expect(stored.hash).toBe(hashApiKey(pepper, key));
    const files = await readdir(join(dir, 'issued'));
    const text = await readFile(join(dir, 'issued', files[0]!), 'utf8');
    expect(text).not.toContain(key.split('_')[2]);

    const deps = { store, pepper: async () => pepper, clock };
    expect(await verifyApiKey(deps, key)).toMatchObject({ id: stored.id, name: 'alice' });
    expect(await verifyApiKey({ ...deps, pepper: async () => Buffer.from('another') }, key)).toBeNull();
    expect(await verifyApiKey(deps, key.slice(0, -1) + (key.endsWith('0') ? '1' : '0'))).toBeNull();
  });

  it('record a use at most every five minutes', async () => {
    const clock = testClock();
    const store = new FileApiKeyStore(join(dir, 'touch'));
    const deps = { store, pepper: async () => Buffer.from('p'), clock };
    const { key, record: r } = await issueApiKey(deps, { name: 'x', scope: 'read' });
    await verifyApiKey(deps, key);
    expect((await store.get(r.id))?.lastUsedAt).toBe(T0);
    clock.advance(60_000);
    await verifyApiKey(deps, key);
    expect((await store.get(r.id))?.lastUsedAt).toBe(T0);
    clock.advance(5 * 60_000);
    await verifyApiKey(deps, key);
    expect((await store.get(r.id))?.lastUsedAt).toBe(T0 + 6 * 60_000);
  });

  it('keep the local pepper in a 0600 file made once, shared by every reader', async () => {
    const file = join(dir, 'data', 'api-key-pepper');
    const [a, b] = await Promise.all([loadPepperFile(file), loadPepperFile(file)]);
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const local = localApiKeys(join(dir, 'data'));
    expect((await local.pepper()).equals(a)).toBe(true);
  });

  it('cache the pepper, but read again after a failure', async () => {
    let calls = 0;
    const pepper = cachedPepper(async () => {
      calls++;
      if (calls === 1) throw new Error('throttled');
      return Buffer.from('p');
    });
    await expect(pepper()).rejects.toThrow('throttled');
    expect((await pepper()).toString()).toBe('p');
    await pepper();
    expect(calls).toBe(2);
  });
});

/** The MaintenanceStore contract. */
function maintenanceStoreContract(name: string, make: () => Promise<MaintenanceStore>) {
  describe(name, () => {
    const window = (id: string, startMs: number, endMs: number): StoredMaintenanceWindow => ({
      id,
      site: 'hq',
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      timezone: 'UTC',
      startMs,
      endMs,
      reason: 'works',
      ticket: null,
      createdBy: 'alice',
      createdAt: T0,
      cancelledAt: null,
      cancelledBy: null,
    });

    it("lists a site's windows that have not ended and are not cancelled, by start; feeds decideSite", async () => {
      const store = await make();
      const past = window('hq.mw-000000000001', T0 - 7_200_000, T0 - 3_600_000);
      const later = window('hq.mw-000000000002', T0 + 7_200_000, T0 + 9_000_000);
      const now = { ...window('hq.mw-000000000003', T0 - 60_000, T0 + 3_600_000), ticket: 'CHG-1' };
      for (const w of [past, later, now]) await store.create(w);
      await expect(store.create(now)).rejects.toThrow(/exists already/);
      expect(await store.get(now.id)).toEqual(now);
      expect(await store.get('hq.mw-ffffffffffff')).toBeNull();
      expect(await store.get('yearly-check')).toBeNull();
      expect((await store.listForSite('hq', T0)).map((w) => w.id)).toEqual([now.id, later.id]);
      expect(await store.listForSite('shop', T0)).toEqual([]);

      const [site] = apiTestConfig(['hq']).sites;
      const windows = await apiMaintenanceWindows(store, testClock())(site!);
      expect(windows).toEqual([
        { id: now.id, startMs: now.startMs, endMs: now.endMs, reason: 'works', ticket: 'CHG-1' },
        { id: later.id, startMs: later.startMs, endMs: later.endMs, reason: 'works', ticket: undefined },
      ]);

      expect(await store.cancel(now.id, 'bob', T0 + 1)).toMatchObject({ cancelledAt: T0 + 1, cancelledBy: 'bob' });
      expect(await store.cancel(now.id, 'bob', T0 + 2)).toBeNull();
      expect(await store.cancel('hq.mw-ffffffffffff', 'bob', T0)).toBeNull();
      expect((await store.listForSite('hq', T0)).map((w) => w.id)).toEqual([later.id]);
      expect((await store.get(now.id))?.cancelledAt).toBe(T0 + 1);
    });
  });
}

maintenanceStoreContract('DynamoDbMaintenanceStore on dynalite', async () => new DynamoDbMaintenanceStore(dynamo));

describe('maintenance window ids', () => {
  it('takes the site from the window id', () => {
    expect(siteOfWindowId('store-12.mw-0123456789ab')).toBe('store-12');
    expect(siteOfWindowId('yearly-check')).toBeNull();
    expect(siteOfWindowId('hq.mw-xyz')).toBeNull();
  });
});
