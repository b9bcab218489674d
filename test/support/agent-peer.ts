import type { KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import { agentAuthPayload, signBytes } from '../../shared/contracts/agent-signing.ts';
import type { AgentAuth, AgentMessage, Challenge, PollResponse, ServerMessage } from '../../shared/contracts/agent.ts';

/**
 * A protocol-level agent for tests: fetches challenges, signs them, connects over WebSocket or polls, and records
 * what the control plane sends. It never judges commands (that is the real agent's job).
 */
export class TestAgentPeer {
  readonly baseUrl: string;
  readonly site: string;
  readonly privateKey: KeyObject;

  constructor(options: { baseUrl: string; site: string; privateKey: KeyObject }) {
    this.baseUrl = options.baseUrl;
    this.site = options.site;
    this.privateKey = options.privateKey;
  }

  async challenge(site = this.site): Promise<Challenge> {
    const response = await fetch(`${this.baseUrl}/v1/agent/challenge?site=${encodeURIComponent(site)}`);
    if (response.status !== 200) throw new Error(`challenge: HTTP ${response.status}`);
    return (await response.json()) as Challenge;
  }

  /** A fresh AgentAuth, signed with this peer's key (or `key`). */
  async auth(key: KeyObject = this.privateKey): Promise<AgentAuth> {
    const c = await this.challenge();
    return {
      site: c.site,
      nonce: c.nonce,
      expiresAt: c.expiresAt,
      token: c.token,
      signature: signBytes(agentAuthPayload(c), key),
    };
  }

  /** Connects with `auth` (default a fresh one); rejects with the HTTP status when the upgrade is refused. */
  async connect(auth?: AgentAuth): Promise<PeerConnection> {
    const a = auth ?? (await this.auth());
    const url = new URL(`${this.baseUrl.replace(/^http/, 'ws')}/v1/agent/ws`);
    for (const [k, v] of Object.entries(a)) url.searchParams.set(k, v);
    const ws = new WebSocket(url);
    const connection = new PeerConnection(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
        ws.terminate();
      });
      ws.once('error', reject);
    });
    return connection;
  }

  /** One poll; resolves the status and the parsed body. */
  async poll(
    messages: readonly AgentMessage[] = [],
    auth?: AgentAuth,
  ): Promise<{ status: number; body: PollResponse & Record<string, unknown> }> {
    const response = await fetch(`${this.baseUrl}/v1/agent/poll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, auth: auth ?? (await this.auth()), messages }),
    });
    return { status: response.status, body: (await response.json()) as PollResponse & Record<string, unknown> };
  }
}

/** An open connection of a TestAgentPeer. */
export class PeerConnection {
  readonly ws: WebSocket;
  readonly received: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      this.received.push(message);
      this.#waiters = this.#waiters.filter((w) => (w.match(message) ? (w.resolve(message), false) : true));
    });
  }

  /** The first message (already received or to come) that matches; rejects after `timeoutMs`. */
  next<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    type M = Extract<ServerMessage, { type: T }>;
    const test = (m: ServerMessage): m is M => m.type === type && match(m as M);
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        match: test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as M);
        },
      });
    });
  }

  send(message: AgentMessage | string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.ws.send(typeof message === 'string' ? message : JSON.stringify(message), (e) => (e ? reject(e) : resolve())),
    );
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}
