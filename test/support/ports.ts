import dgram from 'node:dgram';
import { createServer, type Server } from 'node:net';

/** Which protocols a port must be free for. */
export interface PortNeeds {
  readonly tcp?: boolean;
  readonly udp?: boolean;
}

/** A TCP server listening on 127.0.0.1 at `port` (0 = ephemeral); rejects with the listen error (EADDRINUSE). */
export async function listenTcp(port = 0, host = '127.0.0.1'): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** A UDP socket bound on 127.0.0.1 at `port` (0 = ephemeral); rejects with the bind error. */
export async function bindUdp(port = 0, host = '127.0.0.1'): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return socket;
}

const closeTcp = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
const closeUdp = (socket: dgram.Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

// Below Linux's ephemeral range (32768-60999): no port-0 bind anywhere on the machine can take a port between the
// moment it is handed out here and the moment the code under test binds it.
const RANGE = { from: 20_000, to: 32_000 };
const handedOut = new Set<number>();

/**
 * A loopback port free for the needed protocols (default both) when this returns, never handed out twice by this
 * process. It is released before returning (the caller's child process binds it), so it is chosen outside the
 * ephemeral range, where only an explicit bind could race for it.
 */
export async function freePort(needs: PortNeeds = { tcp: true, udp: true }): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from));
    if (handedOut.has(port)) continue;
    if (await isPortFree(port, needs)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 between ${RANGE.from} and ${RANGE.to}`);
}

/** `count` distinct free loopback ports (see {@link freePort}). */
export async function freePorts(count: number, needs?: PortNeeds): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(needs));
  return [...ports];
}

/** Whether `port` can be bound on 127.0.0.1 right now for the needed protocols (default both). */
export async function isPortFree(port: number, needs: PortNeeds = { tcp: true, udp: true }): Promise<boolean> {
  try {
    if (needs.tcp) await closeTcp(await listenTcp(port));
    if (needs.udp) await closeUdp(await bindUdp(port));
    return true;
  } catch {
    return false;
  }
}
