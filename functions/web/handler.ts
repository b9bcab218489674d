import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadWebAssets } from '../../shared/api/web-assets.ts';
import { logger } from '../shared/runtime.ts';

// The construct copies dist/web into the bundle's folder as web/; read once per execution environment.
const assets = loadWebAssets(
  join(dirname(fileURLToPath(import.meta.url)), 'web'),
  'the function was bundled without dist/web (npm run build:web, then deploy again)',
);
if (assets.problem) logger.error('web assets missing', { problem: assets.problem });
const statusPages = (process.env.FAILOVER_STATUS_PAGES ?? '').split(',').filter((id) => id !== '');

/** The dashboard (`/`), the status pages (`/status/{page}`) and their assets, on the HTTP API's own origin. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => assets.respond(event.rawPath, event.headers, statusPages));
