import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startDynalite } from '../../shared/adapters/local/dynalite.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/**
 * The local runtime's state store can be closed while its loops still write (the runtime's stop, or a test taking
 * the store away). Before the fix, close() destroyed the client first: dynalite saw no connection left, closed its
 * store, and the writes it was still serving threw "Database is closed" inside dynalite, uncaught (vitest's run
 * failed on it after every test had passed). Now every write in flight gets its answer before the store closes: no
 * error escapes, and every write acknowledged is there when the store opens again.
 */
describe('startDynalite: close under load', () => {
  const uncaught: unknown[] = [];
  const collect = (error: unknown) => uncaught.push(error);
  let dir: string | undefined;

  afterEach(async () => {
    process.off('uncaughtException', collect);
    process.off('unhandledRejection', collect);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every write in flight before closing the store, and loses none it acknowledged', async () => {
    process.on('uncaughtException', collect);
    process.on('unhandledRejection', collect);
    dir = await mkdtemp(join(tmpdir(), 'failover-dynalite-close-'));
    const acknowledged: string[] = [];
    for (let round = 0; round < 5; round++) {
      const dynamo = await startDynalite({ path: dir });
      let stop = false;
      const writers = Array.from({ length: 8 }, async (_, writer) => {
        for (let n = 0; !stop; n++) {
          const sk = `R${round}#W${writer}#${n}`;
          try {
            await dynamo.client.send(
              new PutCommand({ TableName: dynamo.tableName, Item: { pk: 'LOAD', sk, pad: 'x'.repeat(2000) } }),
            );
            acknowledged.push(sk);
          } catch {
            await sleep(5); // refused once the store is closing: what a caller sees, and retries later
          }
        }
      });
      // Wait until the writers are well under way (not a fixed sleep: a loaded machine writes slower).
      const before = acknowledged.length;
      while (acknowledged.length < before + 50) await sleep(5);
      await dynamo.close();
      stop = true;
      await Promise.all(writers);
    }
    // Give an error thrown after close a chance to surface before judging.
    await sleep(200);
    expect(uncaught).toEqual([]);

    const reopened = await startDynalite({ path: dir });
    try {
      const missing: string[] = [];
      for (const sk of acknowledged) {
        const { Item } = await reopened.client.send(
          new GetCommand({ TableName: reopened.tableName, Key: { pk: 'LOAD', sk } }),
        );
        if (!Item) missing.push(sk);
      }
      expect(missing).toEqual([]);
      expect(acknowledged.length).toBeGreaterThan(250);
    } finally {
      await reopened.close();
    }
  }, 120_000);
});
