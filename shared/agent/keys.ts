import type { KeyObject } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { FailoverError } from '../errors.ts';
import { privateKeyFromPem } from './signing.ts';

/** The agent's key file is missing, unreadable, not private, or not an Ed25519 key. */
export class AgentKeyError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AGENT_KEY', message, options);
    this.name = 'AgentKeyError';
  }
}

/**
 * Reads the agent's Ed25519 private key (PEM). Refuses a file that group or others may read or write: a key others
 * can read lets them pose as this site's agent.
 */
export async function loadPrivateKeyFile(file: string): Promise<KeyObject> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new AgentKeyError(
        `privateKeyFile ${file}: no such file (create it with \`failover agent keygen --out ${file}\`)`,
      );
    throw new AgentKeyError(`privateKeyFile ${file}: ${(error as Error).message}`, { cause: error });
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new AgentKeyError(
      `privateKeyFile ${file} is accessible by group or others (mode ${octal}); run \`chmod 600 ${file}\``,
    );
  }
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new AgentKeyError(`privateKeyFile ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return privateKeyFromPem(pem);
  } catch (error) {
    throw new AgentKeyError(`privateKeyFile ${file}: not an Ed25519 private key in PEM (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/** Writes a private key PEM with mode 0600; refuses to replace an existing file unless `force`. */
export async function writePrivateKeyFile(file: string, pem: string, force = false): Promise<void> {
  let handle;
  try {
    handle = await open(file, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new AgentKeyError(`${file} exists; pass --force to replace it`);
    throw new AgentKeyError(`cannot write ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // The mode of open() applies only to a new file; a replaced one keeps its old mode otherwise.
    await handle.chmod(0o600);
    await handle.writeFile(pem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
}
