import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startEchoResponder, type EchoResponder } from '../../shared/responders/echo-responder.ts';

const HOST = '127.0.0.1';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function responder(opts: Parameters<typeof startEchoResponder>[0] = {}): Promise<EchoResponder> {
  const echo = await startEchoResponder({ host: HOST, ...opts });
  cleanups.push(() => echo.close());
  return echo;
}

/** A loopback client that records what comes back. */
async function client(): Promise<{ send(data: Buffer, port: number): void; replies: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const replies: Buffer[] = [];
  socket.on('message', (msg) => replies.push(msg));
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { send: (data, port) => socket.send(data, port, HOST), replies };
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition() && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Open UDP sockets, counted once the ones being closed are gone (libuv closes handles a loop turn later). */
async function udpHandles(): Promise<number> {
  await sleep(20);
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

describe('startEchoResponder', () => {
  it('echoes every datagram unchanged, empty and large ones included', async () => {
    const echo = await responder();
    const c = await client();
    const payloads = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(1400, 7), Buffer.alloc(60_000, 0xab)];
    for (const p of payloads) c.send(p, echo.port);
    await until(() => c.replies.length === payloads.length);

    expect(echo.address).toBe(HOST);
    expect(echo.port).toBeGreaterThan(0);
    expect(c.replies.map((r) => r.length).sort((a, b) => a - b)).toEqual(payloads.map((p) => p.length));
    expect(c.replies.some((r) => r.equals(payloads[3]!))).toBe(true);
    expect(echo.stats()).toEqual({ received: 4, echoed: 4, dropped: 0 });
  });

  it('drops a lossPct share decided by the given random', async () => {
    let calls = 0;
    const echo = await responder({ lossPct: 25, random: () => (++calls % 4 === 0 ? 0.1 : 0.9) });
    const c = await client();
    for (let i = 0; i < 20; i++) c.send(Buffer.from([i]), echo.port);
    await until(() => echo.stats().received === 20 && c.replies.length === 15);
    await sleep(50);

    expect(c.replies).toHaveLength(15);
    expect(echo.stats()).toEqual({ received: 20, echoed: 15, dropped: 5 });
  });

  it('changes loss and delay at run time, ignoring nonsense values', async () => {
    const echo = await responder();
    const c = await client();
    echo.setImpairment({ lossPct: 100 });
    for (let i = 0; i < 5; i++) c.send(Buffer.from([i]), echo.port);
    await until(() => echo.stats().received === 5);
    await sleep(50);
    expect(c.replies).toHaveLength(0);

    echo.setImpairment({ lossPct: Number.NaN, delayMs: -5, jitterMs: Number.POSITIVE_INFINITY });
    c.send(Buffer.from('back'), echo.port);
    await until(() => c.replies.length === 1);
    expect(c.replies[0]?.toString()).toBe('back');

    echo.setImpairment({ delayMs: 150 });
    const sentAt = performance.now();
    c.send(Buffer.from('late'), echo.port);
    await until(() => c.replies.length === 2);
    expect(c.replies[1]?.toString()).toBe('late');
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(140);
  });

  it('limits its echo rate', async () => {
    const echo = await responder({ maxPacketsPerSecond: 10 });
    const c = await client();
    for (let i = 0; i < 50; i++) c.send(Buffer.from([i]), echo.port);
    await until(() => echo.stats().received === 50);
    await sleep(50);

    const { echoed, dropped } = echo.stats();
    expect(echoed).toBeLessThanOrEqual(12);
    expect(dropped).toBeGreaterThanOrEqual(38);
  });

  it('cancels delayed echoes on close, and close is idempotent', async () => {
    const echo = await startEchoResponder({ host: HOST, delayMs: 300 });
    const c = await client();
    c.send(Buffer.from('never'), echo.port);
    await until(() => echo.stats().received === 1);
    await Promise.all([echo.close(), echo.close()]);
    await echo.close();
    await sleep(400);

    expect(c.replies).toHaveLength(0);
    expect(await udpHandles()).toBe(1); // the client's
  });

  it('rejects when it cannot bind, leaving no socket behind', async () => {
    const before = await udpHandles();
    await expect(startEchoResponder({ host: '192.0.2.1' })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect(await udpHandles()).toBe(before);
  });
});
