import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ConfigSlice } from '../../shared/config/bundled.ts';
import { OutputFormat, type BundlingOptions, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The newest Node.js runtime aws-cdk-lib offers; the bundle targets it too. */
export const FAILOVER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The variable a handler reads its configuration text from when it runs unbundled (tests); every bundle has it
 * replaced by `undefined`, so that no deployed function takes its configuration from the environment.
 */
export const CONFIG_VARIABLE = 'process.env.FAILOVER_CONFIG_JSON';

/** The variable a bundle names its configuration file with: esbuild replaces it by {@link CONFIG_FILE}. */
export const CONFIG_FILE_VARIABLE = 'process.env.FAILOVER_CONFIG_FILE';

/** The file beside `index.mjs` in every bundle that carries the configuration (the JSON text of `configJsonOf`). */
export const CONFIG_FILE = 'failover-config.json';

/** The handler file of every function of the app, relative to the repository root. */
export const LAMBDA_ENTRIES = {
  probe: 'functions/probe/handler.ts',
  decide: 'functions/decide/handler.ts',
  dispatch: 'functions/dispatch/handler.ts',
  reconcile: 'functions/reconcile/handler.ts',
  'dns-writer': 'functions/dns-writer/handler.ts',
  api: 'functions/api/handler.ts',
  'webhook-deliver': 'functions/webhooks/deliver-handler.ts',
  'agent-authorizer': 'functions/agent/authorizer.ts',
  'agent-gateway': 'functions/agent/gateway.ts',
  'agent-sweep': 'functions/agent/sweep.ts',
  web: 'functions/web/handler.ts',
} as const;

/**
 * The slice of the configuration each function's bundle carries (shared/config/bundled.ts), when not all of it:
 * the handler reads the same slice (`bundledConfig({ slice })`), or its cold start fails naming both.
 */
export const LAMBDA_CONFIG_SLICES: Readonly<Partial<Record<keyof typeof LAMBDA_ENTRIES, ConfigSlice>>> = {
  probe: 'probe',
};

/** The slice the bundle of the handler file `entry` (a path from the repository root) carries. */
export function configSliceOf(entry: string): ConfigSlice {
  const handler = (Object.keys(LAMBDA_ENTRIES) as (keyof typeof LAMBDA_ENTRIES)[]).find(
    (h) => LAMBDA_ENTRIES[h] === entry,
  );
  return (handler && LAMBDA_CONFIG_SLICES[handler]) ?? 'all';
}

// esbuild's ESM output cannot `require` Node built-ins from bundled CommonJS code (the AWS SDK) without this.
const REQUIRE_BANNER =
  "import { createRequire as __failoverCreateRequire } from 'node:module'; " +
  'const require = __failoverCreateRequire(import.meta.url);';

/**
 * Modules every bundle replaces (esbuild `alias`; the replacement is a path from the repository root). The SDK's
 * default credential chain becomes the environment-only provider Lambda needs (functions/shared/lambda-credentials.ts).
 */
export const LAMBDA_ALIASES = {
  '@aws-sdk/credential-provider-node': './functions/shared/lambda-credentials.ts',
} as const;

/**
 * How every function of this project is bundled: one minified ESM file with its source map, the AWS SDK inside
 * (its ESM builds, through mainFields, so that esbuild drops what the handler does not use), and
 * {@link LAMBDA_ALIASES}. The construct passes these to NodejsFunction; `npm run bench:cold` builds the same through
 * {@link esbuildOptionsOf}.
 */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  bundleAwsSDK: true,
  // NodejsFunction turns each item into `--alias:<module>=<path>`.
  esbuildArgs: { '--alias': Object.entries(LAMBDA_ALIASES).map(([from, to]) => `${from}=${to}`) },
} as const satisfies BundlingOptions;

/**
 * The esbuild `define` of a bundle that carries a configuration: it reads {@link CONFIG_FILE} beside itself at cold
 * start. The text is a file rather than a define of its own: NodejsFunction passes a define to the esbuild command
 * line, which a large configuration overflows (E2BIG), and V8 would compile it as part of the bundle.
 */
export const CONFIG_DEFINE: Readonly<Record<string, string>> = {
  [CONFIG_VARIABLE]: 'undefined',
  [CONFIG_FILE_VARIABLE]: JSON.stringify(CONFIG_FILE),
};

/** The NodejsFunction hooks that copy `configFile` (written at synth) into the bundle as {@link CONFIG_FILE}. */
export function configCommandHooks(configFile: string): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) => [
      `cp ${shellQuoted(configFile)} ${shellQuoted(join(outputDir, CONFIG_FILE))}`,
    ],
  };
}

const shellQuoted = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;

const TRANSLATED = new Set([...Object.keys(LAMBDA_BUNDLING), 'define']);

/**
 * The esbuild build options NodejsFunction derives from `bundling` (the arguments it gives the esbuild CLI), for
 * the options this project uses; any other option is refused rather than silently built differently.
 */
export function esbuildOptionsOf(
  bundling: BundlingOptions,
  runtime: lambda.Runtime = FAILOVER_RUNTIME,
): BuildOptions & { entryPoints?: never } {
  const unknown = Object.keys(bundling).filter((key) => !TRANSLATED.has(key));
  if (unknown.length > 0) throw new Error(`esbuildOptionsOf: no translation for ${unknown.join(', ')}`);
  const unknownArgs = Object.keys(bundling.esbuildArgs ?? {}).filter((key) => key !== '--alias');
  if (unknownArgs.length > 0) throw new Error(`esbuildOptionsOf: no translation for ${unknownArgs.join(', ')}`);
  const aliases = [bundling.esbuildArgs?.['--alias'] ?? []].flat();
  const major = /^nodejs(\d+)/.exec(runtime.name)?.[1];
  if (!major) throw new Error(`esbuildOptionsOf: ${runtime.name} is not a Node.js runtime`);
  return {
    bundle: true,
    platform: 'node',
    target: `node${major}`,
    ...(bundling.format ? { format: bundling.format } : {}),
    ...(bundling.minify ? { minify: true } : {}),
    ...(bundling.sourceMap ? { sourcemap: true } : {}),
    ...(bundling.sourcesContent === false ? { sourcesContent: false } : {}),
    ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.define ? { define: bundling.define } : {}),
    ...(aliases.length > 0 ? { alias: Object.fromEntries(aliases.map((a) => String(a).split(/=(.*)/s, 2))) } : {}),
    // NodejsFunction leaves @aws-sdk/* out of the bundle unless bundleAwsSDK is set.
    ...(bundling.bundleAwsSDK ? {} : { external: ['@aws-sdk/*'] }),
  };
}
