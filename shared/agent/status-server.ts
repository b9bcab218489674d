import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../api/listen.ts';
import { CheckMetrics, Counter, Gauge, processRegistry, type Registry } from '../observability/metrics.ts';
import type { ObservationBatch } from '../contracts/observation.ts';

/** The agent's Prometheus metrics, with the process metrics. */
export class AgentMetrics {
  readonly registry: Registry;
  readonly #checks: CheckMetrics;
  readonly #rounds: Counter;
  readonly #late: Counter;
  readonly #commands: Counter;
  readonly #switches: Counter;

  constructor(options: { readonly outboxDepth: () => number; readonly connected: () => boolean }) {
    const registry = (this.registry = processRegistry());
    const registers = [registry];
    this.#checks = new CheckMetrics(registry);
    this.#rounds = new Counter({
      name: 'failover_agent_rounds_total',
      help: 'Rounds of inside-out checks that ran, per link',
      labelNames: ['link'],
      registers,
    });
    this.#late = new Counter({
      name: 'failover_agent_rounds_late_total',
      help: 'Rounds of inside-out checks that started more than 1 s after their slot, per link',
      labelNames: ['link'],
      registers,
    });
    this.#commands = new Counter({
      name: 'failover_agent_commands_total',
      help: 'Control plane commands handled, by action and result: succeeded, failed, refused, repeated',
      labelNames: ['action', 'result'],
      registers,
    });
    this.#switches = new Counter({
      name: 'failover_agent_autonomy_switches_total',
      help: 'Switches made by local autonomy while the control plane was away, by result',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'failover_agent_outbox_depth',
      help: 'Messages (acks, reports, observations) waiting for the control plane',
      registers,
      collect() {
        this.set(options.outboxDepth());
      },
    });
    new Gauge({
      name: 'failover_agent_connected',
      help: '1 while the agent has a working channel to the control plane',
      registers,
      collect() {
        this.set(options.connected() ? 1 : 0);
      },
    });
  }

  round(batch: ObservationBatch, scheduledAtMs: number, startedAtMs: number): void {
    const link = batch.observations[0]?.link ?? '';
    this.#rounds.inc({ link });
    if (startedAtMs - scheduledAtMs > 1000) this.#late.inc({ link });
    for (const o of batch.observations) this.#checks.observe(o);
  }

  command(action: string, result: string): void {
    this.#commands.inc({ action, result });
  }

  autonomySwitch(result: string): void {
    this.#switches.inc({ result });
  }
}

/** A running metrics and health server. */
export interface StatusServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text), `/healthz` (200 while the process serves) and `/readyz` (200 when
 * `readiness` names nothing, else 503 with `{"ready":false,"notReady":{...}}`) on `host:port`. No authentication.
 */
export async function startStatusServer(options: {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** What is not ready, and why; empty when ready. */
  readonly readiness: () => Record<string, string>;
}): Promise<StatusServer> {
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) =>
    send(res, status, 'application/json', JSON.stringify(body));
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
    if (!known) return json(res, 404, { error: `no route ${path} (try /metrics, /healthz, /readyz)` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: `${req.method} is not allowed on ${path}` });
    }
    if (path === '/metrics') return send(res, 200, options.registry.contentType, await options.registry.metrics());
    if (path === '/healthz') return json(res, 200, { alive: true });
    const notReady = options.readiness();
    return Object.keys(notReady).length === 0
      ? json(res, 200, { ready: true })
      : json(res, 503, { ready: false, notReady });
  };
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  return listen(
    server,
    options.host,
    options.port,
    (error) =>
      new Error(`metrics.listen ${options.host}:${options.port}: ${error.code ?? error.message}`, { cause: error }),
  );
}
