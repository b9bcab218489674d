/**
 * Remembers one-time values (challenge nonces, inbound webhook ids, command nonces) for a while, so that a replay is
 * refused. DynamoDB in the cloud (a conditional put with a TTL), memory or dynalite locally.
 */
export interface ReplayGuard {
  /** True the first time `key` is seen within `ttlSeconds`; false for a replay. */
  firstUse(key: string, ttlSeconds: number): Promise<boolean>;
}
