import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FailoverConfig } from '../shared/config/model.ts';
import { FailoverError } from '../shared/errors.ts';
import { startEchoResponder, type EchoResponder } from '../shared/responders/echo-responder.ts';
import { startSipResponder, type SipResponder } from '../shared/responders/sip-responder.ts';

type DemoTargetConfig = FailoverConfig['local']['demoTargets'][number];

/** A target the local runtime serves so that a demo can break and heal it. */
export interface DemoTarget {
  readonly id: string;
  readonly kind: DemoTargetConfig['kind'];
  readonly host: string;
  readonly port: number;
  /** Broken: HTTP resets every connection, SIP stays silent, the echo drops every datagram. */
  setBroken(broken: boolean): void;
  isBroken(): boolean;
  /** Injected voice path loss in percent (echo targets only). */
  setLoss(pct: number): void;
  close(): Promise<void>;
}

/** A demo target's port is taken or otherwise unusable. */
export class DemoTargetError extends FailoverError {
  constructor(message: string, cause?: unknown) {
    super('DEMO_TARGET', message, { cause });
    this.name = 'DemoTargetError';
  }
}

/**
 * Starts every demo target of the configuration; on any failure closes those already started and throws a
 * DemoTargetError that names the setting to change (in `configFile`, when given).
 */
export async function startDemoTargets(
  targets: readonly DemoTargetConfig[],
  options: { readonly configFile?: string } = {},
): Promise<DemoTarget[]> {
  const started: DemoTarget[] = [];
  try {
    for (const [i, t] of targets.entries()) started.push(await startTarget(t, i, options.configFile));
    return started;
  } catch (error) {
    await Promise.all(started.map((t) => t.close()));
    throw error;
  }
}

async function startTarget(t: DemoTargetConfig, index: number, configFile?: string): Promise<DemoTarget> {
  const where = `demo target "${t.id}" (${t.kind}) cannot listen on ${t.host}:${t.port}`;
  const option = `change local.demoTargets[${index}].port in ${configFile ?? 'the configuration'} (and the checks aimed at it)`;
  try {
    if (t.kind === 'http') return await httpTarget(t);
    if (t.kind === 'sip') return sipTarget(t, await startSipResponder({ host: t.host, port: t.port }));
    return echoTarget(t, await startEchoResponder({ host: t.host, port: t.port }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? `the port is in use (is another \`failover local\` running?); stop it or ${option}`
        : code === 'EACCES'
          ? `permission denied; ${option}`
          : String(error);
    throw new DemoTargetError(`${where}: ${reason}`, error);
  }
}

/** The common shape of a target around its server's break and loss switches. */
function target(
  t: DemoTargetConfig,
  port: number,
  apply: { broken(broken: boolean, lossPct: number): void; close(): Promise<void> },
): DemoTarget {
  let broken = false;
  let loss = 0;
  return {
    id: t.id,
    kind: t.kind,
    host: t.host,
    port,
    setBroken: (b) => {
      broken = b;
      apply.broken(b, loss);
    },
    isBroken: () => broken,
    setLoss: (pct) => {
      loss = pct;
      if (!broken) apply.broken(false, pct);
    },
    close: () => apply.close(),
  };
}

async function httpTarget(t: DemoTargetConfig): Promise<DemoTarget> {
  let broken = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`ok ${t.id}\n`);
  });
  server.on('connection', (socket) => {
    if (broken) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(t.port, t.host, () => resolve());
  });
  return target(t, t.port, {
    broken: (b) => {
      broken = b;
      if (b) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

function sipTarget(t: DemoTargetConfig, responder: SipResponder): DemoTarget {
  return target(t, responder.port, { broken: (b) => responder.setSilent(b), close: () => responder.close() });
}

function echoTarget(t: DemoTargetConfig, responder: EchoResponder): DemoTarget {
  return target(t, responder.port, {
    broken: (b, loss) => responder.setImpairment({ lossPct: b ? 100 : loss }),
    close: () => responder.close(),
  });
}
