import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../ports/clock.ts';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../ports/api-key-store.ts';

/**
 * API keys are `fo_<id>_<secret>`: 8 random bytes of id (the public part, the store's key) and 32 of secret, both
 * hex. The store keeps HMAC-SHA256(pepper, key): the secret is 256 random bits, so no guessing can be sped up and a
 * slow password hash (scrypt, ~50 ms per call) would buy nothing but latency; the pepper lives outside the table
 * (Secrets Manager, or a file locally), so a copy of the table alone cannot even check a guess.
 */
const KEY = /^fo_([0-9a-f]{16})_([0-9a-f]{64})$/;

/** Record a use at most this often per key: a write per request would double the API's writes for no benefit. */
export const TOUCH_EVERY_MS = 5 * 60_000;

/** The id of a well-formed key, or null. */
export function apiKeyId(key: string): string | null {
  return KEY.exec(key)?.[1] ?? null;
}

/** The stored hash of `key`. */
export function hashApiKey(pepper: Buffer, key: string): string {
  return createHmac('sha256', pepper).update(key, 'utf8').digest('base64url');
}

export interface ApiKeyDeps {
  readonly store: ApiKeyStore;
  /** The pepper, loaded once (see loadPepperFile and loadPepperSecret). */
  readonly pepper: () => Promise<Buffer>;
  readonly clock: Clock;
}

/** Makes a key and stores its hash; the key itself is returned once and kept nowhere. */
export async function issueApiKey(
  deps: ApiKeyDeps,
  input: { name: string; scope: ApiKeyScope },
): Promise<{ key: string; record: ApiKeyRecord }> {
  const id = randomBytes(8).toString('hex');
  const key = `fo_${id}_${randomBytes(32).toString('hex')}`;
  const record: ApiKeyRecord = {
    id,
    name: input.name,
    scope: input.scope,
    hash: hashApiKey(await deps.pepper(), key),
    createdAt: deps.clock.now(),
    revokedAt: null,
    lastUsedAt: null,
  };
  await deps.store.create(record);
  return { key, record };
}

/** The record of a valid key (well-formed, known, hash matching, not revoked), or null. Records the use. */
export async function verifyApiKey(deps: ApiKeyDeps, key: string): Promise<ApiKeyRecord | null> {
  const id = apiKeyId(key);
  if (!id) return null;
  const record = await deps.store.get(id);
  if (!record || record.revokedAt !== null) return null;
  const want = Buffer.from(record.hash, 'base64url');
  const got = Buffer.from(hashApiKey(await deps.pepper(), key), 'base64url');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  const now = deps.clock.now();
  if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_EVERY_MS) {
    // Bookkeeping: a failure here must not fail the request.
    await deps.store.touch(record, now).catch(() => undefined);
  }
  return record;
}

/** Whether a key of scope `has` may call a route that needs `needs`. */
export function scopeAllows(has: ApiKeyScope, needs: ApiKeyScope): boolean {
  return has === 'write' || needs === 'read';
}

/** A pepper loader that reads once and remembers the value; a failed read is tried again next time. */
export function cachedPepper(load: () => Promise<Buffer>): () => Promise<Buffer> {
  let value: Promise<Buffer> | undefined;
  return () =>
    (value ??= load().catch((error: unknown) => {
      value = undefined;
      throw error;
    }));
}
