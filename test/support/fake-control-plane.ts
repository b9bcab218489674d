import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AgentAuth,
  AgentMessage,
  PollRequest,
  type AutonomyReport,
  type Challenge,
  type CommandAck,
  type CommandBody,
  type SignedCommand,
} from '../../shared/contracts/agent.ts';
import type { ObservationBatch } from '../../shared/contracts/observation.ts';
import {
  agentAuthPayload,
  challengeToken,
  nonce,
  publicKeyFromRaw,
  rawPublicKey,
  signCommand,
  validChallengeToken,
  verifyBytes,
} from '../../shared/contracts/agent-signing.ts';

/** An authentication the fake refused, and why. */
export interface AuthFailure {
  readonly site: string | undefined;
  readonly via: 'websocket' | 'poll';
  readonly reason: string;
}

export interface FakeControlPlaneOptions {
  /** Site id -> the agent's public key (base64 of the raw 32 bytes), as sites.yaml would hold it. */
  readonly sites: Record<string, string>;
  /** Answer WebSocket upgrades (false: 503, so that an agent falls back to polling). @default true */
  readonly websocket?: boolean;
  /** Answer heartbeats with heartbeat-ack. @default true */
  readonly ackHeartbeats?: boolean;
  /** Lifetime of a challenge. @default 60000 */
  readonly challengeTtlMs?: number;
}

/**
 * The control plane's side of the agent protocol, just enough for the agent's tests: a real HTTP + WebSocket server
 * on loopback that issues challenges, verifies AgentAuth with each site's public key (one-time nonces), accepts the
 * WebSocket, serves /poll, sends commands signed with its own key, and records everything agents send.
 */
export class FakeControlPlane {
  /** The command signing key; its public half goes in agent.yaml's controlPlane.publicKey. */
  readonly signingKey: KeyObject;
  readonly publicKey: string;
  readonly acks: CommandAck[] = [];
  readonly batches: ObservationBatch[] = [];
  readonly heartbeats: { site: string; activeLink: string | undefined; via: 'websocket' | 'poll' }[] = [];
  readonly autonomy: AutonomyReport[] = [];
  readonly authFailures: AuthFailure[] = [];
  /** Agent messages that did not validate against AgentMessage (should stay empty). */
  readonly invalid: unknown[] = [];
  /** WebSocket connections accepted, and polls answered. */
  connections = 0;
  polls = 0;
  readonly sites: Record<string, string>;
  websocket: boolean;
  ackHeartbeats: boolean;

  readonly #secret = randomBytes(32);
  readonly #usedNonces = new Set<string>();
  readonly #pending = new Map<string, unknown[]>();
  readonly #sockets = new Map<string, WebSocket>();
  readonly #tcp = new Set<Socket>();
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #ttlMs: number;
  #server: Server | undefined;
  #port = 0;

  constructor(options: FakeControlPlaneOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.signingKey = privateKey;
    this.publicKey = rawPublicKey(publicKey);
    this.sites = { ...options.sites };
    this.websocket = options.websocket ?? true;
    this.ackHeartbeats = options.ackHeartbeats ?? true;
    this.#ttlMs = options.challengeTtlMs ?? 60_000;
  }

  /** Listens on 127.0.0.1 (the same port again after a stop); resolves the port. */
  async start(): Promise<number> {
    const server = createServer((req, res) => void this.#http(req, res));
    server.on('connection', (socket) => {
      this.#tcp.add(socket);
      socket.on('close', () => this.#tcp.delete(socket));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.#port;
  }

  /** Goes away like a crashed control plane: every connection cut, nothing listening. */
  async stop(): Promise<void> {
    for (const ws of this.#sockets.values()) ws.terminate();
    this.#sockets.clear();
    for (const socket of this.#tcp) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get port(): number {
    return this.#port;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.#port}/v1/agent/ws`;
  }

  get pollUrl(): string {
    return `http://127.0.0.1:${this.#port}/v1/agent`;
  }

  /** Whether `site`'s agent holds a WebSocket now. */
  connected(site: string): boolean {
    return this.#sockets.has(site);
  }

  /** A command for `site`, signed with this control plane's key (fields overridable), then delivered. */
  command(site: string, fields: Partial<CommandBody> = {}, key: KeyObject = this.signingKey): SignedCommand {
    const signed = this.sign(site, fields, key);
    this.deliver(site, signed);
    return signed;
  }

  /** A command for `site`, signed (by default) with this control plane's key, not delivered. */
  sign(site: string, fields: Partial<CommandBody> = {}, key: KeyObject = this.signingKey): SignedCommand {
    const now = Date.now();
    const body: CommandBody = {
      id: `cmd-${nonce(6)}`,
      site,
      action: 'switch-wan',
      args: { link: 'lte' },
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
      nonce: nonce(),
      ...fields,
    };
    return signCommand(body, key);
  }

  /** Delivers anything as a command to `site`: over its WebSocket if it has one, else at its next poll. */
  deliver(site: string, command: unknown): void {
    const ws = this.#sockets.get(site);
    if (ws) ws.send(JSON.stringify({ v: 1, type: 'command', command }));
    else this.#pending.set(site, [...(this.#pending.get(site) ?? []), command]);
  }

  /** Closes `site`'s WebSocket with a code, as the real control plane may (4401, 4409, 1001...). */
  close(site: string, code: number, reason = ''): void {
    this.#sockets.get(site)?.close(code, reason);
  }

  /** Resolves with the first non-undefined value of `probe`, checked every 20 ms; rejects after `timeoutMs`. */
  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`fake control plane: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The ack of command `id`, once it arrives. */
  ackOf(id: string, timeoutMs?: number): Promise<CommandAck> {
    return this.waitFor(() => this.acks.find((a) => a.commandId === id), timeoutMs, `the ack of ${id}`);
  }

  // -------------------------------------------------------------------------------------------------------------

  #challenge(site: string): Challenge {
    const c = { site, nonce: nonce(), expiresAt: new Date(Date.now() + this.#ttlMs).toISOString() };
    return { v: 1, ...c, token: challengeToken(this.#secret, c) };
  }

  /** Why `auth` is refused, or undefined when it proves the site's agent. */
  #refusal(auth: AgentAuth): string | undefined {
    const key = this.sites[auth.site];
    if (!key) return `unknown site ${auth.site}`;
    if (!validChallengeToken(this.#secret, auth)) return 'not a challenge of ours';
    if (Date.parse(auth.expiresAt) < Date.now()) return 'challenge expired';
    if (this.#usedNonces.has(auth.nonce)) return 'challenge already used';
    if (!verifyBytes(agentAuthPayload(auth), auth.signature, publicKeyFromRaw(key))) return 'bad signature';
    this.#usedNonces.add(auth.nonce);
    return undefined;
  }

  async #http(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/v1/agent/challenge') {
      const site = url.searchParams.get('site') ?? '';
      if (!this.sites[site]) return send(404, { title: 'Not Found', detail: `no agent for site ${site}` });
      return send(200, this.#challenge(site));
    }
    if (req.method === 'POST' && url.pathname === '/v1/agent/poll') {
      let text = '';
      for await (const chunk of req) text += String(chunk);
      const parsed = PollRequest.safeParse(JSON.parse(text));
      if (!parsed.success) {
        this.invalid.push(JSON.parse(text));
        return send(400, { title: 'Bad Request', detail: parsed.error.message });
      }
      const refusal = this.#refusal(parsed.data.auth);
      if (refusal) {
        this.authFailures.push({ site: parsed.data.auth.site, via: 'poll', reason: refusal });
        return send(401, { title: 'Unauthorized', detail: 'authentication failed' });
      }
      const site = parsed.data.auth.site;
      for (const message of parsed.data.messages) this.#record(site, message, 'poll');
      this.polls++;
      const commands = this.#pending.get(site) ?? [];
      this.#pending.delete(site);
      return send(200, { v: 1, serverTime: new Date().toISOString(), commands });
    }
    send(404, { title: 'Not Found' });
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/v1/agent/ws') return reject(404, 'Not Found');
    if (!this.websocket) return reject(503, 'Service Unavailable');
    const auth = AgentAuth.safeParse(Object.fromEntries(url.searchParams));
    const refusal = auth.success ? this.#refusal(auth.data) : 'malformed auth';
    if (refusal || !auth.success) {
      this.authFailures.push({ site: url.searchParams.get('site') ?? undefined, via: 'websocket', reason: refusal! });
      return reject(401, 'Unauthorized');
    }
    const site = auth.data.site;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections++;
      this.#sockets.get(site)?.close(4409, 'replaced by a newer connection');
      this.#sockets.set(site, ws);
      ws.on('close', () => {
        if (this.#sockets.get(site) === ws) this.#sockets.delete(site);
      });
      ws.on('message', (data) => {
        const parsed = AgentMessage.safeParse(JSON.parse(String(data)));
        if (!parsed.success) return void this.invalid.push(JSON.parse(String(data)));
        this.#record(site, parsed.data, 'websocket');
        if (parsed.data.type === 'heartbeat' && this.ackHeartbeats)
          ws.send(JSON.stringify({ v: 1, type: 'heartbeat-ack', serverTime: new Date().toISOString() }));
      });
      ws.send(JSON.stringify({ v: 1, type: 'welcome', site, serverTime: new Date().toISOString() }));
      for (const command of this.#pending.get(site) ?? []) ws.send(JSON.stringify({ v: 1, type: 'command', command }));
      this.#pending.delete(site);
    });
  }

  #record(site: string, message: AgentMessage, via: 'websocket' | 'poll'): void {
    switch (message.type) {
      case 'heartbeat':
        this.heartbeats.push({ site, activeLink: message.activeLink, via });
        break;
      case 'ack':
        this.acks.push(message.ack);
        break;
      case 'observations':
        this.batches.push(...message.batches);
        break;
      case 'autonomy':
        this.autonomy.push(message.report);
        break;
    }
  }
}
