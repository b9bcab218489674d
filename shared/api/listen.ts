import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening HTTP server: where it is, and a close that is safe to call more than once. */
export interface ListeningServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, the host in brackets when it is IPv6. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on host:port (0: a free port), rejecting with `describe(error)` when it cannot. close() stops accepting,
 * closes every connection, runs `onClose` (e.g. for upgraded sockets the server no longer tracks) and resolves once
 * the server has closed; later calls return the same promise.
 */
export async function listen(
  server: Server,
  host: string,
  port: number,
  describe: (error: NodeJS.ErrnoException) => Error,
  onClose?: () => void,
): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(describe(error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    host,
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        onClose?.();
      })),
  };
}
