import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AesGcmSecretBox, parseKeyRing } from '../../webhooks/secret-box.ts';
import { createSecretResolver, type SecretResolver } from '../../webhooks/secrets.ts';

/** The string value of a Secrets Manager secret (name or ARN). */
export async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (out.SecretString === undefined) throw new Error(`secret ${secretId} has no string value`);
  return out.SecretString;
}

/**
 * The cloud SecretBox: its key ring is the value of the Secrets Manager secret `secretId` (created by the
 * WebhookDelivery construct), read once per process and again when a value names a key the cached ring lacks.
 */
export function secretsManagerSecretBox(options: {
  readonly secretId: string;
  readonly client?: SecretsManagerClient;
}): AesGcmSecretBox {
  const client = options.client ?? new SecretsManagerClient({});
  return new AesGcmSecretBox(async () => parseKeyRing(await readSecretString(client, options.secretId)));
}

/** Resolves `secretsManager` references through `client` (and `env` ones from the environment), cached 5 min. */
export function secretsManagerSecretResolver(
  options: { readonly client?: SecretsManagerClient; readonly ttlMs?: number } = {},
): SecretResolver {
  const client = options.client ?? new SecretsManagerClient({});
  return createSecretResolver({
    fetch: (id) => readSecretString(client, id),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  });
}
