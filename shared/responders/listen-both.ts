import dgram from 'node:dgram';
import net, { isIP } from 'node:net';

/** A UDP socket and a TCP server listening on the same port. */
export interface BothListening {
  readonly udp: dgram.Socket;
  readonly tcp: net.Server;
  readonly port: number;
}

/**
 * Binds a UDP socket and a TCP server to one port on `host` (DNS and SIP answer on both). With port 0 the port the
 * UDP socket got may be taken on TCP: then another one is tried, up to 20 times. A failure is passed through
 * `mapError` with the port it happened on.
 */
export async function listenBoth(
  host: string,
  port: number,
  mapError: (error: unknown, port: number) => unknown = (error) => error,
): Promise<BothListening> {
  const type = isIP(host) === 6 ? 'udp6' : 'udp4';
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket(type);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: host, port }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      udp.close();
      throw mapError(error, port);
    }
    const udpPort = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: udpPort }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: udpPort };
    } catch (error) {
      udp.close();
      if (port !== 0 || attempt >= 20 || (error as { code?: unknown }).code !== 'EADDRINUSE') {
        throw mapError(error, udpPort);
      }
    }
  }
}
