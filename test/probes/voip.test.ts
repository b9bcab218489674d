import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { VoipSpec } from '../../shared/config/checks.ts';
import { estimateMos } from '../../shared/probes/emodel.ts';
import { voipProbe } from '../../shared/probes/voip.ts';
import { startEchoResponder, type EchoResponder } from '../../shared/responders/echo-responder.ts';

const HOST = '127.0.0.1';
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spec(port: number, extra: Partial<VoipSpec> = {}): VoipSpec {
  return VoipSpec.parse({ host: HOST, port, packets: 25, ...extra });
}

async function responder(opts: Parameters<typeof startEchoResponder>[0] = {}): Promise<EchoResponder> {
  const echo = await startEchoResponder({ host: HOST, ...opts });
  cleanups.push(() => echo.close());
  return echo;
}

/** A loopback UDP peer that answers with whatever `onMessage` sends through `reply`. */
async function peer(
  onMessage: (msg: Buffer, reply: (data: Buffer) => void) => void = () => {},
): Promise<{ port: number; socket: dgram.Socket }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => onMessage(msg, (data) => socket.send(data, rinfo.port, rinfo.address)));
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, socket };
}

/** Deterministic "random" for the responder's loss decision: every `n`th call returns 0 (drop), the rest 0.99. */
function dropEvery(n: number): () => number {
  let calls = 0;
  return () => (++calls % n === 0 ? 0 : 0.99);
}

/** mulberry32: a small seeded PRNG. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** No socket or timer the probe opened is still open. */
async function expectNoLeaks(before: { udp: number; timers: number }): Promise<void> {
  const after = await handles();
  expect(after.udp).toBe(before.udp);
  expect(after.timers).toBeLessThanOrEqual(before.timers);
}

/** Open UDP sockets and timers, counted once closing sockets are gone (libuv closes handles a loop turn later). */
async function handles(): Promise<{ udp: number; timers: number }> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const resources = process.getActiveResourcesInfo();
  return {
    udp: resources.filter((r) => r === 'UDPWrap').length,
    timers: resources.filter((r) => r === 'Timeout').length,
  };
}

describe('voipProbe against the echo responder', () => {
  it('rates a clean loopback path up with no loss and a high MOS', async () => {
    const echo = await responder();
    const before = await handles();
    expect(before.udp).toBe(1); // the responder's
    const result = await voipProbe(spec(echo.port), { timeoutMs: 5000 });

    expect(result.outcome).toBe('up');
    expect(result.errorClass).toBeNull();
    expect(result.fields).toMatchObject({ sent: 25, received: 25, requested: 25, lossPct: 0, duplicates: 0 });
    expect(result.fields.mos).toBeGreaterThan(4.3);
    expect(result.latencyMs).toBe(result.fields.rttMs);
    expect(result.fields.rttMaxMs).toBeGreaterThanOrEqual(result.fields.rttMs as number);
    expect(result.detail).toMatch(/^MOS 4\.\d+, loss 0%, jitter [\d.]+ ms, RTT [\d.]+ ms$/);
    expect(echo.stats()).toEqual({ received: 25, echoed: 25, dropped: 0 });
    await expectNoLeaks(before);
  });

  it('degrades on 20% loss: MOS about 2.2, under the default 3.6', async () => {
    // Loopback: RTT and jitter well under 1 ms, so Leff is about 10 ms and R = 93.2 - 10/40 - 2.5 x 20 = 42.95;
    // MOS = 1 + 0.035 x 42.95 + 7e-6 x 42.95 x (42.95 - 60) x (100 - 42.95) = 2.21.
    const echo = await responder({ lossPct: 20, random: dropEvery(5) });
    const result = await voipProbe(spec(echo.port), { timeoutMs: 5000 });

    expect(result.outcome).toBe('degraded');
    expect(result.errorClass).toBeNull();
    expect(result.fields).toMatchObject({ sent: 25, received: 20, lossPct: 20 });
    expect(result.fields.mos).toBeCloseTo(2.21, 1);
    const expected = estimateMos({
      latencyMs: (result.fields.rttMs as number) / 2,
      jitterMs: result.fields.jitterMs as number,
      lossPct: 20,
    });
    expect(result.fields.mos).toBeCloseTo(expected.mos, 1);
    expect(result.detail).toMatch(/^MOS 2\.\d+ below 3\.6 \(loss 20%, jitter [\d.]+ ms, RTT [\d.]+ ms\)$/);
    expect(echo.stats()).toEqual({ received: 25, echoed: 20, dropped: 5 });
  });

  it('measures an injected 60 ms delay and still rates the call good', async () => {
    const echo = await responder({ delayMs: 60 });
    const result = await voipProbe(spec(echo.port), { timeoutMs: 5000 });

    expect(result.outcome).toBe('up');
    expect(result.fields.rttMs).toBeGreaterThanOrEqual(55);
    expect(result.latencyMs).toBeGreaterThanOrEqual(55);
    // One-way 30 ms: Leff about 40 ms, R about 92.2, MOS about 4.39.
    expect(result.fields.mos).toBeGreaterThan(4.2);
    expect(result.fields.lossPct).toBe(0);
  });

  it('degrades when the mean RTT exceeds latencyBudgetMs', async () => {
    const echo = await responder({ delayMs: 60 });
    const result = await voipProbe(spec(echo.port, { latencyBudgetMs: 30 }), { timeoutMs: 5000 });

    expect(result.outcome).toBe('degraded');
    expect(result.detail).toMatch(/^RTT [\d.]+ ms over budget 30 ms \(MOS 4\.\d+, loss 0%, jitter [\d.]+ ms\)$/);
  });

  it('measures injected jitter', async () => {
    const echo = await responder({ delayMs: 20, jitterMs: 15, random: seeded(42) });
    const result = await voipProbe(spec(echo.port), { timeoutMs: 5000 });

    expect(result.fields.received).toBe(25);
    expect(result.fields.jitterMs).toBeGreaterThan(1);
    expect(result.fields.rttMaxMs).toBeGreaterThan(result.fields.rttMs as number);
  });

  it('changes its verdict when the impairment changes at run time', async () => {
    const echo = await responder();
    expect((await voipProbe(spec(echo.port), { timeoutMs: 5000 })).outcome).toBe('up');
    echo.setImpairment({ lossPct: 100 });
    const lost = await voipProbe(spec(echo.port), { timeoutMs: 1500 });
    expect(lost).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
    echo.setImpairment({ lossPct: 0 });
    expect((await voipProbe(spec(echo.port), { timeoutMs: 5000 })).outcome).toBe('up');
  });
});

describe('voipProbe against odd peers', () => {
  it('is down with timeout when the peer never answers, by the deadline', async () => {
    const silent = await peer();
    const before = await handles();
    const started = performance.now();
    const result = await voipProbe(spec(silent.port), { timeoutMs: 1500 });
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout', latencyMs: null });
    expect(result.detail).toBe(`no echo from ${HOST}:${silent.port} (25 packets sent)`);
    expect(result.fields).toMatchObject({ sent: 25, received: 0, lossPct: 100, mos: null });
    expect(elapsed).toBeLessThan(1500 + 1000);
    await expectNoLeaks(before);
  });

  it('is down when the port is closed (ICMP port unreachable)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.bind(0, HOST, () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    });
    const started = performance.now();
    const result = await voipProbe(spec(closed), { timeoutMs: 1500 });

    expect(result.outcome).toBe('down');
    expect(['connect', 'timeout']).toContain(result.errorClass);
    if (result.errorClass === 'connect') expect(result.detail).toContain('port unreachable');
    expect(performance.now() - started).toBeLessThan(1500 + 1000);
  });

  it('ignores garbage, foreign SSRCs, tampered payloads, and counts duplicates once', async () => {
    let n = 0;
    const noisy = await peer((msg, reply) => {
      reply(Buffer.from('not rtp at all'));
      reply(Buffer.alloc(0));
      const foreign = Buffer.from(msg);
      foreign.writeUInt32BE((msg.readUInt32BE(8) + 1) >>> 0, 8);
      reply(foreign);
      const tampered = Buffer.from(msg);
      tampered.writeDoubleBE(msg.readDoubleBE(12) - 1, 12);
      reply(tampered);
      reply(msg.subarray(0, 20));
      reply(msg);
      if (++n % 5 === 1) reply(msg); // not the last packet: the probe stops once all are back
    });
    const result = await voipProbe(spec(noisy.port), { timeoutMs: 5000 });

    expect(result.outcome).toBe('up');
    expect(result.fields).toMatchObject({ sent: 25, received: 25, lossPct: 0, duplicates: 5, outOfOrder: 0 });
    expect(result.fields.ignored).toBe(25 * 5);
  });

  it('counts echoes that arrive after a later packet as out of order', async () => {
    // Swaps each pair of packets (1-2, 3-4, ... 23-24) and echoes the 25th at once: 12 arrive after a later one,
    // however late the sender's timers fire on a loaded machine.
    let held: Buffer | undefined;
    let seen = 0;
    const swapper = await peer((msg, reply) => {
      seen++;
      if (!held && seen < 25) {
        held = msg;
        return;
      }
      reply(msg);
      if (held) reply(held);
      held = undefined;
    });
    const result = await voipProbe(spec(swapper.port), { timeoutMs: 5000 });

    expect(result.fields).toMatchObject({ sent: 25, received: 25, lossPct: 0, outOfOrder: 12, duplicates: 0 });
  });
});

describe('voipProbe deadlines, aborts and addresses', () => {
  it('sends only what fits in the deadline and says so', async () => {
    const echo = await responder();
    const started = performance.now();
    const result = await voipProbe(spec(echo.port, { packets: 100 }), { timeoutMs: 1000 });
    const elapsed = performance.now() - started;

    expect(result.outcome).toBe('up');
    const sent = result.fields.sent as number;
    expect(sent).toBeGreaterThan(10);
    expect(sent).toBeLessThan(100);
    expect(result.fields.requested).toBe(100);
    expect(result.detail).toContain(`sent ${sent} of 100 packets within the 1000 ms deadline`);
    expect(elapsed).toBeLessThan(1000 + 1000);
  });

  it('ends early with timeout when ctx.signal aborts', async () => {
    const echo = await responder();
    const before = await handles();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await voipProbe(spec(echo.port), { timeoutMs: 5000, signal: controller.signal });

    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
    expect(result.detail).toMatch(/^aborted after \d+ of 25 packets/);
    expect(performance.now() - started).toBeLessThan(2000);
    await expectNoLeaks(before);
  });

  it('answers at once when ctx.signal is already aborted', async () => {
    const result = await voipProbe(spec(9), { timeoutMs: 5000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'timeout' });
  });

  it('binds to ctx.localAddress and resolves names in its family', async () => {
    const echo = await responder();
    const result = await voipProbe(VoipSpec.parse({ host: 'localhost', port: echo.port, packets: 10 }), {
      timeoutMs: 5000,
      localAddress: HOST,
    });
    expect(result.outcome).toBe('up');
    expect(result.timings?.dnsMs).toBeGreaterThanOrEqual(0);
  });

  it('is down with connect when ctx.localAddress is not an address of this host', async () => {
    const echo = await responder();
    const before = await handles();
    const result = await voipProbe(spec(echo.port), { timeoutMs: 3000, localAddress: '192.0.2.1' });
    expect(result).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    expect(result.detail).toContain('EADDRNOTAVAIL');
    await expectNoLeaks(before);
  });

  const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

  it.skipIf(!hasIpv6Loopback)('works over IPv6 and refuses a local address of the other family', async () => {
    const echo = await startEchoResponder({ host: '::1' });
    cleanups.push(() => echo.close());
    const v6 = VoipSpec.parse({ host: '::1', port: echo.port, packets: 10 });
    expect((await voipProbe(v6, { timeoutMs: 5000 })).outcome).toBe('up');
    const mixed = await voipProbe(v6, { timeoutMs: 5000, localAddress: HOST });
    expect(mixed).toMatchObject({ outcome: 'down', errorClass: 'connect' });
    expect(mixed.detail).toBe(`local address ${HOST} cannot reach [::1]:${echo.port}`);
  });

  it('is down with dns when the name does not resolve', async () => {
    const result = await voipProbe(VoipSpec.parse({ host: 'no-such-host.invalid', port: 5004 }), { timeoutMs: 3000 });
    expect(result.outcome).toBe('down');
    expect(['dns', 'timeout']).toContain(result.errorClass);
  });
});
