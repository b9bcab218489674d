import { stat } from 'node:fs/promises';
import { FailoverError } from './errors.ts';

/** A secret file that group or others may read or write, or that is not a regular file. */
export class SecretFileError extends FailoverError {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('SECRET_FILE', message, options);
    this.name = 'SecretFileError';
    this.file = file;
  }
}

/**
 * Refuses a secret file that group or others may access, as ssh does: the one check of every secret file the local
 * runtime and the agent read. `what` names the file's role in the message (e.g. `privateKeyFile`, `the API key
 * pepper`). Returns false when the file does not exist (the caller makes it, mode 0600, or says what to do).
 */
export async function assertPrivateFile(file: string, what: string): Promise<boolean> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SecretFileError(file, `${what} ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (!info.isFile()) throw new SecretFileError(file, `${what} ${file} is not a regular file`);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
    throw new SecretFileError(file, modeMessage(file, what, info.mode));
  return true;
}

/** The one message for a secret file that is not private: the file, its mode, and the command that fixes it. */
export function modeMessage(file: string, what: string, mode: number): string {
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `${what} ${file} is accessible by group or others (mode ${octal}); run \`chmod 600 ${file}\``;
}
