import { FailoverError } from '../errors.ts';

/** What a key may do: `read` the API's GET routes, or `write` (which includes read). */
export type ApiKeyScope = 'read' | 'write';

/** An API key as stored: never the secret itself, only its keyed hash (see shared/api/api-keys.ts). */
export interface ApiKeyRecord {
  /** The public part of the key (`fo_<id>_<secret>`). */
  readonly id: string;
  /** Who or what holds it; the API names it as `by` in operator commands. */
  readonly name: string;
  readonly scope: ApiKeyScope;
  /** base64url of HMAC-SHA256(pepper, whole key). */
  readonly hash: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms; null while the key is valid. */
  readonly revokedAt: number | null;
  /** Epoch ms of the last authenticated request, recorded at most every few minutes; null when never used. */
  readonly lastUsedAt: number | null;
}

/** A key with this id exists already. */
export class ApiKeyExistsError extends FailoverError {
  constructor(id: string) {
    super('API_KEY_EXISTS', `an API key with id ${id} exists already`);
    this.name = 'ApiKeyExistsError';
  }
}

/** Where API keys live: the failover table in the cloud, files in the data directory locally. */
export interface ApiKeyStore {
  /** Stores a new key; throws ApiKeyExistsError when the id is taken. */
  create(record: ApiKeyRecord): Promise<void>;
  get(id: string): Promise<ApiKeyRecord | null>;
  /** Every key, revoked ones included, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes a key for good; the revoked record, or null when there is no such key. Revoking twice keeps the first time. */
  revoke(id: string, at: number): Promise<ApiKeyRecord | null>;
  /** Records a use of `record` (as read before) at `at`; never undoes a revocation made meanwhile. */
  touch(record: ApiKeyRecord, at: number): Promise<void>;
}
