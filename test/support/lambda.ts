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
