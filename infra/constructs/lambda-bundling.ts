import type { BuildOptions } from 'esbuild';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The newest Node.js runtime aws-cdk-lib offers; the bundle targets it too. */
export const FAILOVER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The variable every handler reads its configuration from; esbuild replaces it by the JSON text at bundle time. */
export const CONFIG_VARIABLE = 'process.env.FAILOVER_CONFIG_JSON';

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

/** The esbuild `define` that inlines a configuration (JSON text from `configJsonOf`) into a bundle. */
export function configDefine(json: string): Record<string, string> {
  return { [CONFIG_VARIABLE]: JSON.stringify(json) };
}

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
