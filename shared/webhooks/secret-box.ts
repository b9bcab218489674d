import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FailoverError } from '../errors.ts';
import { assertPrivateFile } from '../secret-file.ts';

/** Seals secrets for storage and opens them again: subscriptions' signing secrets, routing keys, auth headers. */
export interface SecretBox {
  /** `context` (e.g. the subscription id) is bound to the result: the sealed text opens only with the same one. */
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
}

/** A sealed value that cannot be opened: tampered with, sealed for another context, or by an unknown key. */
export class SealedSecretError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SEALED_SECRET_INVALID', message, options);
    this.name = 'SealedSecretError';
  }
}

/** AES-256 keys by id, and the id new values are sealed with. Old keys stay so that old values still open. */
export interface KeyRing {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/**
 * Reads a key ring from its stored text: JSON `{ "current": "k2", "keys": { "k1": "<base64>", "k2": "<base64>" } }`
 * (keys of 32 bytes), or any other text of at least 32 characters, from which one key `k0` is derived with HKDF
 * (what a generated Secrets Manager secret holds).
 */
export function parseKeyRing(text: string): KeyRing {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const doc = JSON.parse(trimmed) as { current?: unknown; keys?: Record<string, unknown> };
    const keys = new Map<string, Buffer>();
    for (const [id, value] of Object.entries(doc.keys ?? {})) {
      const key = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) throw new RangeError(`key ring: bad key "${id}"`);
      keys.set(id, key);
    }
    if (typeof doc.current !== 'string' || !keys.has(doc.current))
      throw new RangeError('key ring: "current" names no key');
    return { current: doc.current, keys };
  }
  if (trimmed.length < 32) throw new RangeError('key ring: expected JSON or at least 32 characters of key material');
  const key = Buffer.from(hkdfSync('sha256', trimmed, 'failover', 'webhook secret box v1', 32));
  return { current: 'k0', keys: new Map([['k0', key]]) };
}

/** The text of a new key ring with one random key. */
export function newKeyRingText(): string {
  return JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
}

/**
 * AES-256-GCM with a key ring: `v1.<key id>.<iv>.<ciphertext and tag>` (base64url), the context as additional
 * data. The ring is loaded on first use; a value sealed by a key the cached ring lacks (rotated since) reloads it
 * once.
 */
export class AesGcmSecretBox implements SecretBox {
  readonly #load: () => Promise<KeyRing>;
  #ring: Promise<KeyRing> | undefined;

  constructor(load: () => Promise<KeyRing>) {
    this.#load = load;
  }

  async seal(plaintext: string, context: string): Promise<string> {
    const ring = await this.#current();
    const key = ring.keys.get(ring.current)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return ['v1', ring.current, iv.toString('base64url'), data.toString('base64url')].join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const [version, keyId, iv, data] = sealed.split('.');
    if (version !== 'v1' || !keyId || !iv || !data) throw new SealedSecretError('not a sealed value');
    let key = (await this.#current()).keys.get(keyId);
    if (!key) {
      this.#ring = undefined;
      key = (await this.#current()).keys.get(keyId);
    }
    if (!key) throw new SealedSecretError(`sealed by key ${keyId}, which the key ring no longer holds`);
    const bytes = Buffer.from(data, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SealedSecretError('sealed value does not open (tampered with, or sealed for something else)', {
        cause: error,
      });
    }
  }

  #current(): Promise<KeyRing> {
    this.#ring ??= this.#load().catch((error: unknown) => {
      this.#ring = undefined;
      throw error;
    });
    return this.#ring;
  }
}

/**
 * The local runtime's SecretBox: its key ring in `file` (created with one random key and mode 0600 when absent),
 * or, without a file, a random key that lives as long as the process (an in-memory state store forgets its
 * subscriptions just as fast).
 */
export function localSecretBox(file?: string): AesGcmSecretBox {
  return new AesGcmSecretBox(async () => {
    if (!file) return parseKeyRing(newKeyRingText());
    if (await assertPrivateFile(file, 'the webhook key ring')) return parseKeyRing(await readFile(file, 'utf8'));
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const text = newKeyRingText();
    try {
      await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parseKeyRing(await readFile(file, 'utf8'));
      throw error;
    }
    await chmod(file, 0o600);
    return parseKeyRing(text);
  });
}
