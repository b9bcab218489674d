import type { SecretRefConfig } from '../config/model.ts';
import { FailoverError } from '../errors.ts';

/** Turns a secret reference from sites.yaml into the secret. */
export type SecretResolver = (ref: SecretRefConfig) => Promise<string>;

/** A referenced secret could not be read: unset variable, missing secret, no permission. Nothing was changed. */
export class SecretUnavailableError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRET_UNAVAILABLE', message, options);
    this.name = 'SecretUnavailableError';
  }
}

/** How a reference is named in messages (never the secret). */
export function describeSecretRef(ref: SecretRefConfig): string {
  return 'env' in ref
    ? `environment variable ${ref.env}`
    : `secret ${ref.secretsManager}${ref.field ? ` field ${ref.field}` : ''}`;
}

/**
 * A resolver reading `env` references from `env` and `secretsManager` references through `fetch` (the secret's
 * string value), with the value of a JSON `field` picked out. Values are cached for `ttlMs`, so that a rotated
 * secret is picked up within that time without a call per request.
 */
export function createSecretResolver(
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly fetch?: (secretId: string) => Promise<string>;
    readonly ttlMs?: number;
    readonly now?: () => number;
  } = {},
): SecretResolver {
  const env = options.env ?? process.env;
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { value: Promise<string>; at: number }>();
  return async (ref) => {
    if ('env' in ref) {
      const value = env[ref.env];
      if (!value) throw new SecretUnavailableError(`${describeSecretRef(ref)} is not set`);
      return value;
    }
    const fetch = options.fetch;
    if (!fetch) throw new SecretUnavailableError(`${describeSecretRef(ref)}: no Secrets Manager client configured`);
    let entry = cache.get(ref.secretsManager);
    if (!entry || now() - entry.at > ttlMs) {
      const value = fetch(ref.secretsManager);
      entry = { value, at: now() };
      cache.set(ref.secretsManager, entry);
      value.catch(() => cache.delete(ref.secretsManager));
    }
    let text: string;
    try {
      text = await entry.value;
    } catch (error) {
      throw new SecretUnavailableError(`${describeSecretRef(ref)} could not be read`, { cause: error });
    }
    if (!ref.field) return text;
    let value: unknown;
    try {
      value = (JSON.parse(text) as Record<string, unknown>)[ref.field];
    } catch {
      value = undefined;
    }
    if (typeof value !== 'string' || !value) throw new SecretUnavailableError(`${describeSecretRef(ref)} is not set`);
    return value;
  };
}
