import { spawn } from 'node:child_process';
import type { ActionSettings, Placeholder } from './config.ts';

/** The most output an ack carries: the tail of what the program wrote on stdout and stderr. */
export const OUTPUT_LIMIT = 4096;
const KILL_GRACE_MS = 5000;

/** Values of the placeholders of an action's arguments; a missing one makes an argument that uses it unusable. */
export type ActionVars = Partial<Record<Placeholder, string>>;

/** How an action run ended, as an ack reports it. */
export interface ExecResult {
  readonly status: 'succeeded' | 'failed';
  /** Null when the program did not exit by itself (not started, killed at its timeout). */
  readonly exitCode: number | null;
  readonly output: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** The argument list with `{name}` placeholders replaced; `missing` names a placeholder that has no value. */
export function substituteArgs(
  args: readonly string[],
  vars: ActionVars,
): { argv: string[]; missing?: undefined } | { argv?: undefined; missing: string } {
  const argv: string[] = [];
  for (const arg of args) {
    let missing: string | undefined;
    argv.push(
      arg.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
        const value = vars[name as Placeholder];
        if (value === undefined) missing ??= name;
        return value ?? whole;
      }),
    );
    if (missing) return { missing };
  }
  return { argv };
}

/** The command line for a person: arguments with spaces or quotes are JSON-quoted. */
export function describeCommandLine(command: string, argv: readonly string[]): string {
  return [command, ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export interface RunOptions {
  readonly dryRun: boolean;
  /** Extra environment variables (FAILOVER_*), on top of the agent's own environment and the action's `env`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Between SIGTERM and SIGKILL at the timeout. @default 5000 */
  readonly killGraceMs?: number;
}

/**
 * Runs an action's program with its arguments as an argv array (no shell), in its own process group so that a
 * timeout ends the program and whatever it started: SIGTERM at `timeoutSeconds`, SIGKILL after a grace period.
 * Never throws: a program that cannot start is a failed result whose output says why.
 */
export function runAction(action: ActionSettings, argv: readonly string[], options: RunOptions): Promise<ExecResult> {
  const startedAt = new Date().toISOString();
  const line = describeCommandLine(action.command, argv);
  if (options.dryRun) {
    return Promise.resolve({
      status: 'succeeded',
      exitCode: null,
      output: tail(`dry run: would run ${line} (timeout ${action.timeoutSeconds} s)`),
      dryRun: true,
      startedAt,
      finishedAt: startedAt,
    });
  }
  return new Promise<ExecResult>((resolve) => {
    const output = new TailBuffer(OUTPUT_LIMIT);
    let note = '';
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (exitCode: number | null) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      resolve({
        status: exitCode === 0 && !note ? 'succeeded' : 'failed',
        exitCode,
        output: tail(output.text() + note),
        dryRun: false,
        startedAt,
        finishedAt: new Date().toISOString(),
      });
    };

    let child;
    try {
      child = spawn(action.command, argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, ...action.env, ...options.env },
      });
    } catch (error) {
      note = `cannot run ${line}: ${(error as Error).message}`;
      finish(null);
      return;
    }
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    child.once('error', (error) => {
      note = `${note ? `${note}\n` : ''}cannot run ${line}: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
      finish(null);
    });
    child.once('exit', (code) => {
      // Give the pipes a moment to drain; a grandchild holding them open must not hold the ack back.
      timers.push(setTimeout(() => finish(note ? null : code), 1000));
      child.once('close', () => finish(note ? null : code));
    });
    timers.push(
      setTimeout(() => {
        note = `\n[timed out after ${action.timeoutSeconds} s: sent SIGTERM]`;
        signalGroup('SIGTERM');
        timers.push(
          setTimeout(() => {
            note = `\n[timed out after ${action.timeoutSeconds} s: sent SIGTERM, then SIGKILL]`;
            signalGroup('SIGKILL');
          }, options.killGraceMs ?? KILL_GRACE_MS),
        );
      }, action.timeoutSeconds * 1000),
    );
  });
}

/** The last `limit` characters. */
function tail(text: string): string {
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text;
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - (this.#chunks[0]?.length ?? 0) >= this.#limit) this.#size -= this.#chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.#limit)).toString('utf8');
  }
}
