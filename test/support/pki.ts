// @peculiar/x509 2 loads tsyringe, which needs the Reflect metadata API installed first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { inject } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const DAY_MS = 86_400_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  readonly cert: string;
  readonly key: string;
}

/** A test CA and the server certificates it issued. */
export interface TestPki {
  /** PEM of the CA certificate. */
  readonly caPem: string;
  /** A temporary file holding `caPem`, for `caFile`. */
  readonly caFile: string;
  /** For localhost and 127.0.0.1, valid for a year. */
  readonly valid: KeyPairPem;
  /** For localhost and 127.0.0.1, expired yesterday. */
  readonly expired: KeyPairPem;
  /** Valid, but for other.test only. */
  readonly wrongHost: KeyPairPem;
  /** For localhost and 127.0.0.1, expiring in 5 days. */
  readonly expiringSoon: KeyPairPem;
  /** For portal.test (connectTo tests). */
  readonly portal: KeyPairPem;
}

let pki: Promise<TestPki> | undefined;

/** The test PKI, made once per test file at test time. */
export function testPki(): Promise<TestPki> {
  pki ??= makePki();
  return pki;
}

async function makePki(): Promise<TestPki> {
  const now = Date.now();
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Failover Test CA, O=failover tests',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  let serial = 1;
  const leaf = async (cn: string, names: x509.JsonGeneralName[], from: number, to: number): Promise<KeyPairPem> => {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    serial += 1;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString(16).padStart(2, '0'),
      subject: `CN=${cn}`,
      issuer: ca.subject,
      notBefore: new Date(from),
      notAfter: new Date(to),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
  };

  const local: x509.JsonGeneralName[] = [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ];
  const caPem = ca.toString('pem');
  const dir = await mkdtemp(join(inject('scratchDir'), 'pki-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, caPem);
  return {
    caPem,
    caFile,
    valid: await leaf('localhost', local, now - DAY_MS, now + 365 * DAY_MS),
    expired: await leaf('localhost', local, now - 30 * DAY_MS, now - DAY_MS),
    wrongHost: await leaf('other.test', [{ type: 'dns', value: 'other.test' }], now - DAY_MS, now + 365 * DAY_MS),
    expiringSoon: await leaf('localhost', local, now - DAY_MS, now + 5 * DAY_MS),
    portal: await leaf('portal.test', [{ type: 'dns', value: 'portal.test' }], now - DAY_MS, now + 365 * DAY_MS),
  };
}
