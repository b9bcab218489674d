import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { createDocumentClient } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { loadPepperSecret, PEPPER_SECRET_NAME } from '../../shared/adapters/aws/secrets-manager-pepper.ts';
import { localApiKeys } from '../../shared/adapters/local/file-api-key-store.ts';
import { cachedPepper, issueApiKey } from '../../shared/api/api-keys.ts';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../../shared/ports/api-key-store.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { CliError, table } from '../output.ts';

/** Where the keys are: a local data directory, or the deployed table (with the pepper in Secrets Manager). */
export interface KeyTarget {
  readonly dataDir?: string;
  readonly table?: string;
  readonly region?: string;
  readonly pepperSecret?: string;
}

function open(target: KeyTarget): { store: ApiKeyStore; pepper: () => Promise<Buffer> } {
  if ((target.dataDir === undefined) === (target.table === undefined)) {
    throw new CliError('pass either --data-dir DIR (the local runtime) or --table NAME (the deployed table)');
  }
  if (target.dataDir !== undefined) return localApiKeys(target.dataDir);
  const region = target.region ? { region: target.region } : {};
  const secrets = new SecretsManagerClient(region);
  return {
    store: new DynamoDbApiKeyStore({ tableName: target.table!, client: createDocumentClient(region) }),
    pepper: cachedPepper(() => loadPepperSecret(target.pepperSecret ?? PEPPER_SECRET_NAME, secrets)),
  };
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** Without the hash: nothing secret, or derived from a secret, leaves the store through the CLI. */
function publicView(r: ApiKeyRecord) {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope,
    createdAt: iso(r.createdAt),
    lastUsedAt: r.lastUsedAt === null ? null : iso(r.lastUsedAt),
    revokedAt: r.revokedAt === null ? null : iso(r.revokedAt),
  };
}

/** `failover api-key create`: prints the new key once (stdout), and how to keep it (stderr). */
export async function apiKeyCreateCommand(
  opts: KeyTarget & { name: string; scope: ApiKeyScope; json?: boolean },
): Promise<number> {
  const name = opts.name.trim();
  if (!name || name.length > 100) throw new CliError('--name: expected 1 to 100 characters');
  const deps = { ...open(opts), clock: systemClock };
  const { key, record } = await issueApiKey(deps, { name, scope: opts.scope });
  if (opts.json) {
    console.log(JSON.stringify({ ...publicView(record), key }));
  } else {
    console.log(key);
    console.error(
      `API key ${record.id} "${record.name}" (${record.scope}) created. It is shown this once: store it now.`,
    );
  }
  return 0;
}

/** `failover api-key list`: every key, revoked ones included, without secrets. */
export async function apiKeyListCommand(opts: KeyTarget & { json?: boolean }): Promise<number> {
  const records = await open(opts).store.list();
  if (opts.json) {
    for (const r of records) console.log(JSON.stringify(publicView(r)));
    return 0;
  }
  if (records.length === 0) {
    console.log('no API keys (create one with `failover api-key create`)');
    return 0;
  }
  console.log(
    table(
      ['ID', 'NAME', 'SCOPE', 'CREATED', 'LAST USED', 'STATUS'],
      records.map((r) => [
        r.id,
        r.name,
        r.scope,
        iso(r.createdAt),
        iso(r.lastUsedAt),
        r.revokedAt === null ? 'active' : `revoked ${iso(r.revokedAt)}`,
      ]),
    ),
  );
  return 0;
}

/** `failover api-key revoke ID`: exit 1 when there is no such key. */
export async function apiKeyRevokeCommand(id: string, opts: KeyTarget): Promise<number> {
  const revoked = await open(opts).store.revoke(id, systemClock.now());
  if (!revoked) {
    console.error(`failover: no API key ${id}`);
    return 1;
  }
  console.log(`API key ${revoked.id} "${revoked.name}" revoked at ${iso(revoked.revokedAt)}`);
  return 0;
}
