import type { Context } from 'aws-lambda';
import { vi } from 'vitest';

/** A Lambda context as the runtime passes it, for `functionName`. */
export function lambdaContext(functionName: string, remainingMs = 60_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'd1e2c3a4-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]abc',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Captures what Powertools writes (info to stdout, warnings and errors to stderr) as parsed JSON records. */
export function captureLogs(): () => Record<string, unknown>[] {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () =>
    [...out.mock.calls, ...err.mock.calls]
      .map((c) => String(c[0]))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The EMF record (the one with `_aws`) among captured log records. */
export const emfOf = (logs: Record<string, unknown>[]): Record<string, unknown> | undefined =>
  logs.find((r) => '_aws' in r);

/** The region and local credentials every handler test runs with; a test's own environment adds to them. */
export const LOCAL_AWS_ENV = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

/** Imports a handler's module afresh under `env` (over LOCAL_AWS_ENV): its dependencies are built at import. */
export async function importWithEnv<M>(env: Record<string, string>, load: () => Promise<M>): Promise<M> {
  vi.resetModules();
  for (const [key, value] of Object.entries({ ...LOCAL_AWS_ENV, ...env })) vi.stubEnv(key, value);
  return load();
}
