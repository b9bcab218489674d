import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '../../errors.ts';
import { isTransientAwsError } from './sdk-errors.ts';

/** The Secrets Manager secret holding the API key pepper, as the CDK stack names it. */
export const PEPPER_SECRET_NAME = 'failover/api-key-pepper';

/**
 * Reads the API key pepper (the secret's string, as UTF-8 bytes) from Secrets Manager. A throttled or failed read
 * becomes a TransientError; the caller caches the result for the life of the process.
 */
export async function loadPepperSecret(
  secretId: string,
  client: SecretsManagerClient = new SecretsManagerClient({}),
): Promise<Buffer> {
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
    return Buffer.from(out.SecretString, 'utf8');
  } catch (error) {
    if (isTransientAwsError(error)) throw new TransientError(`secret ${secretId} unavailable`, { cause: error });
    throw error;
  }
}
