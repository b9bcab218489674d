import { readFile } from 'node:fs/promises';
import type { BrakeReleaseResult, BrakeView } from '../../shared/contracts/api.ts';
import { CliError } from '../output.ts';

/** Where the API is and which key to call it with. */
export interface BrakeTargetOptions {
  /** The API's base URL, without `/v1` (the stack's `ApiUrl`, or the local runtime's). */
  readonly api: string;
  /** A file holding the API key; default the FAILOVER_API_KEY environment variable. */
  readonly keyFile?: string;
  readonly json?: boolean;
}

/** `failover brake status`: the mass-failover brake now. Exit 0 (engaged or not), 1 when the API cannot answer. */
export async function brakeStatusCommand(opts: BrakeTargetOptions): Promise<number> {
  const { body } = await call(opts, 'GET', '/v1/brake');
  const brake = body as BrakeView;
  console.log(opts.json ? JSON.stringify(brake) : describeBrake(brake));
  return 0;
}

/**
 * `failover brake release --reason TEXT`: releases the engagement in force. Exit 0 when released, 1 when there was
 * nothing to release (the API's 409: not engaged, already released, disabled) or the API cannot answer.
 */
export async function brakeReleaseCommand(opts: BrakeTargetOptions & { reason: string }): Promise<number> {
  const { status, body } = await call(opts, 'POST', '/v1/brake/release', { reason: opts.reason }, [409]);
  if (status === 409) {
    const problem = body as { detail?: string; brake?: BrakeView };
    if (opts.json) console.log(JSON.stringify(problem));
    else console.error(`failover: nothing released: ${problem.detail ?? 'the brake is not engaged'}`);
    return 1;
  }
  const result = body as BrakeReleaseResult;
  if (opts.json) console.log(JSON.stringify(result));
  else {
    console.log(`released ${result.released.id} (engaged since ${result.released.since})`);
    console.log(describeBrake(result.brake));
    console.log(`alert: ${result.alert.sent ? 'sent' : 'NOT sent'} (${result.alert.detail})`);
  }
  return 0;
}

/** A few lines for a person. */
export function describeBrake(b: BrakeView): string {
  if (!b.enabled) return 'brake: disabled (brake.enabled: false): automatic failovers are never held';
  const window = `${b.failedOver} of ${b.sites} sites failed over in the last ${Math.round(b.windowSeconds / 60)} min (limit ${b.limit})`;
  const lines = [
    b.engagement
      ? `brake: ENGAGED since ${b.engagement.since} (${b.engagement.id}, announced by ${b.engagement.announcer}); releases by itself at ${b.releaseAt}`
      : b.released
        ? `brake: released until ${b.release!.until}: every automatic failover goes ahead`
        : 'brake: not engaged',
    `  ${window}`,
  ];
  if (b.release)
    lines.push(`  last release: ${b.release.engagement} by ${b.release.by} at ${b.release.at}: ${b.release.reason}`);
  return lines.join('\n');
}

async function apiKey(opts: BrakeTargetOptions): Promise<string> {
  if (opts.keyFile) {
    const key = (
      await readFile(opts.keyFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new CliError(`cannot read the API key file ${opts.keyFile}: ${e.code ?? e.message}`, 2);
      })
    ).trim();
    if (!key) throw new CliError(`the API key file ${opts.keyFile} is empty`, 2);
    return key;
  }
  const key = process.env.FAILOVER_API_KEY?.trim();
  if (!key)
    throw new CliError('no API key: set FAILOVER_API_KEY or pass --key-file (failover api-key create makes one)', 2);
  return key;
}

/** One request to the API; a failure other than the statuses in `expected` becomes a CliError saying what is wrong. */
async function call(
  opts: BrakeTargetOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  expected: readonly number[] = [],
): Promise<{ status: number; body: unknown }> {
  let base: URL;
  try {
    base = new URL(opts.api);
  } catch {
    throw new CliError(`--api: not a URL: ${opts.api} (expected e.g. http://127.0.0.1:8080)`, 2);
  }
  const key = await apiKey(opts);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}${path}`, base);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(`cannot reach the API at ${base.origin}: ${error instanceof Error ? error.message : error}`, 1);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: reported below with the text
  }
  if (res.ok || expected.includes(res.status)) return { status: res.status, body: data };
  const detail = (data as { detail?: string } | null)?.detail ?? text.slice(0, 200);
  if (res.status === 401) throw new CliError(`the API refused the key: ${detail}`, 1);
  if (res.status === 403) throw new CliError(`the key may not do this (a read key cannot release): ${detail}`, 1);
  throw new CliError(`the API answered ${res.status}: ${detail}`, 1);
}
