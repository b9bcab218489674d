import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** An HTTP route as the local server and the in-process callers see it: what API Gateway's HTTP API (payload format 2.0) would send to a Lambda. */
export interface HttpRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path template with `{name}` parameters, e.g. `/v1/sites/{id}`. */
  readonly path: string;
  readonly handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
}

/**
 * Calls a Lambda handler (a middy one included) outside Lambda, with a minimal Context: 30 s to run, like API
 * Gateway's integration timeout.
 */
export function invokeLocally<E, R>(
  handler: (event: E, context: Context) => Promise<R> | R,
  event: E,
  functionName = 'failover-local',
): Promise<R> {
  const deadline = Date.now() + 30_000;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  return Promise.resolve(handler(event, context));
}
