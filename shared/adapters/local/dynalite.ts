import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { DOCUMENT_TRANSLATION } from '../aws/dynamodb-state-store.ts';
import { createTable } from '../aws/table.ts';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}

// dynalite is CommonJS without type declarations.
const requireHere = createRequire(import.meta.url);
const dynalite = requireHere('dynalite') as (options: DynaliteOptions) => Server;

interface LevelIterator {
  close(): Promise<void>;
  return?: () => Promise<IteratorResult<never, undefined>>;
}

/**
 * dynalite 4.0.0 turns every Query and Scan into a stream over a LevelDB iterator and, when the stream ends or is
 * destroyed, frees the iterator with `iterator.return()`. abstract-level 3 iterators have no `return()`, only
 * `close()`, so none was ever closed: each one stayed registered with the database and pinned the in-memory tree as it
 * was when the iterator opened (every old version of every item; the open LevelDB snapshot on disk). This gives the
 * iterators the `return()` dynalite calls, as `close()`; a later abstract-level with its own `return()` is left alone.
 */
function closeLevelIteratorsOnReturn(): void {
  const level = createRequire(requireHere.resolve('dynalite'))('abstract-level') as {
    AbstractValueIterator: { prototype: object };
  };
  // The common base class of the entry, key and value iterators (not exported by abstract-level).
  const base = Object.getPrototypeOf(level.AbstractValueIterator.prototype) as LevelIterator;
  if (typeof base.close !== 'function') throw new Error('abstract-level: iterators have no close()');
  if (typeof base.return === 'function') return;
  Object.defineProperty(base, 'return', {
    configurable: true,
    writable: true,
    value: async function (this: LevelIterator): Promise<IteratorResult<never, undefined>> {
      await this.close();
      return { done: true, value: undefined };
    },
  });
}

export interface StartDynaliteOptions {
  /** A directory for the LevelDB files, kept across restarts. @default in memory */
  readonly path?: string;
  /** @default 'failover' */
  readonly tableName?: string;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
}

/** A running DynamoDB emulator with the failover table created. */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly tableName: string;
  /** A document client for `endpoint`, configured like the production one. */
  readonly client: DynamoDBDocumentClient;
  /** Destroys the client and stops the emulator (closing its LevelDB store). */
  close(): Promise<void>;
}

/**
 * Starts dynalite (an in-process DynamoDB emulator) on 127.0.0.1, in memory unless `path` is given, and creates the
 * failover table. dynalite has no transactions and never expires TTL items: the adapter needs neither.
 */
export async function startDynalite(options: StartDynaliteOptions = {}): Promise<LocalDynamo> {
  const tableName = options.tableName ?? 'failover';
  closeLevelIteratorsOnReturn();
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const client = DynamoDBDocumentClient.from(base, DOCUMENT_TRANSLATION);
  let closed: Promise<void> | undefined;
  // dynalite closes its store once the HTTP server has closed, that is once no connection is left. Destroying the
  // client first cut the connections of requests still being served, so the store closed under them and their writes
  // threw "Database is closed" inside dynalite, where nothing can catch it. So: stop listening, let every request in
  // flight get its answer (closing each kept-alive connection as it goes idle), and only then destroy the client.
  const close = () =>
    (closed ??= (async () => {
      const stopped = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      const sweep = setInterval(() => server.closeIdleConnections(), 10);
      try {
        await stopped;
      } finally {
        clearInterval(sweep);
        base.destroy(); // the document client's destroy() does nothing
      }
    })());
  try {
    await createTable(base, tableName);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { endpoint, tableName, client, close };
}
