import { lookup as dnsLookup } from 'node:dns';
import { connect, isIP, type LookupFunction, type Socket } from 'node:net';
import type { TcpSpec } from '../config/checks.ts';
import type { ProbeFields } from '../contracts/observation.ts';
import { abortError, budgetWarning, ProbeFailure, runAttempt, type Attempt } from './attempt.ts';
import { classifyError, degraded, describeError, since, up } from './result.ts';
import type { Probe } from './types.ts';

/** Where to open a TCP connection. */
export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  /** Source address to bind, so that the connection leaves through one WAN link. */
  readonly localAddress?: string;
}

/**
 * Opens a fresh TCP connection, recording `dnsMs` (when a name was resolved) and `connectMs` in `attempt.timings`.
 * Rejects with a ProbeFailure of class `dns` or `connect`, or with the abort reason; never leaves a socket behind.
 */
export function connectTcp(target: TcpTarget, attempt: Attempt): Promise<Socket> {
  const { signal } = attempt;
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const started = performance.now();
    const lookup: LookupFunction = (hostname, options, callback) => {
      attempt.phase = `resolving ${hostname}`;
      const lookupStarted = performance.now();
      dnsLookup(hostname, options, (error, address, family) => {
        attempt.timings.dnsMs = since(lookupStarted);
        attempt.phase = `connecting to ${target.host}:${target.port}`;
        callback(error, address, family);
      });
    };
    attempt.phase = `connecting to ${target.host}:${target.port}`;
    const family = target.localAddress ? isIP(target.localAddress) : 0;
    let socket: Socket;
    try {
      socket = connect({
        host: target.host,
        port: target.port,
        // An address literal is not resolved: no lookup to time.
        ...(isIP(target.host) ? {} : { lookup }),
        ...(target.localAddress ? { localAddress: target.localAddress } : {}),
        ...(family ? { family } : {}),
      });
    } catch (error) {
      return reject(new ProbeFailure('connect', describeError(error), {}, { cause: error }));
    }
    const cleanup = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbortSignal);
    };
    const onConnect = (): void => {
      cleanup();
      attempt.timings.connectMs = Math.max(0, Math.round((since(started) - (attempt.timings.dnsMs ?? 0)) * 10) / 10);
      resolve(socket);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(connectFailure(error, target));
    };
    const onAbortSignal = (): void => {
      cleanup();
      socket.destroy();
      reject(abortError(signal));
    };
    // A late error on a socket handed over or destroyed must not crash the process.
    socket.on('error', () => {});
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbortSignal, { once: true });
  });
}

function connectFailure(error: Error, target: TcpTarget): ProbeFailure {
  const code = (error as { code?: unknown }).code;
  const where = `${target.host}:${target.port}`;
  const errorClass = classifyError(error);
  if (errorClass === 'dns') {
    const detail =
      code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA'
        ? `${target.host} does not resolve (${String(code)})`
        : `DNS lookup of ${target.host} failed: ${describeError(error)}`;
    return new ProbeFailure('dns', detail, {}, { cause: error });
  }
  if (code === 'ECONNREFUSED')
    return new ProbeFailure('connect', `connection refused by ${where}`, {}, { cause: error });
  if (errorClass === 'timeout') {
    return new ProbeFailure('timeout', `connecting to ${where} timed out`, {}, { cause: error });
  }
  return new ProbeFailure('connect', `cannot connect to ${where}: ${describeError(error)}`, {}, { cause: error });
}

/**
 * TCP probe: opens a connection to host:port and closes it. Latency is the connect time (after DNS); timings hold
 * `dnsMs` (names only) and `connectMs`. Refused is `connect`, unresolvable `dns`, no answer by the deadline `timeout`.
 */
export const tcpProbe: Probe<TcpSpec> = (spec, ctx) =>
  runAttempt(ctx, async (attempt) => {
    const socket = await connectTcp({ host: spec.host, port: spec.port, localAddress: ctx.localAddress }, attempt);
    const fields: ProbeFields = {
      remoteAddress: socket.remoteAddress ?? null,
      localAddress: socket.localAddress ?? null,
    };
    socket.destroy();
    const timings = { ...attempt.timings };
    const latency = timings.connectMs ?? since(attempt.start);
    const detail = `connected to ${spec.host}:${spec.port} in ${latency} ms`;
    const overBudget = budgetWarning(latency, spec.latencyBudgetMs);
    return overBudget
      ? degraded(latency, `${detail}; ${overBudget}`, fields, timings)
      : up(latency, detail, fields, timings);
  });
