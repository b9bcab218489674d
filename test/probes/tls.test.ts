import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsSpec } from '../../shared/config/checks.ts';
import { ProbeResult } from '../../shared/contracts/observation.ts';
import { tlsProbe } from '../../shared/probes/tls.ts';
import { testPki, type TestPki } from '../support/pki.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
let pki: TestPki;
const ports: Record<'valid' | 'expired' | 'wrongHost' | 'expiringSoon' | 'portal', number> = {
  valid: 0,
  expired: 0,
  wrongHost: 0,
  expiringSoon: 0,
  portal: 0,
};

beforeAll(async () => {
  pki = await testPki();
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) {
    ports[name] = await pool.https(pki[name], (_req, res) => res.end('ok'));
  }
});
afterAll(() => pool.closeAll());

const ctx = { timeoutMs: 3000 };

describe('tlsProbe', () => {
  it('is up for a valid certificate trusted through caFile', async () => {
    const result = await tlsProbe(TlsSpec.parse({ host: 'localhost', port: ports.valid, caFile: pki.caFile }), ctx);
    expect(ProbeResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({ outcome: 'up', errorClass: null });
    expect(result.fields).toMatchObject({ certSubject: 'localhost', certIssuer: 'Failover Test CA', authorized: true });
    expect(result.fields.daysToExpiry).toBeGreaterThanOrEqual(363);
    expect(result.fields.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(Date.parse(String(result.fields.validTo))).toBeGreaterThan(Date.now());
    expect(result.timings?.connectMs).toBeGreaterThanOrEqual(0);
    expect(result.timings?.tlsMs).toBeGreaterThanOrEqual(0);
    expect(result.latencyMs).toBeGreaterThanOrEqual(result.timings?.tlsMs ?? 0);
  });

  it('verifies an IP literal against the IP addresses of the certificate (no SNI)', async () => {
    const result = await tlsProbe(TlsSpec.parse({ host: '127.0.0.1', port: ports.valid, caFile: pki.caFile }), ctx);
    expect(result.outcome).toBe('up');
  });

  it('is down (tls) for a certificate not trusted without caFile', async () => {
    const result = await tlsProbe(TlsSpec.parse({ host: 'localhost', port: ports.valid }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    expect(result.detail).toContain('not trusted');
    expect(result.fields).toMatchObject({ authorized: false, certSubject: 'localhost' });
  });

  it('is down (tls) for an expired certificate', async () => {
    const result = await tlsProbe(TlsSpec.parse({ host: 'localhost', port: ports.expired, caFile: pki.caFile }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    expect(result.detail).toContain('certificate has expired');
    expect(result.fields.daysToExpiry).toBeLessThan(0);
  });

  it('is down (tls) for a certificate of another host', async () => {
    const result = await tlsProbe(TlsSpec.parse({ host: 'localhost', port: ports.wrongHost, caFile: pki.caFile }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
    expect(result.detail).toBe('certificate is for other.test, not localhost');
  });

  it('verifies servername instead of host', async () => {
    const spec = TlsSpec.parse({
      host: '127.0.0.1',
      port: ports.portal,
      servername: 'portal.test',
      caFile: pki.caFile,
    });
    expect((await tlsProbe(spec, ctx)).outcome).toBe('up');
    const wrong = TlsSpec.parse({
      host: '127.0.0.1',
      port: ports.portal,
      servername: 'other.test',
      caFile: pki.caFile,
    });
    expect(await tlsProbe(wrong, ctx)).toMatchObject({
      outcome: 'down',
      errorClass: 'tls',
      detail: 'certificate is for portal.test, not other.test',
    });
  });

  it('is degraded for a certificate expiring within the warning days', async () => {
    const spec = TlsSpec.parse({ host: 'localhost', port: ports.expiringSoon, caFile: pki.caFile });
    const result = await tlsProbe(spec, ctx);
    expect(result).toMatchObject({ outcome: 'degraded', errorClass: null });
    expect(result.fields.daysToExpiry).toBeGreaterThanOrEqual(4);
    expect(result.fields.daysToExpiry).toBeLessThanOrEqual(5);
    expect(result.detail).toMatch(/certificate expires in [45] days \(warning below 14\)/);
    const relaxed = await tlsProbe({ ...spec, certExpiryWarnDays: 3 }, ctx);
    expect(relaxed.outcome).toBe('up');
  });

  it('is down (timeout) by the deadline when the server never handshakes', async () => {
    const port = await pool.silent();
    const started = Date.now();
    const result = await tlsProbe(TlsSpec.parse({ host: '127.0.0.1', port }), { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
    expect(result.detail).toContain('TLS handshake');
    expect(result.timings?.connectMs).toBeGreaterThanOrEqual(0);
  });

  it('classifies refused and unresolvable', async () => {
    const refused = await tlsProbe(TlsSpec.parse({ host: '127.0.0.1', port: await closedPort() }), ctx);
    expect(refused).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    const unresolved = await tlsProbe(TlsSpec.parse({ host: 'nothing-here.invalid' }), ctx);
    expect(unresolved).toMatchObject({ outcome: 'down', errorClass: 'dns' });
  });

  it('is down (tls) when the peer does not speak TLS', async () => {
    const { createServer } = await import('node:net');
    const port = await pool.listen(createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const result = await tlsProbe(TlsSpec.parse({ host: '127.0.0.1', port }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'tls' });
  });

  it('never throws for odd inputs', async () => {
    const odd = [
      { host: 'localhost', port: ports.valid, caFile: '/nonexistent/ca.pem' },
      { host: 'localhost', port: ports.valid, caFile: '/etc/hostname' },
      { host: '', port: 443 },
      { host: '127.0.0.1', port: -1 },
      { host: 'localhost', port: ports.valid, servername: 'bad name!' },
    ] as unknown as TlsSpec[];
    for (const spec of odd) {
      const result = await tlsProbe(spec, ctx);
      expect(ProbeResult.parse(result).outcome).toBe('down');
    }
    const missing = await tlsProbe(odd[0] as TlsSpec, ctx);
    expect(missing).toMatchObject({ errorClass: 'tls' });
    expect(missing.detail).toContain('caFile');
  });
});
