import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_API_KEY_FILE } from '../../local/demo-api.ts';
import type { ActiveFault } from '../../local/demo-faults.ts';
import { CliError } from '../output.ts';

/** Where the running runtime is, and where its demo API key is. */
export interface DemoTargetOptions {
  /** The runtime's `--api-port`. */
  readonly apiPort: number;
  /** The runtime's `--data-dir` (default `.failover`), holding `demo-api-key`. */
  readonly dataDir: string;
  readonly json?: boolean;
}

/** `failover demo break FAULT`: injects a fault into the running local runtime through its API. */
export async function demoBreakCommand(fault: string, opts: DemoTargetOptions): Promise<number> {
  const body = (await call(opts, 'POST', '/v1/demo/faults', { fault })) as {
    fault: ActiveFault;
    active: ActiveFault[];
  };
  if (opts.json) console.log(JSON.stringify(body));
  else {
    console.log(`broke ${body.fault.fault}: ${body.fault.description}`);
    console.log(inForce(body.active));
  }
  return 0;
}

/** `failover demo heal FAULT|all`: heals a fault (or every one) in the running local runtime. */
export async function demoHealCommand(fault: string, opts: DemoTargetOptions): Promise<number> {
  const path = `/v1/demo/faults/${encodeURIComponent(fault.trim())}`;
  const body = (await call(opts, 'DELETE', path)) as { healed: ActiveFault[]; active: ActiveFault[] };
  if (opts.json) console.log(JSON.stringify(body));
  else {
    if (body.healed.length === 0) console.log(`nothing to heal: ${fault} was not broken`);
    for (const f of body.healed) console.log(`healed ${f.fault}: ${f.description}`);
    console.log(inForce(body.active));
  }
  return 0;
}

/** `failover demo status`: the faults in force and the ones that can be injected. */
export async function demoStatusCommand(opts: DemoTargetOptions): Promise<number> {
  const body = (await call(opts, 'GET', '/v1/demo/faults')) as { active: ActiveFault[]; valid: string[] };
  if (opts.json) console.log(JSON.stringify(body));
  else {
    console.log(inForce(body.active));
    for (const f of body.active) console.log(`  ${f.fault} since ${f.since}: ${f.description}`);
    console.log(`faults you can inject: ${body.valid.join(', ')}`);
  }
  return 0;
}

function parseJson(text: string): { detail?: string; code?: string } | null {
  try {
    return JSON.parse(text) as { detail?: string; code?: string };
  } catch {
    return null;
  }
}

function inForce(active: readonly ActiveFault[]): string {
  return `faults in force: ${active.length === 0 ? 'none' : active.map((f) => f.fault).join(', ')}`;
}

/** One request to the runtime's demo routes with the demo key; every failure becomes a CliError saying what to do. */
async function call(opts: DemoTargetOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const keyFile = join(opts.dataDir, DEMO_API_KEY_FILE);
  const key = (await readFile(keyFile, 'utf8').catch(() => '')).trim();
  const where = `127.0.0.1:${opts.apiPort}`;
  let res: Response;
  try {
    res = await fetch(`http://${where}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    throw new CliError(`cannot reach the local runtime on ${where}: start it with npm start`, 1);
  }
  const text = await res.text();
  const data = parseJson(text);
  if (res.ok) return data;
  if (res.status === 400 && data?.code === 'unknown-fault') throw new CliError(data.detail ?? text, 2);
  if (res.status === 401 && !key)
    throw new CliError(
      `no demo API key in ${keyFile}: the runtime writes it at start; pass the --data-dir the runtime runs with`,
      1,
    );
  if (res.status === 401)
    throw new CliError(
      `the runtime on ${where} refused the demo key in ${keyFile}: is it running with --data-dir ${opts.dataDir}?`,
      1,
    );
  if (res.status === 404 && data?.code === 'no-route')
    throw new CliError(`the runtime on ${where} has no demo faults: its configuration has no local.demoTargets`, 1);
  throw new CliError(`the runtime on ${where} answered ${res.status}: ${data?.detail ?? text}`, 1);
}
