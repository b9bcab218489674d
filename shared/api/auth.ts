import type { ApiKeyScope } from '../ports/api-key-store.ts';
import { scopeAllows, verifyApiKey, type ApiKeyDeps } from './api-keys.ts';
import { HttpProblem } from './problem.ts';

/** Who made a request: the API key that authenticated it. */
export interface Principal {
  readonly keyId: string;
  /** The key's name: operator commands record it as `by`. */
  readonly name: string;
  readonly scope: ApiKeyScope;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="failover"' };

/**
 * The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>` (headers lower-cased, as API
 * Gateway passes them). Undefined when it presents none.
 */
export function presentedKey(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? match[1]! : '';
  }
  const header = headers['x-api-key']?.trim();
  return header === undefined ? undefined : header;
}

/**
 * The principal of a request to a route that needs `needs`: 401 (with a Bearer challenge) when it presents no
 * key or one that is malformed, unknown, revoked or wrong; 403 when a read key calls a write route.
 */
export async function authenticate(
  deps: ApiKeyDeps,
  headers: Readonly<Record<string, string | undefined>>,
  needs: ApiKeyScope,
): Promise<Principal> {
  const key = presentedKey(headers);
  if (key === undefined) {
    throw new HttpProblem(401, 'an API key is required: Authorization: Bearer <key> or x-api-key: <key>', {
      code: 'missing-api-key',
      headers: CHALLENGE,
    });
  }
  // One answer for every kind of bad key: the caller learns nothing about which keys exist.
  const record = key ? await verifyApiKey(deps, key) : null;
  if (!record) {
    throw new HttpProblem(401, 'the API key is not valid (unknown, revoked or mistyped)', {
      code: 'invalid-api-key',
      headers: { 'www-authenticate': 'Bearer realm="failover", error="invalid_token"' },
    });
  }
  if (!scopeAllows(record.scope, needs)) {
    throw new HttpProblem(
      403,
      `this route needs a ${needs} key; key ${record.id} (${record.name}) is ${record.scope}-only`,
      {
        code: 'insufficient-scope',
      },
    );
  }
  return { keyId: record.id, name: record.name, scope: record.scope };
}
