import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jsonLines, runCli, startCli, type CliProcess, type CliResult } from './cli.ts';

/** The `ready` event of `failover local --json-logs`: where everything listens. */
export interface RuntimeReady {
  readonly dns: { readonly host: string; readonly port: number } | null;
  readonly api: string;
  /** The dashboard's address, without a key. */
  readonly dashboard: string;
  readonly agentUrl: string;
  readonly demoApiKeyFile: string | null;
  readonly agents: readonly { readonly site: string; readonly switchLog: string }[];
  readonly alerts: string;
  readonly dataDir: string | null;
}

/** A `failover local --json-logs` child process on free ports. */
export interface RuntimeChild {
  readonly cli: CliProcess;
  readonly ready: RuntimeReady;
  readonly apiPort: number;
  /** The JSON events printed so far. */
  events(): Record<string, unknown>[];
  /** Resolves with the first event (printed so far or later) that `match` accepts. */
  waitForEvent(
    what: string,
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** `GET` (or another method) on the runtime's API with the demo key; the body parsed. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** `failover demo ARGS --api-port <port> --data-dir <dataDir>`, run to completion. */
  demo(...args: string[]): Promise<CliResult>;
  /** SIGINT, then the exit. */
  stop(): Promise<CliResult>;
}

/**
 * Starts `failover local --config FILE --dns-port 0 --api-port 0 --data-dir DATA --json-logs [...extra]` and waits
 * for its `ready` event.
 */
export async function startRuntimeChild(options: {
  readonly config: string;
  readonly dataDir: string;
  readonly extraArgs?: readonly string[];
  readonly timeoutMs?: number;
  /** A fixed API port, so that an agent's configured URL stays valid across restarts. @default 0 (a free one) */
  readonly apiPort?: number;
}): Promise<RuntimeChild> {
  const cli = startCli(
    [
      'local',
      '--config',
      options.config,
      '--dns-port',
      '0',
      '--api-port',
      String(options.apiPort ?? 0),
      '--data-dir',
      options.dataDir,
      '--json-logs',
      ...(options.extraArgs ?? []),
    ],
    { timeoutMs: options.timeoutMs ?? 150_000 },
  );
  const events = () => jsonLines(cli.stdout());
  await cli.waitFor('"event":"ready"', { timeoutMs: 30_000 });
  const ready = events().find((e) => e.event === 'ready') as unknown as RuntimeReady;
  const apiPort = Number(new URL(ready.api).port);
  const key = async () => (await readFile(join(options.dataDir, 'demo-api-key'), 'utf8')).trim();

  const waitForEvent: RuntimeChild['waitForEvent'] = async (what, match, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events().find(match);
      if (found) return found;
      if (cli.child.exitCode !== null || cli.child.signalCode !== null)
        throw new Error(`the runtime exited before ${what}:\n${cli.stdout()}\n${cli.stderr()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${cli.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  return {
    cli,
    ready,
    apiPort,
    events,
    waitForEvent,
    async api(path, init = {}) {
      const res = await fetch(`${ready.api}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${await key()}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    demo: (...args) =>
      runCli(['demo', ...args, '--api-port', String(apiPort), '--data-dir', options.dataDir], { timeoutMs: 30_000 }),
    async stop() {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGINT');
      return cli.exited;
    },
  };
}

/** Polls `probe` every 200 ms until it returns something other than undefined; fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The non-empty lines of a file, or [] when it does not exist. */
export async function fileLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}
