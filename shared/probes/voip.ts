import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { VoipSpec } from '../config/checks.ts';
import type { ErrorClass, ProbeFields, ProbeResult } from '../contracts/observation.ts';
import { estimateMos } from './emodel.ts';
import { classifyError, degraded, describeError, down, since, up } from './result.ts';
import type { Probe, ProbeContext } from './types.ts';

const RTP_HEADER_BYTES = 12;
/** Stragglers get at least this long after the last send (and 4 x the mean RTT, 2 x the worst). */
const MIN_GRACE_MS = 200;

/** How long a burst that is echoed at once takes: the sends' spacing, then the shortest grace for stragglers. */
export function voipBurstMs(spec: Pick<VoipSpec, 'packets' | 'intervalMs'>): number {
  return (spec.packets - 1) * spec.intervalMs + MIN_GRACE_MS;
}

/**
 * VoIP path quality: a burst of RTP-sized UDP datagrams to an echo responder, measuring loss, round-trip time and
 * RFC 3550 interarrival jitter of the echoed stream, scored with the simplified E-model (one-way delay = RTT / 2).
 * Down when nothing is echoed (timeout) or the port is unreachable (connect); degraded below `minMos` or when the
 * mean RTT exceeds `latencyBudgetMs`. Never throws; answers by `ctx.timeoutMs`.
 */
export const voipProbe: Probe<VoipSpec> = async (spec, ctx) => {
  try {
    return await new VoipRun(spec, ctx).result;
  } catch (error) {
    return down(classifyError(error), describeError(error));
  }
};

type Phase = 'resolving' | 'connecting' | 'sending' | 'grace' | 'done';

class VoipRun {
  readonly result: Promise<ProbeResult>;
  private resolveResult!: (result: ProbeResult) => void;
  private phase: Phase = 'resolving';
  private readonly started = performance.now();
  private readonly deadline: number;
  private readonly target: string;
  private readonly deadlineTimer: NodeJS.Timeout;
  private sendTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private socket: dgram.Socket | undefined;
  private dnsMs: number | undefined;

  private readonly ssrc: number;
  private readonly seq0: number;
  private readonly ts0: number;
  private planned = 0;
  private sendStart = 0;
  private lastSendAt = 0;
  private readonly sendTimes: number[] = [];
  private readonly arrived: boolean[] = [];
  private sent = 0;
  private received = 0;
  private duplicates = 0;
  private outOfOrder = 0;
  private ignored = 0;
  private icmpRefused = false;
  private highestIndex = -1;
  private rttSum = 0;
  private rttMax = 0;
  private jitter = 0;
  private previous: { sentAt: number; arrivedAt: number } | undefined;

  constructor(
    private readonly spec: VoipSpec,
    private readonly ctx: ProbeContext,
  ) {
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
    this.deadline = this.started + ctx.timeoutMs;
    this.target = isIP(spec.host) === 6 ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
    const random = randomBytes(10);
    this.ssrc = random.readUInt32BE(0);
    this.seq0 = random.readUInt16BE(4);
    this.ts0 = random.readUInt32BE(6);
    this.deadlineTimer = setTimeout(() => this.onDeadline(), Math.max(0, ctx.timeoutMs));
    if (ctx.signal?.aborted) {
      this.onAbort();
      return;
    }
    ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.resolveAndConnect().catch((error: unknown) =>
      this.finish(this.fail(classifyError(error), describeError(error))),
    );
  }

  private async resolveAndConnect(): Promise<void> {
    const { host } = this.spec;
    const localFamily = this.ctx.localAddress ? isIP(this.ctx.localAddress) : 0;
    let address = host;
    if (isIP(host) === 0) {
      const t0 = performance.now();
      try {
        address = (await lookup(host, localFamily ? { family: localFamily } : {})).address;
      } catch (error) {
        this.finish(this.fail(classifyError(error), `cannot resolve ${host}: ${describeError(error)}`));
        return;
      }
      this.dnsMs = since(t0);
      if (this.phase === 'done') return;
    }
    const family = isIP(address);
    if (localFamily && family !== localFamily) {
      this.finish(this.fail('connect', `local address ${this.ctx.localAddress} cannot reach ${this.target}`));
      return;
    }
    this.phase = 'connecting';
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    this.socket = socket;
    socket.on('error', (error) => this.onSocketError(error));
    socket.on('message', (msg) => this.onMessage(msg));
    const connect = (): void => socket.connect(this.spec.port, address, () => this.startSending());
    if (this.ctx.localAddress) socket.bind({ address: this.ctx.localAddress, port: 0 }, connect);
    else connect();
  }

  private startSending(): void {
    if (this.phase !== 'connecting') return;
    this.phase = 'sending';
    this.sendStart = performance.now();
    // Send only what fits in the deadline with room left for the echoes to come back.
    const remaining = this.deadline - this.sendStart;
    const reserve = Math.min(Math.max(MIN_GRACE_MS, remaining * 0.1), remaining / 2);
    const fits = Math.floor((remaining - reserve) / this.spec.intervalMs) + 1;
    this.planned = Math.max(1, Math.min(this.spec.packets, fits));
    this.sendNext();
  }

  private sendNext(): void {
    this.sendTimer = undefined;
    const socket = this.socket;
    if (this.phase !== 'sending' || !socket) return;
    const index = this.sent;
    const packet = Buffer.alloc(RTP_HEADER_BYTES + this.spec.payloadBytes);
    packet[0] = 0x80; // RTP version 2, no padding, no extension, no CSRC
    packet[1] = 0; // no marker, payload type 0 (PCMU)
    packet.writeUInt16BE((this.seq0 + index) & 0xffff, 2);
    packet.writeUInt32BE((this.ts0 + index * this.spec.intervalMs * 8) >>> 0, 4); // 8 kHz clock
    packet.writeUInt32BE(this.ssrc, 8);
    const sentAt = performance.now();
    packet.writeDoubleBE(sentAt, RTP_HEADER_BYTES);
    this.sendTimes[index] = sentAt;
    this.sent++;
    socket.send(packet, (error) => {
      if (error) this.onSocketError(error);
    });
    if (this.sent < this.planned) {
      // Aim at absolute times so that timer lateness does not add up over the burst.
      const due = this.sendStart + this.sent * this.spec.intervalMs;
      this.sendTimer = setTimeout(() => this.sendNext(), Math.max(0, due - performance.now()));
      return;
    }
    this.lastSendAt = sentAt;
    this.phase = 'grace';
    this.scheduleGraceEnd();
  }

  private scheduleGraceEnd(): void {
    if (this.received === this.sent) {
      this.finish(this.evaluate());
      return;
    }
    clearTimeout(this.graceTimer);
    // With no echo yet the path may just be slow: wait for the deadline rather than call it lost.
    const grace =
      this.received > 0
        ? Math.max(MIN_GRACE_MS, (4 * this.rttSum) / this.received, 2 * this.rttMax)
        : Number.POSITIVE_INFINITY;
    const end = Math.min(this.lastSendAt + grace, this.deadline);
    this.graceTimer = setTimeout(() => this.finish(this.evaluate()), Math.max(0, end - performance.now()));
  }

  private onMessage(msg: Buffer): void {
    if (this.phase !== 'sending' && this.phase !== 'grace') return;
    const arrivedAt = performance.now();
    const index = this.indexOf(msg);
    if (index === undefined) {
      this.ignored++;
      return;
    }
    if (this.arrived[index]) {
      this.duplicates++;
      return;
    }
    this.arrived[index] = true;
    const sentAt = this.sendTimes[index] ?? arrivedAt;
    const rtt = arrivedAt - sentAt;
    const firstEcho = this.received === 0;
    this.received++;
    this.rttSum += rtt;
    this.rttMax = Math.max(this.rttMax, rtt);
    if (index < this.highestIndex) this.outOfOrder++;
    else this.highestIndex = index;
    if (this.previous) {
      // RFC 3550 6.4.1: D(i,j) = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16, in arrival order.
      const d = arrivedAt - this.previous.arrivedAt - (sentAt - this.previous.sentAt);
      this.jitter += (Math.abs(d) - this.jitter) / 16;
    }
    this.previous = { sentAt, arrivedAt };
    if (this.phase === 'grace' && (firstEcho || this.received === this.sent)) this.scheduleGraceEnd();
  }

  /** The index of one of our packets echoed intact, or undefined for anything else. */
  private indexOf(msg: Buffer): number | undefined {
    if (msg.length !== RTP_HEADER_BYTES + this.spec.payloadBytes) return undefined;
    if ((msg[0]! & 0xc0) !== 0x80 || (msg[1]! & 0x7f) !== 0) return undefined;
    if (msg.readUInt32BE(8) !== this.ssrc) return undefined;
    const index = (msg.readUInt16BE(2) - this.seq0) & 0xffff;
    if (index >= this.sent || msg.readDoubleBE(RTP_HEADER_BYTES) !== this.sendTimes[index]) return undefined;
    return index;
  }

  private onSocketError(error: Error): void {
    if (this.phase === 'done') return;
    const errorClass = classifyError(error);
    if (this.phase === 'resolving' || this.phase === 'connecting') {
      this.finish(this.fail(errorClass, `${describeError(error)} (${this.target})`));
      return;
    }
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected socket. Once echoes have come back, a stray
    // error is only a lost packet.
    if ((error as { code?: unknown }).code === 'ECONNREFUSED') this.icmpRefused = true;
    if (this.received === 0 && errorClass === 'connect') {
      const detail = this.icmpRefused
        ? `port unreachable: ${this.target} refused (ICMP)`
        : `${describeError(error)} (${this.target})`;
      this.finish(this.fail('connect', detail));
    }
  }

  private onDeadline(): void {
    if (this.phase === 'sending' || this.phase === 'grace') this.finish(this.evaluate());
    else if (this.phase === 'resolving') this.finish(this.fail('timeout', `timed out resolving ${this.spec.host}`));
    else this.finish(this.fail('timeout', `timed out setting up a socket to ${this.target}`));
  }

  private readonly onAbort = (): void => {
    this.finish(this.fail('timeout', `aborted after ${this.sent} of ${this.spec.packets} packets to ${this.target}`));
  };

  private evaluate(): ProbeResult {
    const { spec } = this;
    const fields = this.fields();
    const timings = this.timings();
    const shortfall =
      this.sent < spec.packets
        ? `; sent ${this.sent} of ${spec.packets} packets within the ${this.ctx.timeoutMs} ms deadline`
        : '';
    const q = this.quality();
    if (!q) {
      return this.icmpRefused
        ? down('connect', `port unreachable: ${this.target} refused (ICMP)${shortfall}`, null, fields, timings)
        : down('timeout', `no echo from ${this.target} (${this.sent} packets sent)${shortfall}`, null, fields, timings);
    }
    const loss = `loss ${round(q.lossPct, 1)}%`;
    const jitter = `jitter ${formatMs(q.jitterMs)} ms`;
    const rtt = `RTT ${formatMs(q.rttMs)} ms`;
    const problems: string[] = [];
    if (q.mos < spec.minMos) problems.push(`MOS ${q.mos} below ${spec.minMos} (${loss}, ${jitter}, ${rtt})`);
    if (spec.latencyBudgetMs !== undefined && q.rttMs > spec.latencyBudgetMs) {
      problems.push(`${rtt} over budget ${spec.latencyBudgetMs} ms (MOS ${q.mos}, ${loss}, ${jitter})`);
    }
    if (problems.length > 0) return degraded(q.rttMs, problems.join('; ') + shortfall, fields, timings);
    return up(q.rttMs, `MOS ${q.mos}, ${loss}, ${jitter}, ${rtt}${shortfall}`, fields, timings);
  }

  /** Loss, delay and the E-model score of the echoed stream (MOS to 2 decimals), or undefined with no echo. */
  private quality() {
    if (this.received === 0) return undefined;
    const lossPct = ((this.sent - this.received) / this.sent) * 100;
    const rttMs = round(this.rttSum / this.received, 3);
    const jitterMs = round(this.jitter, 3);
    const estimate = estimateMos({ latencyMs: rttMs / 2, jitterMs, lossPct });
    return { lossPct, rttMs, jitterMs, mos: round(estimate.mos, 2), r: round(estimate.r, 2) };
  }

  private fields(): ProbeFields {
    const q = this.quality();
    const lossPct = this.sent > 0 ? ((this.sent - this.received) / this.sent) * 100 : 100;
    return {
      mos: q?.mos ?? null,
      rFactor: q?.r ?? null,
      lossPct: round(lossPct, 2),
      jitterMs: q?.jitterMs ?? null,
      rttMs: q?.rttMs ?? null,
      rttMaxMs: q ? round(this.rttMax, 3) : null,
      sent: this.sent,
      received: this.received,
      requested: this.spec.packets,
      outOfOrder: this.outOfOrder,
      duplicates: this.duplicates,
      ignored: this.ignored,
    };
  }

  private timings(): ProbeResult['timings'] {
    return { ...(this.dnsMs !== undefined ? { dnsMs: this.dnsMs } : {}), totalMs: since(this.started) };
  }

  private fail(errorClass: ErrorClass, detail: string): ProbeResult {
    return down(errorClass, detail, null, this.sent > 0 ? this.fields() : {}, this.timings());
  }

  /** Settles the result once, after every timer is cleared and the socket is closed. */
  private finish(result: ProbeResult): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.sendTimer);
    clearTimeout(this.graceTimer);
    this.ctx.signal?.removeEventListener('abort', this.onAbort);
    const socket = this.socket;
    if (!socket) {
      this.resolveResult(result);
      return;
    }
    socket.removeAllListeners('message');
    try {
      socket.close(() => this.resolveResult(result));
    } catch {
      this.resolveResult(result);
    }
  }
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function formatMs(ms: number): number {
  return ms < 1 ? round(ms, 2) : round(ms, 1);
}
