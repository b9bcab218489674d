import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AesGcmSecretBox, localSecretBox, parseKeyRing, SealedSecretError } from '../../shared/webhooks/secret-box.ts';
import { createSecretResolver, SecretUnavailableError } from '../../shared/webhooks/secrets.ts';

describe('AesGcmSecretBox', () => {
  it('opens what it sealed, only with the same context, and never shows the secret', async () => {
    const box = localSecretBox();
    const sealed = await box.seal('whsec_c2VjcmV0', 'sub_1');
    expect(sealed).toMatch(/^v1\.k1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('c2VjcmV0');
    expect(await box.open(sealed, 'sub_1')).toBe('whsec_c2VjcmV0');
    expect(await box.seal('whsec_c2VjcmV0', 'sub_1')).not.toBe(sealed);
    await expect(box.open(sealed, 'sub_2')).rejects.toBeInstanceOf(SealedSecretError);
    const [v, k, iv, data] = sealed.split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    await expect(box.open([v, k, iv, flipped.toString('base64url')].join('.'), 'sub_1')).rejects.toBeInstanceOf(
      SealedSecretError,
    );
    await expect(box.open('plain text', 'sub_1')).rejects.toBeInstanceOf(SealedSecretError);
  });

  it('keeps its key in a file of mode 0600, used again by the next process', async () => {
    const file = join(inject('scratchDir'), `webhook-key-${randomBytes(4).toString('hex')}.json`);
    const sealed = await localSecretBox(file).seal('value', 'ctx');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await localSecretBox(file).open(sealed, 'ctx')).toBe('value');
    await expect(localSecretBox().open(sealed, 'ctx')).rejects.toBeInstanceOf(SealedSecretError);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ current: 'k1' });
  });

  it('after a key rotation, seals with the new key and still opens values of the old one', async () => {
    const file = join(inject('scratchDir'), `webhook-ring-${randomBytes(4).toString('hex')}.json`);
    const k1 = randomBytes(32).toString('base64');
    await writeFile(file, JSON.stringify({ current: 'k1', keys: { k1 } }), { mode: 0o600 });
    const old = await localSecretBox(file).seal('old value', 'ctx');
    let text = JSON.stringify({ current: 'k1', keys: { k1 } });
    const box = new AesGcmSecretBox(async () => parseKeyRing(text));
    expect(await box.open(old, 'ctx')).toBe('old value');
    text = JSON.stringify({ current: 'k2', keys: { k1, k2: randomBytes(32).toString('base64') } });
    // The cached ring lacks k2 until a value names it; new values still seal with the cached current key.
    const box2 = new AesGcmSecretBox(async () => parseKeyRing(text));
    const fresh = await box2.seal('new value', 'ctx');
    expect(fresh.split('.')[1]).toBe('k2');
    expect(await box.open(fresh, 'ctx')).toBe('new value');
    expect(await box2.open(old, 'ctx')).toBe('old value');
  });

  it('reads key rings as JSON or derives one key from plain key material', () => {
    expect(parseKeyRing('x'.repeat(64)).current).toBe('k0');
    expect(() => parseKeyRing('short')).toThrow(RangeError);
    expect(() => parseKeyRing('{"current":"k9","keys":{}}')).toThrow(RangeError);
    expect(() => parseKeyRing('{"current":"k1","keys":{"k1":"c2hvcnQ="}}')).toThrow(RangeError);
  });
});

describe('createSecretResolver', () => {
  it('reads environment variables and Secrets Manager values (whole or one JSON field), cached', async () => {
    let fetches = 0;
    const resolve = createSecretResolver({
      env: { HOOK_SECRET: 'from-env' },
      fetch: async (id) => {
        fetches++;
        return id === 'json' ? '{"zendesk":"from-json"}' : 'from-sm';
      },
    });
    expect(await resolve({ env: 'HOOK_SECRET' })).toBe('from-env');
    expect(await resolve({ secretsManager: 'plain' })).toBe('from-sm');
    expect(await resolve({ secretsManager: 'json', field: 'zendesk' })).toBe('from-json');
    expect(await resolve({ secretsManager: 'plain' })).toBe('from-sm');
    expect(fetches).toBe(2);
    await expect(resolve({ env: 'MISSING' })).rejects.toBeInstanceOf(SecretUnavailableError);
    await expect(resolve({ secretsManager: 'json', field: 'nope' })).rejects.toBeInstanceOf(SecretUnavailableError);
    await expect(createSecretResolver({ env: {} })({ secretsManager: 'x' })).rejects.toThrow(/no Secrets Manager/);
  });
});
