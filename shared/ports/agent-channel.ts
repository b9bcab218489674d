import type { KeyObject } from 'node:crypto';
import { privateKeyFromPem } from '../contracts/agent-signing.ts';
import type { ServerMessage } from '../contracts/agent.ts';
import { FailoverError } from '../errors.ts';

/**
 * The way to a site's live agent: the local runtime's WebSocket endpoint, or API Gateway's PostToConnection in the
 * cloud. An agent that is offline (or only polls) is no error: `send` answers false and the command waits.
 */
export interface AgentChannel {
  /** Sends to the site's live connection; false when there is none (or it just went away). TransientError to retry. */
  send(site: string, message: ServerMessage): Promise<boolean>;
}

/** What the last heartbeat said. */
export interface AgentHeartbeat {
  readonly at: number;
  readonly activeLink?: string | undefined;
  readonly version?: string | undefined;
}

/** The live connection of each site's agent (cloud: one DynamoDB item per site, with a TTL). */
export interface AgentConnections {
  /** Makes `connectionId` the site's live connection; returns the one it replaced, if any. */
  register(site: string, connectionId: string, at: number): Promise<string | null>;
  /** The site's live connection, or null. */
  lookup(site: string): Promise<string | null>;
  /** Forgets the connection if it is still the site's (a newer one is left alone); true when it was. */
  unregister(site: string, connectionId: string): Promise<boolean>;
  /** Notes a heartbeat on the site's connection; nothing when `connectionId` is no longer the site's. */
  touch(site: string, connectionId: string, heartbeat: AgentHeartbeat): Promise<void>;
}

/**
 * The control plane's secrets of the agent channel: the Ed25519 key commands are signed with, and the HMAC secret of
 * challenge tokens. Loaded once (a key file locally, Secrets Manager in the cloud); each is read only when asked for,
 * so that a function that only authenticates never needs the signing key.
 */
export interface AgentKeyring {
  signingKey(): Promise<KeyObject>;
  challengeSecret(): Promise<Buffer>;
}

/** A control-plane key or secret that cannot be used (missing, malformed, readable by others). */
export class AgentKeyError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AGENT_KEY_INVALID', message, options);
    this.name = 'AgentKeyError';
  }
}

/** The Ed25519 private key in `pem` (PKCS#8); AgentKeyError naming `where` otherwise. */
export function parseSigningKey(pem: string, where: string): KeyObject {
  try {
    return privateKeyFromPem(pem);
  } catch (error) {
    throw new AgentKeyError(`${where} holds no Ed25519 private key in PEM (PKCS#8)`, { cause: error });
  }
}
