import { createSocket } from 'node:dgram';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as dnsPacket from 'dns-packet';
import type { FailoverConfig } from '../shared/config/model.ts';
import type { Transition } from '../shared/domain/model.ts';
import { CheckMetrics, Counter, Gauge, processRegistry, type Registry } from '../shared/observability/metrics.ts';
import type { RoundResult } from '../shared/probes/round.ts';
import type { StateStore } from '../shared/ports/state-store.ts';
import type { DispatchEvent } from '../shared/usecases/dispatch.ts';
import type { HttpRoute } from '../shared/api/http-route.ts';

/** A round that starts more than this after its slot counts as late. */
export const LATE_ROUND_MS = 1000;

/** How a decision ended: it recorded a transition, wrote the state without one, changed nothing, or failed. */
export type DecisionOutcome = 'transition' | 'updated' | 'unchanged' | 'error';

/** The local runtime's Prometheus metrics, in a registry of their own with the process metrics. */
export class RuntimeMetrics {
  readonly registry: Registry;
  readonly #checks: CheckMetrics;
  readonly #rounds: Counter;
  readonly #late: Counter;
  readonly #skipped: Counter;
  readonly #decisions: Counter;
  readonly #transitions: Counter;
  readonly #actions: Counter;

  /** `outbox` reads each site's pending actions when Prometheus scrapes (a failed read leaves the last values). */
  constructor(options: { readonly config: FailoverConfig; readonly store: () => StateStore | undefined }) {
    const registry = (this.registry = processRegistry());
    const registers = [registry];
    this.#checks = new CheckMetrics(registry);
    this.#rounds = new Counter({
      name: 'failover_rounds_total',
      help: 'Probe rounds that ran to the end, per region',
      labelNames: ['region'],
      registers,
    });
    this.#late = new Counter({
      name: 'failover_rounds_late_total',
      help: `Probe rounds that started more than ${LATE_ROUND_MS} ms after their slot`,
      labelNames: ['region'],
      registers,
    });
    this.#skipped = new Counter({
      name: 'failover_round_checks_skipped_total',
      help: "Checks a round's budget kept from running (the region abstains on them)",
      labelNames: ['region'],
      registers,
    });
    this.#decisions = new Counter({
      name: 'failover_decisions_total',
      help: 'Decisions per site, by outcome: transition, updated (state written), unchanged, error',
      labelNames: ['site', 'outcome'],
      registers,
    });
    this.#transitions = new Counter({
      name: 'failover_transitions_total',
      help: 'Transitions recorded per site, by kind',
      labelNames: ['site', 'kind'],
      registers,
    });
    this.#actions = new Counter({
      name: 'failover_actions_total',
      help: 'Dispatched actions, by kind and result: applied, skipped, retry, dead-letter',
      labelNames: ['site', 'kind', 'result'],
      registers,
    });
    const { config, store } = options;
    new Gauge({
      name: 'failover_outbox_depth',
      help: "Actions pending in a site's outbox (history records excluded)",
      labelNames: ['site'],
      registers,
      async collect() {
        const s = store();
        if (!s) return;
        await Promise.all(
          config.sites.map(async (site) => {
            const state = await s.load(site.id).catch(() => undefined);
            if (state !== undefined)
              this.set({ site: site.id }, state?.outbox.filter((a) => a.kind !== 'history').length ?? 0);
          }),
        );
      },
    });
  }

  round(region: string, round: RoundResult, scheduledAtMs: number): void {
    this.#rounds.inc({ region });
    if (Date.parse(round.startedAt) - scheduledAtMs > LATE_ROUND_MS) this.#late.inc({ region });
    if (round.skipped.length > 0) this.#skipped.inc({ region }, round.skipped.length);
    for (const o of round.observations) this.#checks.observe(o);
  }

  decision(site: string, outcome: DecisionOutcome): void {
    this.#decisions.inc({ site, outcome });
  }

  transition(t: Transition): void {
    this.#transitions.inc({ site: t.site, kind: t.kind });
  }

  dispatch(e: DispatchEvent): void {
    this.#actions.inc({ site: e.action.site, kind: e.action.kind, result: e.type });
  }
}

/** One part of readiness: undefined when it is ready, else why not. */
export type ReadinessCheck = () => Promise<string | undefined>;

/** Whether the embedded DNS server answers a query for `zone`'s SOA on `host:port` (UDP) within `timeoutMs`. */
export function dnsAnswers(host: string, port: number, zone: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const id = Math.floor(Math.random() * 65_535);
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.on('error', (error) => done(error.message));
    socket.on('message', (msg) => {
      const answer = dnsPacket.decode(msg);
      const rcode = (answer.flags ?? 0) & 0xf;
      if (answer.id === id) done(rcode === 0 ? undefined : `answered rcode ${rcode}`);
    });
    socket.send(dnsPacket.encode({ id, type: 'query', questions: [{ type: 'SOA', name: zone }] }), port, host);
  });
}

/** `promise`, or a reason after `ms`. */
export function within(promise: Promise<string | undefined>, ms: number, what: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>(
    (resolve) => (timer = setTimeout(() => resolve(`${what}: no answer in ${ms} ms`), ms)),
  );
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * `GET /metrics` (Prometheus text), `/healthz` (200 while the process serves) and `/readyz` (200 when every check is
 * ready, else 503 with `{"ready":false,"notReady":{"<name>":"<why>"}}`). No API key: the local runtime's API port
 * listens on 127.0.0.1 only.
 */
export function observabilityRoutes(
  metrics: RuntimeMetrics,
  readiness: Readonly<Record<string, ReadinessCheck>>,
): HttpRoute[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      handler: async () => ({
        statusCode: 200,
        headers: { 'content-type': metrics.registry.contentType },
        body: await metrics.registry.metrics(),
      }),
    },
    { method: 'GET', path: '/healthz', handler: async () => json(200, { alive: true }) },
    { method: 'GET', path: '/readyz', handler: () => readinessResponse(readiness) },
  ];
}

/** Runs every check at once: 200 `{"ready":true}`, or 503 naming each part that is not ready and why. */
export async function readinessResponse(
  readiness: Readonly<Record<string, ReadinessCheck>>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const results = await Promise.all(
    Object.entries(readiness).map(
      async ([name, check]) => [name, await check().catch((e: Error) => e.message)] as const,
    ),
  );
  const notReady = Object.fromEntries(results.filter(([, why]) => why !== undefined));
  return Object.keys(notReady).length === 0 ? json(200, { ready: true }) : json(503, { ready: false, notReady });
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
