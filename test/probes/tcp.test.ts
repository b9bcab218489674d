import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { TcpSpec } from '../../shared/config/checks.ts';
import { ProbeResult } from '../../shared/contracts/observation.ts';
import { tcpProbe } from '../../shared/probes/tcp.ts';
import { closedPort, ServerPool } from '../support/probe-servers.ts';

const pool = new ServerPool();
afterAll(() => pool.closeAll());

const ctx = { timeoutMs: 2000 };

describe('tcpProbe', () => {
  it('is up on an open port, with the connect time as latency', async () => {
    const port = await pool.listen(createServer((socket) => socket.end()));
    const result = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port }), ctx);
    expect(ProbeResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({ outcome: 'up', errorClass: null });
    expect(result.latencyMs).toBe(result.timings?.connectMs);
    expect(result.timings?.dnsMs).toBeUndefined();
    expect(result.fields.remoteAddress).toBe('127.0.0.1');
  });

  it('measures DNS when given a name', async () => {
    const port = await pool.listen(createServer((socket) => socket.end()));
    const result = await tcpProbe(TcpSpec.parse({ host: 'localhost', port }), ctx);
    expect(result.outcome).toBe('up');
    expect(result.timings?.dnsMs).toBeGreaterThanOrEqual(0);
    expect(result.timings?.connectMs).toBeGreaterThanOrEqual(0);
  });

  it('is down (connect) on a closed port', async () => {
    const port = await closedPort();
    const result = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'connect', latencyMs: null });
    expect(result.detail).toContain('refused');
  });

  it('is down (dns) for a name that does not resolve', async () => {
    const result = await tcpProbe(TcpSpec.parse({ host: 'no-such-host.invalid', port: 80 }), ctx);
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'dns' });
    expect(result.detail).toContain('no-such-host.invalid does not resolve');
  });

  it('is degraded over the latency budget', async () => {
    const port = await pool.listen(createServer((socket) => socket.end()));
    // A budget of 1 ms is not exceeded reliably on loopback, so check the judgement through the detail when it is.
    const result = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port, latencyBudgetMs: 1 }), ctx);
    expect(['up', 'degraded']).toContain(result.outcome);
    if (result.outcome === 'degraded') expect(result.detail).toContain('over the 1 ms budget');
    else expect(result.latencyMs).toBeLessThanOrEqual(1);
  });

  it('ends at once when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port: 9 }), {
      timeoutMs: 5000,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
  });

  it('binds the local address', async () => {
    const port = await pool.listen(createServer((socket) => socket.end()));
    const result = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port }), { ...ctx, localAddress: '127.0.0.1' });
    expect(result.outcome).toBe('up');
    expect(result.fields.localAddress).toBe('127.0.0.1');
    const unbindable = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port }), {
      ...ctx,
      localAddress: '192.0.2.77',
    });
    expect(unbindable).toMatchObject({ outcome: 'down', errorClass: 'connect' });
  });

  it('never throws for odd inputs', async () => {
    const odd = [
      { host: '', port: 80 },
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 70000 },
      { host: '127.0.0.1', port: Number.NaN },
      { host: 'bad host name', port: 80 },
    ] as unknown as TcpSpec[];
    for (const spec of odd) {
      const result = await tcpProbe(spec, { timeoutMs: 1000 });
      expect(ProbeResult.parse(result).outcome).toBe('down');
    }
    const noTime = await tcpProbe(TcpSpec.parse({ host: '127.0.0.1', port: await closedPort() }), {
      timeoutMs: Number.NaN,
    });
    expect(noTime.outcome).toBe('down');
  });
});
