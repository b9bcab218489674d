import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from here, as `npx failover` would. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/failover.js', import.meta.url));

/** How a CLI run ended. */
export interface CliResult {
  /** The exit code; null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Kill the child (SIGKILL) and fail after this long. @default 20000 */
  readonly timeoutMs?: number;
  /** Extra environment variables; NO_COLOR is always set so output is plain. */
  readonly env?: Record<string, string | undefined>;
  /** The environment the extra variables are added to. @default process.env */
  readonly baseEnv?: Record<string, string | undefined>;
  /** The program and its first arguments, before `args`. @default node bin/failover.js */
  readonly command?: readonly string[];
  /** @default the repository root */
  readonly cwd?: string;
}

/** A running `failover` child process. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the output so far once `pattern` matches it; rejects when the child exits first or on timeout. */
  waitFor(pattern: RegExp | string, opts?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number }): Promise<string>;
  /** Settles when the child has exited (rejects on the overall timeout, after killing it). */
  readonly exited: Promise<CliResult>;
}

/**
 * Starts `node bin/failover.js ...args` with an async spawn (never a sync exec: the test's own servers must keep
 * being served by this event loop while the child talks to them).
 */
export function startCli(args: readonly string[], opts: CliOptions = {}): CliProcess {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const [program, ...leading] = opts.command ?? [process.execPath, BIN];
  const child = spawn(program!, [...leading, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: {
      ...(opts.baseEnv ?? process.env),
      FORCE_COLOR: undefined,
      FAILOVER_DEBUG: undefined,
      NO_COLOR: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => ((out.stdout += chunk), notify()));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => ((out.stderr += chunk), notify()));
  const label = opts.command ? opts.command.join(' ') : 'failover';
  const describe = () => `${label} ${args.join(' ')}\n--- stdout\n${out.stdout}\n--- stderr\n${out.stderr}`;

  let exitedFlag = false;
  const exited = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' (not 'exit'): all output has been read by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      exitedFlag = true;
      notify();
      resolve({ code, signal, stdout: out.stdout, stderr: out.stderr });
    });
  });
  exited.catch(() => undefined);

  const waitFor: CliProcess['waitFor'] = (pattern, { stream = 'stdout', timeoutMs: waitMs = 15_000 } = {}) =>
    new Promise<string>((resolve, reject) => {
      const matches = () => (typeof pattern === 'string' ? out[stream].includes(pattern) : pattern.test(out[stream]));
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        if (matches()) {
          done();
          resolve(out[stream]);
        } else if (exitedFlag) {
          done();
          reject(new Error(`exited before ${String(pattern)} appeared on ${stream}: ${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`${String(pattern)} did not appear on ${stream} within ${waitMs} ms: ${describe()}`));
      }, waitMs);
      listeners.add(check);
      check();
    });

  return { child, stdout: () => out.stdout, stderr: () => out.stderr, waitFor, exited };
}

/** Runs `failover ...args` to completion and collects its exit code and output. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).exited;
}

/** Lines of output that parse as JSON objects, parsed; other lines are ignored. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A Node stack frame as printed in a stack trace; output meant for people must never contain one. */
export const STACK_FRAME = /^\s{4}at /m;
