import { CreateHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.ts';

/** Whether `moto_server` (moto 5.2, `pip install 'moto[server]==5.2.*'`) runs here; asynchronous, never blocking. */
export function motoAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile('moto_server', ['--help'], { timeout: 30_000 }, (error) => resolve(!error)));
}

/** A moto_server on loopback: every AWS service moto emulates, at one endpoint. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  close(): Promise<void>;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** Starts moto_server on a free port and waits until it answers; rejects with its output after `timeoutMs`. */
export async function startMoto(timeoutMs = 90_000): Promise<MotoServer> {
  const port = await freePort({ tcp: true });
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const close = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(killer);
    }
  };
  const started = Date.now();
  try {
    while (true) {
      if (spawnError) throw spawnError;
      if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${output.join('')}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`moto_server did not answer within ${timeoutMs} ms: ${output.join('')}`);
      try {
        const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, close };
}

/**
 * A hosted zone `name` in moto whose id fits the configuration's `Z...` pattern: moto draws ids from A-Z0-9 at
 * random, so zones are created until one starts with Z (the others stay, empty and unused).
 */
export async function createTestHostedZone(client: Route53Client, name: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const out = await client.send(
      new CreateHostedZoneCommand({ Name: name, CallerReference: `test-${process.pid}-${Date.now()}-${i}` }),
    );
    const id = out.HostedZone!.Id!.replace(/^\/hostedzone\//, '');
    if (/^Z[A-Z0-9]{1,32}$/.test(id)) return id;
  }
  throw new Error('moto gave no hosted zone id starting with Z in 1000 tries');
}
