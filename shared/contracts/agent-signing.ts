import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { Challenge, CommandBody, SignedCommand } from './agent.ts';

/** The bytes an agent signs to prove itself: the challenge's fields, one per line, after a fixed label. */
export function agentAuthPayload(c: Pick<Challenge, 'site' | 'nonce' | 'expiresAt'>): Buffer {
  return Buffer.from(`failover-agent-auth/v1\n${c.site}\n${c.nonce}\n${c.expiresAt}`);
}

/** The bytes the control plane signs for a command: its body as canonical JSON (sorted keys) after a fixed label. */
export function commandPayload(body: CommandBody): Buffer {
  const args = Object.fromEntries(Object.entries(body.args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const canonical = JSON.stringify([body.id, body.site, body.action, args, body.issuedAt, body.expiresAt, body.nonce]);
  return Buffer.from(`failover-command/v1\n${canonical}`);
}

/** An Ed25519 key pair: the public key as base64 of its 32 raw bytes (what sites.yaml holds), the private as PEM. */
export function generateAgentKeys(): { publicKey: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: rawPublicKey(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** Base64 of the 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

/** The KeyObject of an Ed25519 public key given as base64 of its 32 raw bytes; throws on anything else. */
export function publicKeyFromRaw(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  // The DER SubjectPublicKeyInfo prefix of an Ed25519 key, followed by the raw key.
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new RangeError(`expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}

export function signBytes(payload: Buffer, privateKey: KeyObject): string {
  return sign(null, payload, privateKey).toString('base64');
}

/** Whether `signature` (base64) is `publicKey`'s signature of `payload`; false for anything malformed. */
export function verifyBytes(payload: Buffer, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, payload, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function signCommand(body: CommandBody, privateKey: KeyObject): SignedCommand {
  return { ...body, signature: signBytes(commandPayload(body), privateKey) };
}

export function verifyCommand(command: SignedCommand, publicKey: KeyObject): boolean {
  const { signature, ...body } = command;
  return verifyBytes(commandPayload(body), signature, publicKey);
}

/** A random nonce, base64url. */
export function nonce(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * The control plane's MAC over a challenge, so that challenges need no storage: the control plane can tell its own,
 * unexpired challenges from forged ones. The secret never leaves the control plane.
 */
export function challengeToken(secret: Buffer, c: Pick<Challenge, 'site' | 'nonce' | 'expiresAt'>): string {
  return createHmac('sha256', secret).update(`${c.site}\n${c.nonce}\n${c.expiresAt}`).digest('base64url');
}

export function validChallengeToken(
  secret: Buffer,
  c: Pick<Challenge, 'site' | 'nonce' | 'expiresAt' | 'token'>,
): boolean {
  const expected = Buffer.from(challengeToken(secret, c));
  const given = Buffer.from(c.token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
