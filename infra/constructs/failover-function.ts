import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stage, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { bundledConfigJson, type ConfigSlice } from '../../shared/config/bundled.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { configJsonOf } from '../../shared/config/load.ts';
import {
  CONFIG_DEFINE,
  configCommandHooks,
  configSliceOf,
  FAILOVER_RUNTIME,
  LAMBDA_BUNDLING,
} from './lambda-bundling.ts';

export { FAILOVER_RUNTIME } from './lambda-bundling.ts';

/** The repository root: the project esbuild bundles from. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Every function of an app gets the same text: validate and resolve it once, and write each slice of it once.
const configCache = new Map<string, { config: FailoverConfig; json: Map<ConfigSlice, string> }>();

function configJson(yaml: string, slice: ConfigSlice): string {
  let cached = configCache.get(yaml);
  if (cached === undefined) {
    const { config, json } = configJsonOf(yaml, 'sites.yaml');
    configCache.set(yaml, (cached = { config, json: new Map([['all', json]]) }));
  }
  let json = cached.json.get(slice);
  if (json === undefined) cached.json.set(slice, (json = bundledConfigJson(cached.config, slice)));
  return json;
}

/**
 * The slice's JSON as a file in the cloud assembly (`failover-config/<sha256>.json`), written once per text; the
 * name changes with the content, so that a bundle (its cache key names the file) changes with it.
 */
function configFileOf(scope: Construct, yaml: string, slice: ConfigSlice): string {
  const json = configJson(yaml, slice);
  const outdir = Stage.of(scope)?.outdir;
  if (!outdir) throw new Error('a FailoverFunction with a configuration must be inside a Stage (an App)');
  const file = join(outdir, 'failover-config', `${createHash('sha256').update(json).digest('hex')}.json`);
  if (!existsSync(file)) {
    mkdirSync(join(outdir, 'failover-config'), { recursive: true });
    writeFileSync(file, json);
  }
  return file;
}

/** Props of a {@link FailoverFunction}; the Lambda settings not listed keep the NodejsFunction defaults. */
export interface FailoverFunctionProps extends Omit<
  NodejsFunctionProps,
  'runtime' | 'architecture' | 'role' | 'logGroup' | 'projectRoot' | 'code'
> {
  /** Path of the handler file, relative to the repository root (e.g. `functions/probe/handler.ts`). */
  readonly entry: string;
  /** Powertools service name (POWERTOOLS_SERVICE_NAME) of the function's logs and metrics. */
  readonly serviceName: string;
  /**
   * The sites.yaml text. It is validated at synthesis (ConfigError listing every problem) and shipped in the bundle
   * as compact JSON, the file `failover-config.json` beside `index.mjs` (CONFIG_DEFINE, configCommandHooks), cut to
   * the slice that `entry` reads (LAMBDA_CONFIG_SLICES), so that the configuration travels with the code version,
   * is no runtime variable, and the function bundles no YAML parser.
   * @default - no configuration is inlined
   */
  readonly configYaml?: string;
  /**
   * Retention of the function's log group, which this construct creates.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /**
   * X-Ray tracing. Lambda traces the first invocation of each second and 5 % of the rest, so a function invoked a
   * few times a minute has every invocation traced ($5 per million traces): turn it off on the high-volume ones.
   * @default lambda.Tracing.ACTIVE
   */
  readonly tracing?: lambda.Tracing;
}

/**
 * A Lambda function of this project with the house defaults: arm64, the newest Node.js runtime, an ESM bundle with
 * source maps built by the local esbuild (no Docker), X-Ray tracing unless turned off, a log group with retention
 * created explicitly, and an execution role with no managed policy: it may write to its own log group and nothing
 * else until granted.
 */
export class FailoverFunction extends NodejsFunction {
  /** The role the function runs as; grant it further permissions through `grant*` or `addToPolicy`. */
  public readonly executionRole: iam.Role;
  /** The function's log group. */
  public readonly functionLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FailoverFunctionProps) {
    // The role and log group are siblings: a subclass cannot create children before calling super.
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    const { configYaml, serviceName, bundling, environment, ...rest } = props;
    const tracing = props.tracing ?? lambda.Tracing.ACTIVE;
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      ...rest,
      entry: `${REPO_ROOT}${props.entry}`,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: FAILOVER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      tracing,
      role,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceName,
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        ...LAMBDA_BUNDLING,
        ...(configYaml !== undefined
          ? { commandHooks: configCommandHooks(configFileOf(scope, configYaml, configSliceOf(props.entry))) }
          : {}),
        ...bundling,
        define: { ...(configYaml !== undefined ? CONFIG_DEFINE : {}), ...bundling?.define },
      },
    });
    logGroup.grantWrite(role);
    if (tracing !== lambda.Tracing.DISABLED) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments and PutTelemetryRecords (added by active tracing) accept no resource but *.',
      });
    }
    this.executionRole = role;
    this.functionLogGroup = logGroup;
  }
}
