// What bench:cold and bench:fleet share: the handlers' build as NodejsFunction makes it, a cold import in a fresh
// `node --enable-source-maps` (as the functions run), and min/median/max.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptionsOf, LAMBDA_ALIASES, LAMBDA_BUNDLING } from '../infra/constructs/lambda-bundling.ts';

export const REPO = fileURLToPath(new URL('../', import.meta.url));

// What the handlers read at import; no request is made, so the values need only be well formed. The function runs in
// the first probe region (the probe function refuses any other) and the resources are the control region's (it
// refuses an observations queue in another region than the configuration's).
export function handlerEnv(regions: {
  readonly control: string;
  readonly probe: readonly string[];
}): Record<string, string> {
  const controlRegion = regions.control;
  const sqs = `https://sqs.${controlRegion}.amazonaws.com/123456789012`;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${controlRegion}:123456789012:${resource}`;
  return {
    AWS_REGION: regions.probe[0] ?? controlRegion,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'failover-bench',
    STATE_TABLE_NAME: 'failover-state',
    OBSERVATIONS_QUEUE_URL: `${sqs}/failover-observations.fifo`,
    ROUNDS_QUEUE_URL: `${sqs}/failover-rounds`,
    WARNING_TOPIC_ARN: arn('sns', 'failover-warning'),
    CRITICAL_TOPIC_ARN: arn('sns', 'failover-critical'),
    API_KEY_PEPPER_SECRET_ARN: arn('secretsmanager', 'secret:pepper'),
    WEBHOOK_KEY_SECRET_ARN: arn('secretsmanager', 'secret:webhook-keys'),
    WEBHOOK_QUEUE_URL: `${sqs}/failover-webhooks`,
    AGENT_CHALLENGE_SECRET_ARN: arn('secretsmanager', 'secret:challenge'),
    AGENT_SIGNING_KEY_SECRET_ARN: arn('secretsmanager', 'secret:signing'),
    AGENT_CALLBACK_URL: `https://abc123.execute-api.${controlRegion}.amazonaws.com/v1`,
    DNS_CHANGE_QUEUE_URL: `${sqs}/failover-dns-Z0000FLEET0.fifo`,
  };
}

export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function stats(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s.at(-1)! };
}

export const spread = (s: Spread, digits = 0) =>
  `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;

export interface Cold {
  /** CPU time of `await import(bundle)`. */
  readonly importMs: number;
  /** CPU time of the process from its start to the end of the import. */
  readonly processMs: number;
}

/** A cold import of `bundle` in a fresh process; of nothing at all when `bundle` is undefined (the floor). */
export function coldImport(bundle: string | undefined, env: Record<string, string>): Promise<Cold> {
  const script =
    'const t = process.cpuUsage();' +
    (bundle ? `await import(${JSON.stringify(pathToFileURL(bundle).href)});` : '') +
    'const c = process.cpuUsage(t); const p = process.cpuUsage();' +
    'process.stdout.write(`\\ncpu ${(c.user + c.system) / 1000} ${(p.user + p.system) / 1000}`);';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const cpu = /\ncpu ([\d.]+) ([\d.]+)$/.exec(out);
      if (code === 0 && cpu) resolve({ importMs: Number(cpu[1]), processMs: Number(cpu[2]) });
      else reject(new Error(`importing ${bundle} exited ${code}:\n${err || out}`));
    });
  });
}

/** The sources of `ref` (functions and shared code), unpacked under `dir`. */
export function checkout(ref: string, dir: string): void {
  execFileSync('mkdir', ['-p', dir]);
  const paths = ['functions', 'shared', 'package.json', 'tsconfig.json'];
  const archive = execFileSync('git', ['-C', REPO, 'archive', ref, ...paths], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
}

/** Builds `entry` of the sources under `root` as NodejsFunction does (LAMBDA_BUNDLING); resolves the bundle's size. */
export async function bundleHandler(
  root: string,
  entry: string,
  outfile: string,
  define: Record<string, string>,
): Promise<number> {
  // An older checkout is built without the aliases whose replacement it does not have yet, as it was deployed.
  const aliases = Object.entries(LAMBDA_ALIASES).filter(([, to]) => existsSync(join(root, to)));
  await build({
    ...esbuildOptionsOf({
      ...LAMBDA_BUNDLING,
      esbuildArgs: { '--alias': aliases.map(([from, to]) => `${from}=${to}`) },
      define,
    }),
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    outfile,
    // An older checkout lives outside the repository: its imports resolve to the repository's packages.
    nodePaths: [join(REPO, 'node_modules')],
    logLevel: 'error',
  });
  return (await stat(outfile)).size;
}
