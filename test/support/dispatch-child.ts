// A dispatcher in its own process, for the crash test: it applies the site's actions for real (the alert sent and
// remembered), but never gets to clear them from the outbox: it announces it is done applying and waits, to be killed.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DOCUMENT_TRANSLATION, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { startDnsServer } from '../../shared/adapters/local/dns-server.ts';
import { LocalDnsRouter } from '../../shared/adapters/local/local-dns-router.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { StateStore } from '../../shared/ports/state-store.ts';
import { dispatchSite } from '../../shared/usecases/dispatch.ts';

const [endpoint, tableName, configFile, alerts, site] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const config = await loadConfig(configFile);
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  DOCUMENT_TRANSLATION,
);
const real = new DynamoDbStateStore({ tableName, client });
const hang = () => new Promise<never>(() => undefined);
const store = new Proxy(real, {
  get(target, name) {
    if (name === 'save') return hang; // clearing the outbox never happens
    if (name === 'markApplied')
      return async (...args: Parameters<StateStore['markApplied']>) => {
        await target.markApplied(...args);
        process.send!({ type: 'applied' });
        return hang();
      };
    const value = Reflect.get(target, name) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  },
}) as StateStore;
const dns = await startDnsServer({ port: 0, zones: ['example.com'] });
await dispatchSite(
  {
    config,
    store,
    clock: { now: () => Date.now() },
    dns: new LocalDnsRouter(dns),
    notifier: new ConsoleNotifier({ jsonlPath: alerts, out: () => undefined }),
  },
  { site },
);
