import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assertPrivateFile } from '../../secret-file.ts';

/**
 * The API key pepper of the local runtime: 32 random bytes in `file` (base64url, mode 0600), made on first use.
 * Whoever makes it first wins; the other reads what it wrote. A file group or others may access is refused.
 */
export async function loadPepperFile(file: string): Promise<Buffer> {
  const existing = await readPepper(file);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const made = await readPepper(file);
  if (!made) throw new Error(`${file}: empty API key pepper`);
  return made;
}

async function readPepper(file: string): Promise<Buffer | null> {
  if (!(await assertPrivateFile(file, 'the API key pepper'))) return null;
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text ? Buffer.from(text, 'utf8') : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
