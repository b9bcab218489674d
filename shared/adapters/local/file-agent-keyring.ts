import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawPublicKey } from '../../contracts/agent-signing.ts';
import { AgentKeyError, parseSigningKey, type AgentKeyring } from '../../ports/agent-channel.ts';
import { assertPrivateFile } from '../../secret-file.ts';
import { LOCAL_SECRET_FILES } from './private-dir.ts';

/** File names of the local keyring in the data directory. */
export const KEYRING_FILES = {
  signingKey: 'agent-signing-key.pem',
  publicKey: 'agent-signing-key.pub',
  challengeSecret: 'agent-challenge-secret',
} as const;

/**
 * The local runtime's keyring: files in the data directory, generated on first use with mode 0600 (the public key
 * beside them, for each agent.yaml). A private file readable by group or others is refused, as ssh does.
 */
export class FileAgentKeyring implements AgentKeyring {
  readonly #dir: string;
  #signing: Promise<KeyObject> | undefined;
  #challenge: Promise<Buffer> | undefined;

  constructor(options: { readonly dir: string }) {
    this.#dir = options.dir;
  }

  signingKey(): Promise<KeyObject> {
    this.#signing ??= this.#load(KEYRING_FILES.signingKey, generatePem).then(async (pem) => {
      const key = parseSigningKey(pem, join(this.#dir, KEYRING_FILES.signingKey));
      await writeFile(join(this.#dir, KEYRING_FILES.publicKey), `${rawPublicKey(createPublicKey(key))}\n`);
      return key;
    });
    this.#signing.catch(() => (this.#signing = undefined));
    return this.#signing;
  }

  challengeSecret(): Promise<Buffer> {
    const file = join(this.#dir, KEYRING_FILES.challengeSecret);
    this.#challenge ??= this.#load(KEYRING_FILES.challengeSecret, () => randomBytes(32).toString('base64')).then(
      (text) => {
        const secret = Buffer.from(text.trim(), 'base64');
        if (secret.length < 16) throw new AgentKeyError(`${file} holds no secret of at least 16 bytes (base64)`);
        return secret;
      },
    );
    this.#challenge.catch(() => (this.#challenge = undefined));
    return this.#challenge;
  }

  /** The file's text; a missing file is created first with `generate()`'s text (never overwriting a racing writer). */
  async #load(name: string, generate: () => string): Promise<string> {
    const file = join(this.#dir, name);
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, generate(), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await assertPrivateFile(file, LOCAL_SECRET_FILES[name] ?? name);
    return readFile(file, 'utf8');
  }
}

/** A keyring in memory, made up at start: for a local runtime without a data directory, and for tests. */
export class EphemeralAgentKeyring implements AgentKeyring {
  readonly #signing = generateKeyPairSync('ed25519').privateKey;
  readonly #challenge = randomBytes(32);

  signingKey(): Promise<KeyObject> {
    return Promise.resolve(this.#signing);
  }

  challengeSecret(): Promise<Buffer> {
    return Promise.resolve(this.#challenge);
  }
}

/** The control plane's public key (base64 of the 32 raw bytes), which every agent.yaml names. */
export async function controlPlanePublicKey(keys: AgentKeyring): Promise<string> {
  return rawPublicKey(createPublicKey(await keys.signingKey()));
}

function generatePem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}
