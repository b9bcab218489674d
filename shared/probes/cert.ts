import { readFile } from 'node:fs/promises';
import { createSecureContext, rootCertificates, type PeerCertificate, type SecureContext } from 'node:tls';

const DAY_MS = 86_400_000;

/** The facts of a peer certificate that probes report. */
export interface CertSummary {
  /** Common name of the subject, else its organisation. */
  readonly subject: string;
  /** Common name of the issuer, else its organisation. */
  readonly issuer: string;
  readonly validTo: Date | null;
  /** Whole days until `validTo`, rounded toward zero (negative once expired a day), null when unknown. */
  readonly daysToExpiry: number | null;
  /** DNS names and IP addresses from the subjectAltName, else the subject's common name. */
  readonly names: readonly string[];
}

/** Condenses Node's peer certificate into the facts probes report. */
export function summarizeCert(cert: PeerCertificate | undefined, now: number = Date.now()): CertSummary {
  const validToMs = cert?.valid_to ? Date.parse(cert.valid_to) : Number.NaN;
  const validTo = Number.isFinite(validToMs) ? new Date(validToMs) : null;
  const subject = shortName(cert?.subject);
  const names = (cert?.subjectaltname ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:') || entry.startsWith('IP Address:'))
    .map((entry) => entry.slice(entry.indexOf(':') + 1));
  return {
    subject,
    issuer: shortName(cert?.issuer),
    validTo,
    daysToExpiry: validTo ? Math.trunc((validTo.getTime() - now) / DAY_MS) || 0 : null,
    names: names.length > 0 ? names : subject ? [subject] : [],
  };
}

function shortName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  const pick = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
  return pick(name.CN) ?? pick(name.O) ?? '';
}

const VERIFY_ERRORS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate chain ends in an untrusted root',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate is not trusted (unknown issuer)',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate is not trusted (unknown issuer)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate is not trusted (unknown issuer)',
  CERT_UNTRUSTED: 'certificate is not trusted',
  CERT_REJECTED: 'certificate is rejected',
  CERT_REVOKED: 'certificate has been revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature is invalid',
  INVALID_CA: 'certificate chain has an invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'certificate chain is too long',
  INVALID_PURPOSE: 'certificate is not for TLS servers',
};

/**
 * A short human reason for a failed certificate verification, from Node's `authorizationError` code, e.g.
 * "certificate has expired" or "certificate is for other.test, not portal.test".
 */
export function describeVerifyError(code: string, cert: CertSummary, expectedName: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    const shown = cert.names.slice(0, 3).join(', ') + (cert.names.length > 3 ? ', ...' : '');
    return `certificate is for ${shown || 'no name'}, not ${expectedName}`;
  }
  const reason = VERIFY_ERRORS[code] ?? `certificate rejected (${code})`;
  if (code === 'CERT_HAS_EXPIRED' && cert.validTo) return `${reason} (on ${cert.validTo.toISOString()})`;
  if (reason.includes('unknown issuer') && cert.issuer)
    return `certificate is not trusted (unknown issuer ${cert.issuer})`;
  return reason;
}

/** The degraded reason when a certificate expires within `warnDays`, else null. */
export function expiryWarning(daysToExpiry: number | null, warnDays: number): string | null {
  if (daysToExpiry === null || daysToExpiry >= warnDays) return null;
  const days = daysToExpiry === 1 ? '1 day' : `${daysToExpiry} days`;
  return `certificate expires in ${days} (warning below ${warnDays})`;
}

const caContexts = new Map<string, Promise<SecureContext>>();

/**
 * A TLS client context that trusts the system roots plus the PEM certificates in `caFile`. The file is read once per
 * path; a failed read is not cached, so a file that appears later is picked up.
 */
export function loadCaContext(caFile: string): Promise<SecureContext> {
  let context = caContexts.get(caFile);
  if (!context) {
    context = readFile(caFile, 'utf8').then((pem) => {
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${caFile} holds no PEM certificate`);
      return createSecureContext({ ca: [...rootCertificates, pem] });
    });
    caContexts.set(caFile, context);
    context.catch(() => caContexts.delete(caFile));
  }
  return context;
}
