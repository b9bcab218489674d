import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import type { ProbeFields, ProbeResult, Timings } from '../contracts/observation.ts';
import type { SipSpec } from '../config/checks.ts';
import { loadCaContext } from './cert.ts';
import { resolveHost, startDeadline, type Deadline } from './deadline.ts';
import { classifyError, degraded, describeError, down, since, up } from './result.ts';
import {
  SipStreamParser,
  buildOptionsRequest,
  header,
  hostPort,
  parseCSeq,
  parseSipMessage,
  parseVia,
  randomToken,
  serializeSipMessage,
  viaParam,
  viaValues,
  type SipMessage,
  type SipResponse,
} from './sip-message.ts';
import type { Probe, ProbeContext } from './types.ts';

/** RFC 3261 timer values for an unreliable transport: first retransmission after T1, intervals capped at T2. */
export const SIP_T1_MS = 500;
export const SIP_T2_MS = 4000;

type Transport = SipSpec['transport'];

interface Attempt {
  readonly spec: SipSpec;
  readonly ctx: ProbeContext;
  readonly deadline: Deadline;
  readonly started: number;
  readonly timings: Timings;
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly requestUri: string;
  readonly branch: string;
  readonly fromTag: string;
  readonly callIdToken: string;
}

/** The state of one transaction that the result needs, whatever way it ends. */
interface Progress {
  transmissions: number;
  lastSentAt: number;
  provisional: SipResponse | undefined;
  callId: string;
}

/**
 * Sends one SIP OPTIONS request (RFC 3261 11) over UDP, TCP or TLS and judges the final response against
 * `expectStatus`. Over UDP it retransmits on the non-INVITE client transaction's timer E (RFC 3261 17.1.2.2): first
 * after T1 = 500 ms, then doubling up to T2 = 4 s (T2 from the next one after a provisional response), inside the deadline,
 * which stands in for timer F.
 * Responses count only when the top Via branch, the Call-ID and the CSeq match; 1xx are skipped. The latency is
 * measured from the last transmission sent before the final response: a retransmission's answer is not timed from
 * the first send. Fields: `status`, `reason`, `transmissions`, `server` (Server or User-Agent), `transport`. Over TLS
 * the chain is checked against the bundled roots plus `caFile` (read once per path) and the name against `servername`
 * (default `host`). Never throws; answers by `ctx.timeoutMs`.
 */
export const sipProbe: Probe<SipSpec> = async (spec, ctx) => {
  const deadline = startDeadline(ctx);
  const started = performance.now();
  const timings: Timings = {};
  const transport = spec.transport;
  try {
    const port = spec.port ?? (transport === 'tls' ? 5061 : 5060);
    const dnsStart = performance.now();
    const resolved = await resolveHost(spec.host, ctx.localAddress, deadline.signal);
    if (isIP(spec.host) === 0) timings.dnsMs = since(dnsStart);
    const scheme = transport === 'tls' ? 'sips' : 'sip';
    const attempt: Attempt = {
      spec,
      ctx,
      deadline,
      started,
      timings,
      address: resolved.address,
      family: resolved.family,
      port,
      requestUri: spec.requestUri ?? `${scheme}:${hostPort(spec.host, port)}`,
      branch: `z9hG4bK${randomToken(8)}`,
      fromTag: randomToken(5),
      callIdToken: randomToken(10),
    };
    return await (transport === 'udp' ? overUdp(attempt) : overStream(attempt));
  } catch (error) {
    if (deadline.signal.aborted) {
      return timedOut({ deadline, ctx, timings, started }, transport, undefined, `address of ${spec.host}`);
    }
    return down(
      classifyError(error),
      describeError(error),
      null,
      { transport },
      { ...timings, totalMs: since(started) },
    );
  } finally {
    deadline.dispose();
  }
};

function overUdp(a: Attempt): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const socket = dgram.createSocket(a.family === 6 ? 'udp6' : 'udp4');
    const progress: Progress = { transmissions: 0, lastSentAt: 0, provisional: undefined, callId: '' };
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let request: Buffer | undefined;
    let interval = SIP_T1_MS;

    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      a.deadline.signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(result);
    };
    const onAbort = (): void => finish(timedOut(a, 'udp', progress));
    const transmit = (): void => {
      if (done || !request) return;
      try {
        socket.send(request);
      } catch (error) {
        finish(failure(error, progress, 'udp', a));
        return;
      }
      progress.transmissions++;
      progress.lastSentAt = performance.now();
      timer = setTimeout(transmit, interval);
      interval = Math.min(interval * 2, SIP_T2_MS);
    };

    a.deadline.signal.addEventListener('abort', onAbort, { once: true });
    if (a.deadline.signal.aborted) return onAbort();
    // ICMP port unreachable arrives as ECONNREFUSED on the connected socket.
    socket.on('error', (error) => {
      if ((error as { code?: unknown }).code !== 'ECONNREFUSED') return finish(failure(error, progress, 'udp', a));
      const detail = `${hostPort(a.spec.host, a.port)} refused the request (ICMP port unreachable)`;
      finish(down('connect', detail, null, fields(progress, 'udp'), total(a)));
    });
    socket.on('message', (datagram) => {
      if (done) return;
      const response = matchingResponse(datagram, a, progress.callId);
      if (!response) return;
      if (response.status < 200) {
        progress.provisional = response;
        interval = SIP_T2_MS;
        return;
      }
      finish(judge(response, progress, 'udp', a));
    });
    socket.bind({ address: a.ctx.localAddress ?? (a.family === 6 ? '::' : '0.0.0.0'), port: 0 }, () => {
      if (done) return;
      socket.connect(a.port, a.address, () => {
        if (done) return;
        const local = socket.address();
        progress.callId = `${a.callIdToken}@${hostPort(local.address)}`;
        request = serializeSipMessage(
          buildOptionsRequest({
            requestUri: a.requestUri,
            transport: 'UDP',
            localHost: local.address,
            localPort: local.port,
            fromUser: a.spec.fromUser,
            branch: a.branch,
            fromTag: a.fromTag,
            callId: progress.callId,
          }),
        );
        transmit();
      });
    });
  });
}

async function overStream(a: Attempt): Promise<ProbeResult> {
  const transport = a.spec.transport;
  const secure = transport === 'tls';
  let secureContext: tls.SecureContext | undefined;
  try {
    secureContext = secure && a.spec.caFile ? await loadCaContext(a.spec.caFile) : undefined;
  } catch (error) {
    return down('tls', `cannot read caFile: ${describeError(error)}`, null, { transport }, total(a));
  }
  return new Promise<ProbeResult>((resolve) => {
    const progress: Progress = { transmissions: 0, lastSentAt: 0, provisional: undefined, callId: '' };
    const parser = new SipStreamParser();
    const connectStart = performance.now();
    let connected = false;
    let secured = false;
    let done = false;
    const name = a.spec.servername ?? a.spec.host;
    const tcpOptions = { host: a.address, port: a.port, localAddress: a.ctx.localAddress };
    const tlsOptions: tls.ConnectionOptions & net.TcpNetConnectOpts = {
      ...tcpOptions,
      // SNI carries names only; the certificate is checked against the name or the IP literal either way.
      servername: isIP(name) === 0 ? name : undefined,
      secureContext,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    };
    const socket = secure ? tls.connect(tlsOptions) : net.connect(tcpOptions);

    const finish = (result: ProbeResult): void => {
      if (done) return;
      done = true;
      a.deadline.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => {
      const phase = !connected ? 'TCP connection' : secure && !secured ? 'TLS handshake' : undefined;
      finish(timedOut(a, transport, progress, phase));
    };
    const send = (): void => {
      const local = { address: socket.localAddress ?? '0.0.0.0', port: socket.localPort ?? 0 };
      progress.callId = `${a.callIdToken}@${hostPort(local.address)}`;
      const request = buildOptionsRequest({
        requestUri: a.requestUri,
        transport: secure ? 'TLS' : 'TCP',
        localHost: local.address,
        localPort: local.port,
        fromUser: a.spec.fromUser,
        branch: a.branch,
        fromTag: a.fromTag,
        callId: progress.callId,
      });
      socket.write(serializeSipMessage(request));
      progress.transmissions = 1;
      progress.lastSentAt = performance.now();
    };

    a.deadline.signal.addEventListener('abort', onAbort, { once: true });
    if (a.deadline.signal.aborted) return onAbort();
    socket.once('connect', () => {
      connected = true;
      a.timings.connectMs = since(connectStart);
      if (!secure) send();
    });
    socket.once('secureConnect', () => {
      secured = true;
      a.timings.tlsMs = Math.max(0, Math.round((since(connectStart) - (a.timings.connectMs ?? 0)) * 10) / 10);
      send();
    });
    socket.on('error', (error) => {
      // Past the TCP connect and before the handshake ends, any failure is the TLS layer's.
      const tlsPhase = secure && connected && !secured;
      const cls = classifyError(error);
      finish(failure(error, progress, transport, a, tlsPhase && cls !== 'timeout' ? 'tls' : cls));
    });
    socket.on('close', () =>
      finish(
        down(
          secure && !secured ? 'tls' : 'protocol',
          secure && !secured
            ? 'connection closed during the TLS handshake'
            : 'connection closed before a final response',
          null,
          fields(progress, transport),
          total(a),
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      let messages: SipMessage[];
      try {
        messages = parser.push(chunk);
      } catch (error) {
        finish(down('protocol', describeError(error), null, fields(progress, transport), total(a)));
        return;
      }
      for (const message of messages) {
        if (message.kind !== 'response' || !matches(message, a, progress.callId)) continue;
        if (message.status < 200) {
          progress.provisional = message;
          continue;
        }
        finish(judge(message, progress, transport, a));
        return;
      }
    });
  });
}

function matchingResponse(datagram: Buffer, a: Attempt, callId: string): SipResponse | undefined {
  let message: SipMessage;
  try {
    message = parseSipMessage(datagram);
  } catch {
    return undefined;
  }
  return message.kind === 'response' && matches(message, a, callId) ? message : undefined;
}

function matches(response: SipResponse, a: Attempt, callId: string): boolean {
  const top = viaValues(response)[0];
  if (top === undefined || header(response, 'call-id') !== callId) return false;
  const cseq = parseCSeq(header(response, 'cseq'));
  if (cseq?.method !== 'OPTIONS' || cseq.seq !== 1) return false;
  try {
    return viaParam(parseVia(top), 'branch') === a.branch;
  } catch {
    return false;
  }
}

function judge(response: SipResponse, progress: Progress, transport: Transport, a: Attempt): ProbeResult {
  const rtt = since(progress.lastSentAt);
  const f = fields(progress, transport, response);
  const line = `${response.status} ${response.reason}`.trim();
  const timings = total(a);
  if (!a.spec.expectStatus.includes(response.status)) {
    return down('status', `${line}, expected ${a.spec.expectStatus.join(' or ')}`, rtt, f, timings);
  }
  const budget = a.spec.latencyBudgetMs;
  if (budget !== undefined && rtt > budget) {
    return degraded(rtt, `${line} in ${rtt} ms, over the ${budget} ms budget`, f, timings);
  }
  return up(rtt, `${line} in ${rtt} ms`, f, timings);
}

function fields(progress: Progress, transport: Transport, response?: SipResponse): ProbeFields {
  return {
    status: response?.status ?? null,
    reason: response?.reason ?? null,
    transmissions: progress.transmissions,
    server: response ? (header(response, 'server') ?? header(response, 'user-agent') ?? null) : null,
    transport,
  };
}

function failure(
  error: unknown,
  progress: Progress,
  transport: Transport,
  a: Attempt,
  errorClass = classifyError(error),
): ProbeResult {
  return down(errorClass, describeError(error), null, fields(progress, transport), total(a));
}

function timedOut(
  a: Pick<Attempt, 'deadline' | 'ctx' | 'timings' | 'started'>,
  transport: Transport,
  progress: Progress | undefined,
  waitingFor = 'final response',
): ProbeResult {
  const transmissions = progress?.transmissions ?? 0;
  const provisional = progress?.provisional;
  const what = a.deadline.aborted()
    ? `aborted while waiting for the ${waitingFor}`
    : `no ${waitingFor} within ${a.ctx.timeoutMs} ms`;
  const sent = `${transmissions} transmission${transmissions === 1 ? '' : 's'}`;
  const last = provisional ? `, last ${provisional.status} ${provisional.reason}`.trimEnd() : '';
  return down(
    'timeout',
    transmissions === 0 ? what : `${what} (${sent}${last})`,
    null,
    {
      status: provisional?.status ?? null,
      reason: provisional?.reason ?? null,
      transmissions,
      server: null,
      transport,
    },
    { ...a.timings, totalMs: since(a.started) },
  );
}

function total(a: Attempt): Timings {
  return { ...a.timings, totalMs: since(a.started) };
}
