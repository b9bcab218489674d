import type { KeyObject } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TransientError } from '../../errors.ts';
import { AgentKeyError, parseSigningKey, type AgentKeyring } from '../../ports/agent-channel.ts';
import { isTransientAwsError } from './sdk-errors.ts';

export interface SecretsManagerAgentKeyringOptions {
  readonly client: SecretsManagerClient;
  /** ARN or name of the secret holding the Ed25519 signing key (PEM, PKCS#8). Required for signingKey(). */
  readonly signingKeySecretId?: string;
  /** ARN or name of the secret holding the challenge MAC secret (at least 32 characters). */
  readonly challengeSecretId?: string;
}

/** The shortest challenge secret accepted: a generated Secrets Manager password of 64 characters passes. */
export const MIN_CHALLENGE_SECRET_CHARS = 32;

/**
 * The keyring in AWS Secrets Manager, read once per cold start and only for the secret asked for (a failed read is
 * tried again on the next call). A value that is not usable is an AgentKeyError that says how to set it right.
 */
export class SecretsManagerAgentKeyring implements AgentKeyring {
  readonly #options: SecretsManagerAgentKeyringOptions;
  #signing: Promise<KeyObject> | undefined;
  #challenge: Promise<Buffer> | undefined;

  constructor(options: SecretsManagerAgentKeyringOptions) {
    this.#options = options;
  }

  signingKey(): Promise<KeyObject> {
    const id = this.#options.signingKeySecretId;
    this.#signing ??= this.#read(id, 'signing key').then((pem) =>
      parseSigningKey(
        pem,
        `secret ${id} (set it with: aws secretsmanager put-secret-value --secret-id ${id} --secret-string file://control-plane.pem)`,
      ),
    );
    this.#signing.catch(() => (this.#signing = undefined));
    return this.#signing;
  }

  challengeSecret(): Promise<Buffer> {
    const id = this.#options.challengeSecretId;
    this.#challenge ??= this.#read(id, 'challenge secret').then((text) => {
      if (text.length < MIN_CHALLENGE_SECRET_CHARS)
        throw new AgentKeyError(`secret ${id} is shorter than ${MIN_CHALLENGE_SECRET_CHARS} characters`);
      return Buffer.from(text, 'utf8');
    });
    this.#challenge.catch(() => (this.#challenge = undefined));
    return this.#challenge;
  }

  async #read(id: string | undefined, what: string): Promise<string> {
    if (!id) throw new AgentKeyError(`no secret configured for the agent channel's ${what}`);
    try {
      const out = await this.#options.client.send(new GetSecretValueCommand({ SecretId: id }));
      if (out.SecretString === undefined) throw new AgentKeyError(`secret ${id} has no string value`);
      return out.SecretString;
    } catch (error) {
      if (error instanceof AgentKeyError) throw error;
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (isTransientAwsError(error))
        throw new TransientError(`reading secret ${id} failed: ${detail}`, { cause: error });
      throw new AgentKeyError(`reading secret ${id} failed: ${detail}`, { cause: error });
    }
  }
}
