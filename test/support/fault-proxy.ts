import { Buffer } from 'node:buffer';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer the proxy gives instead of forwarding. */
export interface FaultAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** An HTTP proxy on loopback in front of an AWS-compatible endpoint that can fail chosen requests. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Requests whose JSON body this returns true for are answered with a DynamoDB ThrottlingException. */
  throttle: (body: string) => boolean;
  /** The error those requests get instead (AccessDeniedException: one no retry fixes). @default 'ThrottlingException' */
  throttleWith: 'ThrottlingException' | 'ProvisionedThroughputExceededException' | 'AccessDeniedException';
  /**
   * Any other service's faults: a request (method, path, body) this answers for gets that answer instead, e.g. a
   * Route 53 XML `Throttling`. Checked before `throttle`. @default none
   */
  inject: (request: {
    readonly method: string;
    readonly path: string;
    readonly body: string;
  }) => FaultAnswer | undefined;
  /** How many requests were throttled or answered by `inject` so far. */
  readonly throttled: number;
  /** The DynamoDB operations seen (`GetItem`, `PutItem`, ...), from the X-Amz-Target header. */
  readonly operations: ReadonlySet<string>;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (e.g. dynalite) that forwards every request unchanged, except those `throttle` picks,
 * which get the 400 ThrottlingException DynamoDB sends when a partition is over its limits: a real network fault
 * for the real SDK and adapter, without touching the code under test.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let throttled = 0;
  const operations = new Set<string>();
  const proxy: Pick<FaultProxy, 'throttle' | 'throttleWith' | 'inject'> = {
    inject: () => undefined,
    throttle: () => false,
    throttleWith: 'ThrottlingException',
  };
  const server: Server = createServer((req, res) => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') operations.add(target.replace(/^DynamoDB_\d+\./, ''));
    void readBody(req).then((body) => {
      const injected = proxy.inject({ method: req.method ?? 'GET', path: req.url ?? '/', body: body.toString('utf8') });
      if (injected) {
        throttled++;
        res.writeHead(injected.status, injected.headers);
        res.end(injected.body);
        return;
      }
      if (proxy.throttle(body.toString('utf8'))) {
        throttled++;
        const payload = JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${proxy.throttleWith}`,
          message: 'Rate of requests exceeds the allowed throughput.',
        });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault-proxy' });
        res.end(payload);
        return;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get throttle() {
      return proxy.throttle;
    },
    set throttle(fn) {
      proxy.throttle = fn;
    },
    get inject() {
      return proxy.inject;
    },
    set inject(fn) {
      proxy.inject = fn;
    },
    get throttleWith() {
      return proxy.throttleWith;
    },
    set throttleWith(name) {
      proxy.throttleWith = name;
    },
    get throttled() {
      return throttled;
    },
    operations,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
