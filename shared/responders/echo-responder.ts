import dgram from 'node:dgram';
import { isIP } from 'node:net';

/** Path impairments an echo responder injects; each may be changed while it runs. */
export interface EchoImpairment {
  /** Share of datagrams dropped, in percent (0 to 100). */
  lossPct?: number;
  /** Delay added before each echo, in milliseconds. */
  delayMs?: number;
  /** The delay varies uniformly by up to this many milliseconds either way (never below zero). */
  jitterMs?: number;
}

export interface EchoResponderOptions extends EchoImpairment {
  /** Address to bind; default 0.0.0.0 (an IPv6 literal binds an IPv6 socket). */
  host?: string;
  /** UDP port to bind; default 0 (an ephemeral port, see `EchoResponder.port`). */
  port?: number;
  /**
   * Random numbers in [0, 1), default Math.random: one call per datagram for the loss decision (only while
   * lossPct > 0), then one for its delay (only while jitterMs > 0).
   */
  random?: () => number;
  /** Echoes per second over all senders, beyond which datagrams are dropped; default 2000. */
  maxPacketsPerSecond?: number;
}

export interface EchoResponderStats {
  received: number;
  echoed: number;
  /** Dropped on purpose (loss), over the rate or memory limits, from a privileged port, or failed to send. */
  dropped: number;
}

/** A running UDP echo responder. */
export interface EchoResponder {
  readonly port: number;
  readonly address: string;
  /** Changes the given impairments from now on; omitted ones stay as they are. */
  setImpairment(impairment: EchoImpairment): void;
  stats(): EchoResponderStats;
  /** Stops answering, cancels delayed echoes and closes the socket. Safe to call more than once. */
  close(): Promise<void>;
}

// Delayed echoes wait in memory: cap them so a flood cannot grow the heap.
const MAX_PENDING = 4096;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/**
 * Starts a UDP echo responder: every datagram goes back to its sender unchanged, minus an injected `lossPct`
 * share and after an injected `delayMs` ± `jitterMs`. It is meant to be reachable from the internet, so it never
 * throws on input, bounds its memory and rate, and ignores senders on privileged ports (< 1024), which stops
 * spoofed echo-to-echo loops with well-known UDP services.
 */
export async function startEchoResponder(opts: EchoResponderOptions = {}): Promise<EchoResponder> {
  const host = opts.host ?? '0.0.0.0';
  const random = opts.random ?? Math.random;
  const maxPerSecond = opts.maxPacketsPerSecond ?? 2000;
  const impairment = { lossPct: 0, delayMs: 0, jitterMs: 0 };
  const counters: EchoResponderStats = { received: 0, echoed: 0, dropped: 0 };
  const pending = new Set<NodeJS.Timeout>();
  let pendingBytes = 0;
  let tokens = maxPerSecond;
  let refilledAt = performance.now();
  let closing: Promise<void> | undefined;

  const setImpairment = (next: EchoImpairment): void => {
    if (next.lossPct !== undefined) impairment.lossPct = clamp(next.lossPct, 0, 100);
    if (next.delayMs !== undefined) impairment.delayMs = clamp(next.delayMs, 0, 60_000);
    if (next.jitterMs !== undefined) impairment.jitterMs = clamp(next.jitterMs, 0, 60_000);
  };
  setImpairment(opts);

  const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });

  const echo = (msg: Buffer, port: number, address: string): void => {
    socket.send(msg, port, address, (error) => {
      if (error) counters.dropped++;
      else counters.echoed++;
    });
  };

  const takeToken = (): boolean => {
    const now = performance.now();
    tokens = Math.min(maxPerSecond, tokens + ((now - refilledAt) / 1000) * maxPerSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  socket.on('message', (msg, rinfo) => {
    counters.received++;
    if (closing || rinfo.port < 1024 || !takeToken()) {
      counters.dropped++;
      return;
    }
    if (impairment.lossPct > 0 && random() * 100 < impairment.lossPct) {
      counters.dropped++;
      return;
    }
    const spread = impairment.jitterMs > 0 ? (random() * 2 - 1) * impairment.jitterMs : 0;
    const delay = Math.max(0, impairment.delayMs + spread);
    if (delay === 0) {
      echo(msg, rinfo.port, rinfo.address);
      return;
    }
    if (pending.size >= MAX_PENDING || pendingBytes + msg.length > MAX_PENDING_BYTES) {
      counters.dropped++;
      return;
    }
    pendingBytes += msg.length;
    const timer = setTimeout(() => {
      pending.delete(timer);
      pendingBytes -= msg.length;
      echo(msg, rinfo.port, rinfo.address);
    }, delay);
    pending.add(timer);
  });
  // Errors on a listening UDP socket (ICMP reports, send failures) concern one sender, not the responder.
  socket.on('error', () => {});

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.bind({ address: host, port: opts.port ?? 0 }, () => {
      socket.off('error', onError);
      resolve();
    });
  }).catch((error: unknown) => {
    closeQuietly(socket);
    throw error;
  });

  const bound = socket.address();
  return {
    port: bound.port,
    address: bound.address,
    setImpairment,
    stats: () => ({ ...counters }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        pendingBytes = 0;
        socket.close(() => resolve());
      });
      return closing;
    },
  };
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min;
}
