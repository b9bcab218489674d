import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import type { SiteConfig } from '../shared/config/model.ts';
import type { ServerMessage } from '../shared/contracts/agent.ts';
import type { AgentChannel } from '../shared/ports/agent-channel.ts';
import { authenticateAgent } from '../shared/usecases/agent/authenticate-agent.ts';
import { deliverPending } from '../shared/usecases/agent/deliver-pending.ts';
import { AgentAuthError, iso, type AgentChannelDeps } from '../shared/usecases/agent/deps.ts';
import { handleAgentMessage } from '../shared/usecases/agent/handle-agent-message.ts';

/** Where agents connect: `ws://<host>:<port>/v1/agent/ws?site=…&nonce=…&expiresAt=…&token=…&signature=…`. */
export const AGENT_WS_PATH = '/v1/agent/ws';

/** Close codes this endpoint uses (the agent reads them, see shared/agent/client.ts). */
export const AGENT_CLOSE_CODES = { replaced: 4409, stopping: 1001 } as const;

/** The largest message an agent may send (50 observation batches fit easily). */
export const MAX_AGENT_MESSAGE_BYTES = 1024 * 1024;

/** What an HTTP server calls for an `Upgrade` request (node:http's `upgrade` event). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The live WebSocket of each site's agent in the local runtime, one per site: a new connection replaces (closes) the
 * old one. The AgentChannel the dispatcher's command handler sends through.
 */
export class LocalAgentChannel implements AgentChannel {
  readonly #sockets = new Map<string, WebSocket>();

  /** Makes `ws` the site's connection, closing the one it replaces. */
  attach(site: string, ws: WebSocket): void {
    const old = this.#sockets.get(site);
    this.#sockets.set(site, ws);
    if (old && old !== ws) old.close(AGENT_CLOSE_CODES.replaced, 'replaced by a newer connection of this site');
  }

  /** Forgets `ws` if it is still the site's connection. */
  detach(site: string, ws: WebSocket): void {
    if (this.#sockets.get(site) === ws) this.#sockets.delete(site);
  }

  /** Whether the site's agent is connected now. */
  connected(site: string): boolean {
    return this.#sockets.get(site)?.readyState === WebSocket.OPEN;
  }

  async send(site: string, message: ServerMessage): Promise<boolean> {
    const ws = this.#sockets.get(site);
    if (!ws) return false;
    return sendTo(ws, message).then(
      () => true,
      () => false,
    );
  }

  /** Closes every connection (1001), terminating those that do not close within `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    const sockets = [...this.#sockets.values()];
    this.#sockets.clear();
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => ws.terminate(), graceMs);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            ws.close(AGENT_CLOSE_CODES.stopping, 'control plane stopping');
          }),
      ),
    );
  }
}

/** Deps of the local endpoint: the channel's, with the local channel the endpoint registers connections in. */
export interface AgentSocketDeps extends AgentChannelDeps {
  readonly channel: LocalAgentChannel;
}

/**
 * The local runtime's agent endpoint, for the HTTP server's upgrade hook: on `/v1/agent/ws` it checks the AgentAuth
 * in the query string before accepting (401 otherwise, logged with the reason), sends `welcome` and the site's
 * open commands (queued, and delivered ones without an ack), answers heartbeats and handles the agent's messages in
 * arrival order. Other paths get a 404.
 */
export function agentUpgrade(deps: AgentSocketDeps): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_MESSAGE_BYTES });
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== AGENT_WS_PATH) return refuse(socket, 404);
    authenticateAgent(deps, Object.fromEntries(url.searchParams)).then(
      ({ site }) => {
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => serve(deps, site, ws));
      },
      (error: unknown) => {
        if (!(error instanceof AgentAuthError)) deps.onError?.(error, 'agent authentication');
        refuse(socket, error instanceof AgentAuthError ? 401 : 503);
      },
    );
  };
}

function serve(deps: AgentSocketDeps, site: SiteConfig, ws: WebSocket): void {
  deps.channel.attach(site.id, ws);
  const reply = (message: ServerMessage) => sendTo(ws, message);
  let queue = Promise.resolve();
  const run = (where: string, work: () => Promise<unknown>) => {
    queue = queue.then(work).then(
      () => undefined,
      (error: unknown) => {
        deps.onError?.(error, `${where} (site ${site.id})`);
        return reply({ v: 1, type: 'error', message: 'the control plane could not handle that message' }).catch(
          () => undefined,
        );
      },
    );
  };
  ws.on('error', () => ws.terminate());
  ws.on('close', () => deps.channel.detach(site.id, ws));
  run('agent welcome', async () => {
    await reply({ v: 1, type: 'welcome', site: site.id, serverTime: iso(deps.clock.now()) });
    // A new connection gets every open command, including those sent on an earlier one whose ack never came.
    await deliverPending(deps, {
      site: site.id,
      resend: 'all',
      send: (command) =>
        reply({ v: 1, type: 'command', command }).then(
          () => true,
          () => false,
        ),
    });
  });
  ws.on('message', (data: RawData, isBinary: boolean) => {
    let message: unknown;
    try {
      message = JSON.parse(isBinary ? '' : rawText(data));
    } catch {
      run('agent message', () => reply({ v: 1, type: 'error', message: 'messages are JSON text' }));
      return;
    }
    const handle = () => handleAgentMessage(deps, { site, message, reply });
    // A heartbeat is answered at once, never behind a slow ack or observation batch: the agent drops a connection
    // whose heartbeats go unanswered. Commands it hands over are claimed, so they never go out twice.
    if ((message as { type?: unknown } | null)?.type === 'heartbeat')
      handle().catch((error: unknown) => deps.onError?.(error, `agent heartbeat (site ${site.id})`));
    else run('agent message', handle);
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** Sends one message; rejects when the socket is not open or the write fails. */
function sendTo(ws: WebSocket, message: ServerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ws.readyState !== WebSocket.OPEN) return reject(new Error('the agent connection is not open'));
    ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
  });
}

/** Answers an upgrade request with a plain HTTP status and closes the socket. */
function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  const reason = STATUS_CODES[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`,
  );
}
