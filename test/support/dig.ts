import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One resource record as dig prints it. */
export interface DigRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly data: string;
}

/** What dig saw: the header's status and flags, and the answer and authority sections. */
export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answers: readonly DigRecord[];
  readonly authority: readonly DigRecord[];
  readonly output: string;
}

/** Whether Debian's `dig` (package dnsutils) can be run. */
export async function digAvailable(): Promise<boolean> {
  try {
    await run('dig', ['-v']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `dig @server -p port name type` asynchronously (the server under test shares this event loop) and parses its
 * `+noall +comments +answer +authority` output. `extra` adds options such as `+tcp`.
 */
export async function dig(
  server: { readonly host: string; readonly port: number },
  name: string,
  type = 'A',
  extra: readonly string[] = [],
): Promise<DigResult> {
  const args = [`@${server.host}`, '-p', String(server.port), name, type];
  const options = ['+noall', '+comments', '+answer', '+authority', '+time=3', '+tries=2', ...extra];
  const { stdout } = await run('dig', [...args, ...options], { timeout: 15_000 });
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NO ANSWER';
  const flags = /;; flags: ([a-z ]*);/.exec(stdout)?.[1]?.trim().split(/\s+/) ?? [];
  return { status, flags, answers: section(stdout, 'ANSWER'), authority: section(stdout, 'AUTHORITY'), output: stdout };
}

function section(output: string, title: string): DigRecord[] {
  const lines = output.split('\n');
  const start = lines.indexOf(`;; ${title} SECTION:`);
  if (start < 0) return [];
  const records: DigRecord[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.startsWith(';')) break;
    const [name = '', ttl = '0', , type = '', ...data] = line.split(/\s+/);
    records.push({ name, ttl: Number(ttl), type, data: data.join(' ') });
  }
  return records;
}
