import { isIP } from 'node:net';
import { checkServerIdentity, connect, type SecureContext, type TLSSocket } from 'node:tls';
import type { TlsSpec } from '../config/checks.ts';
import type { ProbeFields } from '../contracts/observation.ts';
import { describeVerifyError, expiryWarning, loadCaContext, summarizeCert, type CertSummary } from './cert.ts';
import { degraded, describeError, down, since, up } from './result.ts';
import { abortError, budgetWarning, ProbeFailure, runAttempt, type Attempt } from './attempt.ts';
import { connectTcp, type TcpTarget } from './tcp.ts';
import type { Probe } from './types.ts';

/** Where to open a TLS connection and how to verify it. */
export interface TlsTarget extends TcpTarget {
  /** Name sent as SNI (unless an IP literal) and verified against the certificate; default `host`. */
  readonly servername?: string;
  /** PEM file of CA certificates trusted besides the system roots. */
  readonly caFile?: string;
}

/** A finished TLS handshake, verified or not: the caller decides what an unverified peer means. */
export interface TlsConnection {
  readonly socket: TLSSocket;
  readonly cert: CertSummary;
  /** Negotiated protocol, e.g. TLSv1.3. */
  readonly protocol: string | null;
  /** Chain valid against the trusted roots and the certificate names `name`. */
  readonly authorized: boolean;
  /** Why the peer is not authorized, for a human (e.g. "certificate has expired"); null when authorized. */
  readonly problem: string | null;
  /** The name verified against the certificate. */
  readonly name: string;
}

/**
 * Opens a fresh TCP connection and completes a TLS handshake on it, recording `tlsMs` in `attempt.timings`.
 * Verification (chain against system roots plus `caFile`, then hostname) is reported, not enforced: nothing has
 * been sent on the socket yet, and the caller must destroy it. Rejects with a ProbeFailure (`dns`, `connect`,
 * `tls`) or the abort reason.
 */
export async function connectTls(target: TlsTarget, attempt: Attempt): Promise<TlsConnection> {
  const name = target.servername || target.host;
  let secureContext: SecureContext | undefined;
  if (target.caFile) {
    try {
      secureContext = await loadCaContext(target.caFile);
    } catch (error) {
      throw new ProbeFailure('tls', `cannot load caFile: ${describeError(error)}`, {}, { cause: error });
    }
  }
  const raw = await connectTcp(target, attempt);
  const { signal } = attempt;
  return new Promise<TlsConnection>((resolve, reject) => {
    if (signal.aborted) {
      raw.destroy();
      return reject(abortError(signal));
    }
    attempt.phase = `TLS handshake with ${target.host}:${target.port}`;
    const started = performance.now();
    let socket: TLSSocket;
    try {
      socket = connect({
        socket: raw,
        ...(isIP(name) ? {} : { servername: name }),
        ...(secureContext ? { secureContext } : {}),
        rejectUnauthorized: false,
        checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
      });
    } catch (error) {
      raw.destroy();
      return reject(new ProbeFailure('tls', `TLS handshake failed: ${describeError(error)}`, {}, { cause: error }));
    }
    const cleanup = (): void => {
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbortSignal);
    };
    const onSecure = (): void => {
      cleanup();
      attempt.timings.tlsMs = since(started);
      const cert = summarizeCert(socket.getPeerCertificate());
      const authorized = socket.authorized;
      const code = String(socket.authorizationError ?? 'CERT_UNTRUSTED');
      resolve({
        socket,
        cert,
        protocol: socket.getProtocol() ?? null,
        authorized,
        problem: authorized ? null : describeVerifyError(code, cert, name),
        name,
      });
    };
    const fail = (detail: string, cause?: unknown): void => {
      cleanup();
      socket.destroy();
      reject(new ProbeFailure('tls', detail, {}, { cause }));
    };
    const onError = (error: Error): void => fail(`TLS handshake failed: ${handshakeError(error)}`, error);
    const onClose = (): void => fail('connection closed during the TLS handshake');
    const onAbortSignal = (): void => {
      cleanup();
      socket.destroy();
      reject(abortError(signal));
    };
    socket.on('error', () => {});
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
    signal.addEventListener('abort', onAbortSignal, { once: true });
  });
}

/** OpenSSL's reason without its error-stack noise, e.g. "wrong version number (is the peer speaking TLS?)". */
function handshakeError(error: Error): string {
  const parts = error.message.split(':');
  const routines = parts.indexOf('SSL routines');
  const reason = routines >= 0 ? parts[routines + 2] : undefined;
  if (!reason) return describeError(error);
  return reason === 'wrong version number' ? `${reason} (is the peer speaking TLS?)` : reason;
}

/** The certificate facts a TLS or HTTPS probe reports. */
export function certFields(cert: CertSummary): ProbeFields {
  return { daysToExpiry: cert.daysToExpiry, certSubject: cert.subject, certIssuer: cert.issuer };
}

/**
 * TLS probe: handshake with host:port (SNI `servername ?? host`, none for IP literals), verifying the chain against
 * the system roots (plus `caFile`) and the name. Latency is the time to a completed handshake. An untrusted,
 * expired or wrong-name certificate is `down` (`tls`); one expiring within `certExpiryWarnDays` is `degraded`.
 */
export const tlsProbe: Probe<TlsSpec> = (spec, ctx) =>
  runAttempt(ctx, async (attempt) => {
    const target: TlsTarget = {
      host: spec.host,
      port: spec.port,
      localAddress: ctx.localAddress,
      servername: spec.servername,
      caFile: spec.caFile,
    };
    const conn = await connectTls(target, attempt);
    const latency = since(attempt.start);
    conn.socket.destroy();
    const timings = { ...attempt.timings };
    const fields: ProbeFields = {
      ...certFields(conn.cert),
      validTo: conn.cert.validTo?.toISOString() ?? null,
      protocol: conn.protocol,
      authorized: conn.authorized,
    };
    if (!conn.authorized) return down('tls', conn.problem ?? 'certificate not trusted', latency, fields, timings);
    const detail = `${conn.protocol ?? 'TLS'} handshake with ${spec.host}:${spec.port} in ${latency} ms`;
    const warnings = [
      expiryWarning(conn.cert.daysToExpiry, spec.certExpiryWarnDays),
      budgetWarning(latency, spec.latencyBudgetMs),
    ].filter((w): w is string => w !== null);
    return warnings.length > 0
      ? degraded(latency, `${detail}; ${warnings.join('; ')}`, fields, timings)
      : up(latency, detail, fields, timings);
  });
