import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedPepper } from '../../api/api-keys.ts';
import { ApiKeyExistsError, type ApiKeyRecord, type ApiKeyStore } from '../../ports/api-key-store.ts';
import { loadPepperFile } from './file-pepper.ts';

const ID = /^[0-9a-f]{16}$/;

/**
 * ApiKeyStore in a directory, for the local runtime: `<id>.json` per key and `<id>.last-used` beside it. Files, not
 * dynalite, so that `failover api-key create --data-dir` works while `failover local` holds the database open. Each
 * write is a whole file renamed into place, and uses go to their own file, so a use never undoes a revocation.
 */
export class FileApiKeyStore implements ApiKeyStore {
  readonly #dir: string;

  /** `dir` is created on the first write. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  async create(record: ApiKeyRecord): Promise<void> {
    assertId(record.id);
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const { lastUsedAt: _, ...rest } = record;
    try {
      await writeFile(this.#file(record.id), JSON.stringify(rest, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ApiKeyExistsError(record.id);
      throw error;
    }
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    if (!ID.test(id)) return null;
    const text = await readOrNull(this.#file(id));
    if (text === null) return null;
    const stored = JSON.parse(text) as Omit<ApiKeyRecord, 'lastUsedAt'>;
    const used = await readOrNull(join(this.#dir, `${id}.last-used`));
    return { ...stored, revokedAt: stored.revokedAt ?? null, lastUsedAt: used === null ? null : Number(used) || null };
  }

  async list(): Promise<ApiKeyRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records
      .filter((r): r is ApiKeyRecord => r !== null)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async revoke(id: string, at: number): Promise<ApiKeyRecord | null> {
    const current = await this.get(id);
    if (!current || current.revokedAt !== null) return current;
    const { lastUsedAt: _, ...rest } = current;
    await this.#replace(this.#file(id), JSON.stringify({ ...rest, revokedAt: at }, null, 2) + '\n');
    return { ...current, revokedAt: at };
  }

  async touch(record: ApiKeyRecord, at: number): Promise<void> {
    if (!ID.test(record.id)) return;
    await this.#replace(join(this.#dir, `${record.id}.last-used`), String(at));
  }

  #file(id: string): string {
    return join(this.#dir, `${id}.json`);
  }

  async #replace(file: string, text: string): Promise<void> {
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  }
}

function assertId(id: string): void {
  if (!ID.test(id)) throw new RangeError(`not an API key id: ${id}`);
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The local runtime's API keys under a data directory: the keys in `<dir>/api-keys/`, the pepper in
 * `<dir>/api-key-pepper` (made on first use). `failover api-key create --data-dir` and the local API share them.
 */
export function localApiKeys(dataDir: string): { store: FileApiKeyStore; pepper: () => Promise<Buffer> } {
  return {
    store: new FileApiKeyStore(join(dataDir, 'api-keys')),
    pepper: cachedPepper(() => loadPepperFile(join(dataDir, 'api-key-pepper'))),
  };
}
