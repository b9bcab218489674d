import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';

/** Makes the state directory (mode 0700: it holds replay records and pending reports). */
export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * One JSON document in the state directory, replaced atomically (write a temporary file, fsync, rename), so that a
 * crash or power loss leaves either the old or the new document, never half of one. Writes are serialized.
 */
export class JsonFile<T> {
  readonly path: string;
  readonly #schema: z.ZodType<T>;
  #chain: Promise<void> = Promise.resolve();

  constructor(dir: string, name: string, schema: z.ZodType<T>) {
    this.path = join(dir, name);
    this.#schema = schema;
  }

  /**
   * The stored document; `undefined` when there is none. A document that does not parse is moved aside (to
   * `<name>.corrupt-<time>`) and reported through `onCorrupt`, and `undefined` is returned.
   */
  async read(onCorrupt?: (message: string) => void): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return this.#schema.parse(JSON.parse(text));
    } catch (error) {
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, aside).catch(() => undefined);
      onCorrupt?.(`${this.path} is unreadable (${(error as Error).message.split('\n')[0]}); moved to ${aside}`);
      return undefined;
    }
  }

  /** Replaces the document; resolves once it is on disk. */
  write(value: T): Promise<void> {
    const next = this.#chain.then(() => this.#write(value));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #write(value: T): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
    const handle = await open(tmp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
  }

  /** Resolves when every write started so far has finished. */
  flushed(): Promise<void> {
    return this.#chain;
  }
}
