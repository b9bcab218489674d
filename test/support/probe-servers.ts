import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { RequestListener } from 'node:http';
import type { KeyPairPem } from './pki.ts';

/** Servers started by a test file, closed (with their open connections) by `closeAll`. */
export class ServerPool {
  readonly #servers: { server: Server; sockets: Set<Socket> }[] = [];

  /** Listens on 127.0.0.1 with an ephemeral port, tracking connections; resolves the port. */
  async listen(server: Server): Promise<number> {
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    this.#servers.push({ server, sockets });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** An HTTPS server on loopback presenting `pair`; resolves its port. */
  https(pair: KeyPairPem, handler: RequestListener): Promise<number> {
    return this.listen(createHttpsServer({ cert: pair.cert, key: pair.key }, handler));
  }

  /** A TCP server that accepts connections and never says a word; resolves its port. */
  silent(): Promise<number> {
    return this.listen(createNetServer(() => {}));
  }

  async closeAll(): Promise<void> {
    const all = this.#servers.splice(0);
    await Promise.all(
      all.map(
        ({ server, sockets }) =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => resolve());
          }),
      ),
    );
  }
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
