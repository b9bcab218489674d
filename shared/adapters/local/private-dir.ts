import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertPrivateFile, SecretFileError } from '../../secret-file.ts';

/**
 * The secret files of the local runtime's secrets directory, by name, with what each one is. Not `demo-agent.key`:
 * a copy of the public examples/demo-agent.key, rewritten with mode 0600 at every start.
 */
export const LOCAL_SECRET_FILES: Readonly<Record<string, string>> = {
  'api-key-pepper': 'the API key pepper',
  'agent-signing-key.pem': 'the command signing key',
  'agent-challenge-secret': 'the agent challenge secret',
  'webhook-keys': 'the webhook key ring',
  'demo-api-key': 'the demo API key',
};

/**
 * Makes `dir` (mode 0700) when missing; refuses an existing one that group or others may enter, with the `chmod`
 * that fixes it, rather than changing the mode of a folder someone else may have chosen (`--data-dir /tmp`).
 */
export async function ensurePrivateDir(dir: string, what: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SecretFileError(dir, `${what} ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw new SecretFileError(dir, `${what} ${dir} is not a directory`);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const octal = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new SecretFileError(
      dir,
      `${what} ${dir} is accessible by group or others (mode ${octal}); run \`chmod 700 ${dir}\``,
    );
  }
}

/**
 * The local runtime's start: its secrets directory private (see ensurePrivateDir), and every secret file in it that
 * exists private (assertPrivateFile); every problem in one error. Missing files are made later, mode 0600.
 */
export async function checkLocalSecrets(dir: string): Promise<void> {
  await ensurePrivateDir(dir, 'the data directory');
  const problems: SecretFileError[] = [];
  for (const [name, what] of Object.entries(LOCAL_SECRET_FILES)) {
    await assertPrivateFile(join(dir, name), what).catch((error: unknown) => {
      if (!(error instanceof SecretFileError)) throw error;
      problems.push(error);
    });
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1)
    throw new SecretFileError(
      problems[0]!.file,
      `${problems.length} secret files are not private:\n${problems.map((p) => `  ${p.message}`).join('\n')}`,
    );
}
