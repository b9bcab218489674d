import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpMethod, PayloadFormatVersion } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { WEB_ROUTES } from '../../shared/api/web-assets.ts';
import { FailoverFunction, REPO_ROOT } from './failover-function.ts';
import { LAMBDA_ENTRIES } from './lambda-bundling.ts';

/** Props of a {@link WebConsole}. */
export interface WebConsoleProps {
  /** The HTTP API whose origin serves the pages: they call its `/v1` routes, same origin, no CORS. */
  readonly httpApi: apigwv2.HttpApi;
  /** Ids of sites.yaml `statusPages`; `/status` goes to the first. @default none */
  readonly statusPages?: readonly string[];
  /**
   * The web build (`npm run build:web`, run by `npm install`) copied into the function's bundle.
   * @default dist/web of the repository
   */
  readonly webDir?: string;
}

/**
 * The operators' dashboard and the public status pages, served by a function of their own on the HTTP API's
 * routes `/`, `/status`, `/status/{page}`, `/assets/{file}` and `/favicon.svg`. The function holds the built files
 * in its bundle and has no permission beyond its log group: it reads no table, no secret. Pages update by polling
 * the API (API Gateway cannot stream server-sent events).
 */
export class WebConsole extends Construct {
  /** The function that answers the page and asset routes. */
  public readonly function: FailoverFunction;
  /** The routes it answers. */
  public readonly routes: apigwv2.HttpRoute[];

  constructor(scope: Construct, id: string, props: WebConsoleProps) {
    super(scope, id);
    const webDir = props.webDir ?? join(REPO_ROOT, 'dist/web');
    if (!existsSync(join(webDir, 'index.html')))
      throw new Error(`WebConsole: no web build in ${webDir}: run \`npm run build:web\` (npm install runs it)`);
    this.function = new FailoverFunction(this, 'Function', {
      entry: LAMBDA_ENTRIES.web,
      description: 'The failover dashboard and status pages (static files)',
      serviceName: 'failover-web',
      memorySize: 256,
      timeout: Duration.seconds(5),
      // Static files: nothing worth a trace.
      tracing: lambda.Tracing.DISABLED,
      environment: { FAILOVER_STATUS_PAGES: (props.statusPages ?? []).join(',') },
      bundling: {
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [`cp -R "${webDir}" "${output}/web"`],
        },
      },
    });
    const integration = new HttpLambdaIntegration('Function', this.function, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    this.routes = WEB_ROUTES.flatMap((r) =>
      props.httpApi.addRoutes({ path: r.path, methods: [HttpMethod[r.method]], integration }),
    );
  }
}
