import type { KeyObject } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FailoverError } from '../errors.ts';
import { privateKeyFromPem } from '../contracts/agent-signing.ts';
import { assertPrivateFile } from '../secret-file.ts';

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
  if (!(await assertPrivateFile(file, 'privateKeyFile')))
    throw new AgentKeyError(
      `privateKeyFile ${file}: no such file (create it with \`failover agent keygen --out ${file}\`)`,
    );
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

/**
 * Writes a private key PEM with mode 0600, making its folder first when missing (mode 0700; an existing one is left
 * as it is); refuses to replace an existing file unless `force`.
 */
export async function writePrivateKeyFile(file: string, pem: string, force = false): Promise<void> {
  const dir = dirname(file);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new AgentKeyError(`cannot make the folder ${dir} for the key: ${fileProblem(error, dir)}`, { cause: error });
  }
  if ((await stat(file).catch(() => undefined))?.isDirectory())
    throw new AgentKeyError(`${file} is a folder: name the key file itself, e.g. ${join(file, 'agent.key')}`);
  let handle;
  try {
    handle = await open(file, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new AgentKeyError(`${file} exists; pass --force to replace it`);
    throw new AgentKeyError(`cannot write ${file}: ${fileProblem(error, dir)}`, { cause: error });
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

function fileProblem(error: unknown, dir: string): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (run keygen as a user who may write there, e.g. with sudo)';
    case 'ENOTDIR':
    case 'EEXIST':
      return `${dir} or a folder above it is a file, not a folder`;
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return (error as Error).message;
  }
}
