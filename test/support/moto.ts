import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.ts';

/** A moto_server (moto 5.2, Python) on loopback: one stands for one AWS region's endpoints in a test. */
export interface MotoServer {
  readonly url: string;
  /** Stops the server; its endpoint refuses connections afterwards. */
  stop(): Promise<void>;
}

/** Whether moto_server is on PATH; .ci/run requires it, so tests fail rather than skip without it. */
export function motoMissingMessage(): string {
  return 'moto_server is not on PATH (pip install "moto[server]==5.2.*"); .ci/run requires it';
}

/** Starts moto_server on a free loopback port and waits until it answers (up to `timeoutMs`). */
export async function startMoto(timeoutMs = 30_000): Promise<MotoServer> {
  const port = await freePort({ tcp: true });
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (e) =>
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(motoMissingMessage()) : e),
    ),
  );
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
      try {
        const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await Promise.race([ready, spawnError]);
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
