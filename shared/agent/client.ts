import type { KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import * as z from 'zod';
import { Challenge, ServerMessage, type AgentAuth, type AgentMessage } from '../contracts/agent.ts';
import { FailoverError } from '../errors.ts';
import { Backoff, Sleeper } from './backoff.ts';
import type { AgentConfig } from './config.ts';
import type { AgentLogger, LogLevel } from './log.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';
import { agentAuthPayload, signBytes } from '../contracts/agent-signing.ts';
import { CLOCK_SKEW_MS } from './guard.ts';

const HTTP_TIMEOUT_MS = 15_000;
const MAX_POLL_MESSAGES = 99; // PollRequest allows 100; one is the heartbeat
const MAX_WS_PAYLOAD = 4 * 1024 * 1024;

/** WebSocket close codes the control plane may use, and how the agent reads them. */
export const CLOSE_CODES = {
  /** The agent's authentication was refused (unknown key, bad signature, expired challenge). */
  unauthorized: 4401,
  /** The agent is not allowed (e.g. the site has no agent configured). */
  forbidden: 4403,
  /** A newer connection of the same site replaced this one. */
  replaced: 4409,
} as const;

/** Why talking to the control plane failed: unreachable, refused (401/403) or an answer that makes no sense. */
export class ControlPlaneError extends FailoverError {
  readonly kind: 'unreachable' | 'refused' | 'protocol';
  readonly status: number | undefined;

  constructor(kind: ControlPlaneError['kind'], message: string, status?: number, options?: { cause?: unknown }) {
    super('CONTROL_PLANE', message, options);
    this.name = 'ControlPlaneError';
    this.kind = kind;
    this.status = status;
  }
}

export interface ClientOptions {
  readonly site: string;
  readonly controlPlane: AgentConfig['controlPlane'];
  readonly privateKey: KeyObject;
  readonly outbox: Outbox;
  readonly log: AgentLogger;
  /** A command as received (unparsed: the guard judges it). Called in arrival order; the client does not wait. */
  readonly onCommand: (raw: unknown) => void;
  /** The heartbeat to send now (with the active link). */
  readonly heartbeat: () => Extract<AgentMessage, { type: 'heartbeat' }>;
  readonly random?: () => number;
}

type Mode = 'websocket' | 'poll';
const LoosePollResponse = z.object({ v: z.literal(1), serverTime: z.string(), commands: z.array(z.unknown()) });
const LooseServerMessage = z.object({ v: z.literal(1), type: z.string() }).loose();

/**
 * The agent's side of the channel: WebSocket with reconnects (exponential backoff, full jitter), heartbeats, and
 * the HTTPS polling fallback. It delivers the outbox whenever it can and hands every command it receives to
 * `onCommand`.
 */
export class ControlPlaneClient {
  readonly #o: ClientOptions;
  readonly #backoff: Backoff;
  readonly #sleeper = new Sleeper();
  #mode: Mode;
  #ws: WebSocket | undefined;
  #stopped = false;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #lastContact = Date.now();
  #pollingSince = 0;
  #lastPollOk = false;
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  /** The delay before the next attempt, set by whoever logged the failure or the close. */
  #pendingDelay: number | undefined;

  constructor(options: ClientOptions) {
    this.#o = options;
    const { reconnect } = options.controlPlane;
    this.#backoff = new Backoff(reconnect.minSeconds * 1000, reconnect.maxSeconds * 1000, options.random);
    this.#mode = options.controlPlane.transport === 'poll' ? 'poll' : 'websocket';
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops connecting; sends what the outbox holds if the WebSocket is open (for at most `flushMs`), then closes. */
  async stop(flushMs = 2000): Promise<void> {
    this.#stopped = true;
    this.#sleeper.cancel();
    const ws = this.#ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await Promise.race([this.#drain(), new Promise((r) => setTimeout(r, flushMs).unref())]);
      ws.close(1001, 'agent stopping');
      // A peer that never answers the close must not hold the agent's exit.
      setTimeout(() => ws.terminate(), flushMs).unref();
    } else {
      ws?.terminate();
    }
    this.#abort.abort();
    await this.#loop;
  }

  /** There is something new in the outbox: send it now if a channel is up. */
  kick(): void {
    if (this.#mode === 'websocket') void this.#drain();
    else if (this.#lastPollOk) this.#sleeper.wake();
  }

  /** Whether the control plane answered within `withinMs` (or the WebSocket is open now). */
  reachable(withinMs: number): boolean {
    return this.#ws?.readyState === WebSocket.OPEN || Date.now() - this.#lastContact <= withinMs;
  }

  get mode(): Mode {
    return this.#mode;
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN || (this.#mode === 'poll' && this.#lastPollOk);
  }

  async #run(): Promise<void> {
    const cp = this.#o.controlPlane;
    let failures = 0;
    while (!this.#stopped) {
      this.#pendingDelay = undefined;
      if (this.#mode === 'websocket') {
        const fallback = cp.transport === 'auto' && failures + 1 >= cp.fallbackAfterFailures;
        const opened = await this.#connectOnce(fallback);
        if (this.#stopped) break;
        failures = opened ? 0 : failures + 1;
        if (fallback && !opened) {
          this.#o.log.log(
            'warn',
            'fallback-poll',
            `the WebSocket failed ${failures} time(s) in a row: polling ${cp.pollUrl}/poll every ${cp.pollIntervalSeconds} s instead`,
          );
          this.#mode = 'poll';
          this.#pollingSince = Date.now();
          this.#backoff.reset();
          failures = 0;
          continue;
        }
        await this.#sleeper.sleep(this.#pendingDelay ?? this.#backoff.next());
      } else {
        const ok = await this.#pollOnce();
        if (this.#stopped) break;
        if (cp.transport === 'auto' && Date.now() - this.#pollingSince >= cp.retryWebSocketSeconds * 1000) {
          this.#o.log.log('info', 'retry-websocket', 'trying the WebSocket again');
          this.#mode = 'websocket';
          this.#lastPollOk = false;
          failures = cp.fallbackAfterFailures - 1; // one more failure and polling resumes
          continue;
        }
        if (ok === 'more') continue;
        await this.#sleeper.sleep(ok ? cp.pollIntervalSeconds * 1000 : (this.#pendingDelay ?? this.#backoff.next()));
      }
    }
  }

  /** Logs a failed attempt with what happens next (one line per backoff step) and sets the delay before it. */
  #failed(error: unknown, what: string, fallback = false): void {
    const delay = fallback ? 0 : this.#backoff.next();
    this.#pendingDelay = delay;
    const next = fallback ? 'falling back to polling' : `retrying in ${(delay / 1000).toFixed(1)} s`;
    if (error instanceof ControlPlaneError && error.kind === 'refused') {
      this.#o.log.log(
        'error',
        'auth-refused',
        `the control plane refused this agent (${error.message}): is this agent's public key the one in sites.yaml (sites[].agent.publicKey of site "${this.#o.site}")? ${next}`,
        { status: error.status, attempt: this.#backoff.attempts },
      );
    } else {
      const detail = describe(error);
      this.#o.log.log('warn', 'unreachable', `${what} failed: ${detail}; ${next}`, {
        attempt: this.#backoff.attempts,
        error: detail,
      });
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // WebSocket

  /** One connection, from the challenge to the close; true when it opened. */
  async #connectOnce(fallback: boolean): Promise<boolean> {
    const cp = this.#o.controlPlane;
    let auth: AgentAuth;
    try {
      auth = await this.#authenticate();
    } catch (error) {
      if (!this.#stopped) this.#failed(error, `getting a challenge from ${cp.pollUrl}/challenge`, fallback);
      return false;
    }
    if (this.#stopped) return false;
    const url = new URL(cp.url);
    for (const [k, v] of Object.entries(auth)) url.searchParams.set(k, v);

    return new Promise((resolve) => {
      const ws = new WebSocket(url, { handshakeTimeout: HTTP_TIMEOUT_MS, maxPayload: MAX_WS_PAYLOAD });
      this.#ws = ws;
      let openedAt = 0;
      let error: unknown;
      let heartbeat: NodeJS.Timeout | undefined;
      let lastAck = 0;

      ws.on('open', () => {
        openedAt = Date.now();
        lastAck = openedAt;
        this.#lastContact = openedAt;
        this.#o.log.log('info', 'connected', `connected to ${cp.url} (WebSocket)`, { transport: 'websocket' });
        const beat = () => {
          if (Date.now() - lastAck > cp.heartbeatSeconds * 2000) {
            this.#o.log.log(
              'warn',
              'heartbeat-timeout',
              `no heartbeat-ack for ${cp.heartbeatSeconds * 2} s: dropping the connection`,
            );
            ws.terminate();
            return;
          }
          void this.#send(ws, this.#o.heartbeat());
        };
        beat();
        heartbeat = setInterval(beat, cp.heartbeatSeconds * 1000);
        void this.#drain();
      });
      ws.on('message', (data) => {
        this.#lastContact = Date.now();
        if (this.#parseServerMessage(String(data))?.type === 'heartbeat-ack') lastAck = Date.now();
      });
      ws.on('error', (e) => (error = e));
      ws.on('close', (code, reasonBuffer) => {
        clearInterval(heartbeat);
        if (this.#ws === ws) this.#ws = undefined;
        if (this.#stopped) return resolve(openedAt > 0);
        if (openedAt === 0) {
          const refused = /Unexpected server response: (401|403)\b/.exec(String((error as Error | undefined)?.message));
          const status = refused ? Number(refused[1]) : undefined;
          this.#failed(
            status ? new ControlPlaneError('refused', `HTTP ${status}`, status) : error,
            `connecting to ${cp.url}`,
            fallback,
          );
          return resolve(false);
        }
        // A connection that lived through a few heartbeats was a good one: start the backoff over.
        if (Date.now() - openedAt >= Math.min(cp.heartbeatSeconds * 2000, 30_000)) this.#backoff.reset();
        this.#pendingDelay = this.#backoff.next();
        this.#closed(code, reasonBuffer.toString(), this.#pendingDelay);
        resolve(true);
      });
    });
  }

  /** Logs a closed connection by what its code says. */
  #closed(code: number, reason: string, delayMs: number): void {
    const why = `code ${code}${reason ? `: ${reason}` : ''}`;
    const next = `reconnecting in ${(delayMs / 1000).toFixed(1)} s`;
    const [level, event, message]: [LogLevel, string, string] =
      code === CLOSE_CODES.unauthorized || code === CLOSE_CODES.forbidden || code === 1008
        ? ['error', 'auth-refused', `the control plane closed the connection (${why}): authentication refused; ${next}`]
        : code === CLOSE_CODES.replaced
          ? [
              'warn',
              'replaced',
              `the control plane replaced this connection with a newer one of site "${this.#o.site}" (${why}): is a second agent running with this key? ${next}`,
            ]
          : code === 1000 || code === 1001 || code === 1012
            ? ['info', 'disconnected', `the control plane closed the connection (${why}); ${next}`]
            : ['warn', 'disconnected', `connection lost (${why}); ${next}`];
    this.#o.log.log(level, event, message, { code });
  }

  #parseServerMessage(text: string): ServerMessage | undefined {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#o.log.log('warn', 'bad-message', 'the control plane sent a message that is not JSON; ignored');
      return undefined;
    }
    const loose = LooseServerMessage.safeParse(json);
    if (loose.success && loose.data.type === 'command') {
      // The guard judges the command itself, so that a malformed one is still acked with its reason.
      this.#o.onCommand(loose.data.command);
      return undefined;
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) {
      const type = loose.success ? loose.data.type : undefined;
      this.#o.log.log('warn', 'bad-message', `the control plane sent a message this agent does not understand`, {
        type,
      });
      return undefined;
    }
    const message = parsed.data;
    if (message.type === 'welcome') {
      const skew = Date.parse(message.serverTime) - Date.now();
      if (Math.abs(skew) > CLOCK_SKEW_MS)
        this.#o.log.log(
          'warn',
          'clock-skew',
          `this machine's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'behind' : 'ahead of'} the control plane's: commands may be refused as expired; fix NTP`,
          { skewMs: skew },
        );
    } else if (message.type === 'error') {
      this.#o.log.log('warn', 'server-error', `the control plane says: ${message.message}`);
    }
    return message;
  }

  #send(ws: WebSocket, message: AgentMessage): Promise<boolean> {
    return new Promise((resolve) => {
      if (ws.readyState !== WebSocket.OPEN) return resolve(false);
      ws.send(JSON.stringify(message), (error) => resolve(!error));
    });
  }

  /** Sends the outbox over the open WebSocket, oldest first; an entry leaves the outbox once written. */
  #drain(): Promise<void> {
    if (this.#draining) {
      this.#drainAgain = true; // the running drain may have looked at the outbox before the newest message
      return this.#draining;
    }
    const run = async () => {
      do {
        this.#drainAgain = false;
        for (;;) {
          const ws = this.#ws;
          const [entry] = this.#o.outbox.peek(1);
          if (!ws || !entry) break;
          if (!(await this.#send(ws, entry.message))) return;
          await this.#o.outbox.remove([entry]);
        }
      } while (this.#drainAgain);
    };
    const draining = run().finally(() => {
      if (this.#draining === draining) this.#draining = undefined;
      if (this.#drainAgain && this.#ws?.readyState === WebSocket.OPEN) void this.#drain();
    });
    this.#draining = draining;
    return draining;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Polling

  /** One poll: true when it went through, 'more' when it should be repeated at once, false on failure. */
  async #pollOnce(): Promise<boolean | 'more'> {
    const cp = this.#o.controlPlane;
    const entries: OutboxEntry[] = this.#o.outbox.peek(MAX_POLL_MESSAGES);
    let commands: unknown[];
    try {
      const auth = await this.#authenticate();
      const body = { v: 1, auth, messages: [this.#o.heartbeat(), ...entries.map((e) => e.message)] };
      const response = await request(`${cp.pollUrl}/poll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: this.#abort.signal,
      });
      const parsed = LoosePollResponse.safeParse(response);
      if (!parsed.success) throw new ControlPlaneError('protocol', 'the poll answer is not a PollResponse');
      commands = parsed.data.commands;
    } catch (error) {
      this.#lastPollOk = false;
      if (!this.#stopped) this.#failed(error, `polling ${cp.pollUrl}/poll`);
      return false;
    }
    this.#lastContact = Date.now();
    if (!this.#lastPollOk)
      this.#o.log.log('info', 'connected', `connected to ${cp.pollUrl} (polling every ${cp.pollIntervalSeconds} s)`, {
        transport: 'poll',
      });
    this.#lastPollOk = true;
    this.#backoff.reset();
    await this.#o.outbox.remove(entries);
    for (const command of commands) this.#o.onCommand(command);
    return this.#o.outbox.size > 0 && entries.length === MAX_POLL_MESSAGES ? 'more' : true;
  }

  // -------------------------------------------------------------------------------------------------------------

  /** A fresh challenge, signed: the AgentAuth of one connect or one poll. */
  async #authenticate(): Promise<AgentAuth> {
    const cp = this.#o.controlPlane;
    const json = await request(`${cp.pollUrl}/challenge?site=${encodeURIComponent(this.#o.site)}`, {
      method: 'GET',
      signal: this.#abort.signal,
    });
    const parsed = Challenge.safeParse(json);
    if (!parsed.success) throw new ControlPlaneError('protocol', 'the challenge answer is not a Challenge');
    const c = parsed.data;
    if (c.site !== this.#o.site)
      throw new ControlPlaneError('protocol', `the challenge is for site "${c.site}", not "${this.#o.site}"`);
    return {
      site: c.site,
      nonce: c.nonce,
      expiresAt: c.expiresAt,
      token: c.token,
      signature: signBytes(agentAuthPayload(c), this.#o.privateKey),
    };
  }
}

/** A JSON request with a deadline; HTTP errors become ControlPlaneError (refused for 401/403). */
async function request(url: string, init: RequestInit & { signal: AbortSignal }): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      signal: AbortSignal.any([init.signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)]),
    });
  } catch (error) {
    throw new ControlPlaneError('unreachable', describe(error), undefined, { cause: error });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    const detail = problemDetail(text);
    const message = `HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
    const kind = response.status === 401 || response.status === 403 ? 'refused' : 'unreachable';
    throw new ControlPlaneError(kind, message, response.status);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ControlPlaneError('protocol', `${url} did not answer JSON`, response.status);
  }
}

/** The `detail`, `title` or `message` of an error body (problem+json or similar), shortened. */
function problemDetail(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const found = [body.detail, body.message, body.title].find((v) => typeof v === 'string') as string | undefined;
    return (found ?? '').slice(0, 200);
  } catch {
    return text.slice(0, 200).trim();
  }
}

/** A network error in one line: `connect ECONNREFUSED 127.0.0.1:4000`, `timed out`, ... */
function describe(error: unknown): string {
  if (error instanceof ControlPlaneError) return error.message;
  const e = error as (Error & { cause?: unknown; code?: string }) | undefined;
  if (!e) return 'unknown error';
  if (e.name === 'TimeoutError') return `no answer within ${HTTP_TIMEOUT_MS / 1000} s`;
  const cause = e.cause as (Error & { code?: string }) | undefined;
  if (cause?.message) return cause.message;
  return e.message || String(error);
}
