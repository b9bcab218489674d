import { expect } from 'vitest';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { DynamoDbApiKeyStore } from '../../shared/adapters/aws/dynamodb-api-key-store.ts';
import { DynamoDbMaintenanceStore } from '../../shared/adapters/aws/dynamodb-maintenance-store.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { issueApiKey } from '../../shared/api/api-keys.ts';
import { findRoute } from '../../shared/api/route-match.ts';
import { API_ROUTES, type ApiRouteSpec } from '../../shared/api/routes.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { Problem } from '../../shared/contracts/api.ts';
import type { Outcome } from '../../shared/contracts/observation.ts';
import type { Notifier } from '../../shared/ports/notifier.ts';
import { decideSite, type DecideSiteOutput } from '../../shared/usecases/decide-site.ts';
import { decideDeps, type ApiDeps } from '../../functions/api/deps.ts';
import type { HookDeps, WebhookApiDeps } from '../../functions/api/webhook-deps.ts';
import { apiRoutes } from '../../functions/api/routes.ts';
import { startHttpServer, type HttpServer } from '../../local/http-server.ts';
import { twoLinkRound } from './observations.ts';

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
/** 2026-11-25 12:00 UTC: the fake clock's start. */
export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/**
 * A configuration of `sites`, each with a fiber primary and an LTE backup checked from three regions; `extraSiteYaml`
 * is added to every site, `extraYaml` at the top level (e.g. `integrations:`).
 */
export function apiTestConfig(sites: readonly string[], extraSiteYaml = '', extraYaml = ''): FailoverConfig {
  const text = `version: 1
regions: { probe: [${REGIONS.join(', ')}], control: us-east-1 }
defaults: { policy: { failureThreshold: 2, recoveryThreshold: 2, holdDownSeconds: 60, failback: manual, remindEveryMinutes: 0 } }
sites:
${sites
  .map(
    (id) => `  - id: ${id}
    name: Site ${id}
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web-fiber, link: fiber, tcp: { host: 203.0.113.10, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 198.51.100.20, port: 443 } }
${extraSiteYaml}`,
  )
  .join('\n')}
${extraYaml}`;
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

/** A clock the test moves. */
export interface TestClock {
  now(): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function testClock(start = T0): TestClock {
  let now = start;
  return {
    now: () => now,
    set: (ms) => void (now = ms),
    advance: (ms) => void (now += ms),
  };
}

/** What an API call answered; the body parsed when it is JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly text: string;
}

export interface CallOptions {
  readonly key?: string;
  /** Sent as JSON unless a string or bytes (then as is, with the content type given in headers). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** The real API on loopback: handlers, dynalite, real decideSite, keys of each kind. */
export interface ApiHarness {
  readonly url: string;
  readonly server: HttpServer;
  readonly deps: ApiDeps;
  readonly dynamo: LocalDynamo;
  readonly clock: TestClock;
  readonly keys: { readonly write: string; readonly read: string; readonly revoked: string };
  /** Every decision an API call wrote (what onDecision was told). */
  readonly decisions: DecideSiteOutput[];
  /** One round from every region (the clock moves a minute first): the links' outcomes, added to the history too. */
  observe(site: string, fiber: Outcome, lte?: Outcome): Promise<DecideSiteOutput>;
  /** Calls the API and checks the answer against the route's contract (response schema, or Problem). */
  call(method: string, path: string, options?: CallOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

const PEPPER = Buffer.from('test-pepper-0123456789abcdef0123456789');

/** Starts dynalite, the API's stores on it, keys (write `ops-alice`, read `dashboard`, one revoked) and the server. */
export async function startApiHarness(options: {
  config: FailoverConfig;
  /** The webhook routes' dependencies, on the harness's table and clock. */
  webhooks?: (dynamo: LocalDynamo, clock: TestClock) => WebhookApiDeps;
  hooks?: (dynamo: LocalDynamo, clock: TestClock) => HookDeps;
  /** The API's notifier (the brake's release alert). */
  notifier?: Notifier;
}): Promise<ApiHarness> {
  const dynamo = await startDynalite();
  const clock = testClock();
  const decisions: DecideSiteOutput[] = [];
  const client = dynamo.client;
  const tableName = dynamo.tableName;
  const deps: ApiDeps = {
    config: options.config,
    store: new DynamoDbStateStore({ tableName, client, clock }),
    clock,
    apiKeys: new DynamoDbApiKeyStore({ tableName, client }),
    pepper: async () => PEPPER,
    maintenance: new DynamoDbMaintenanceStore({ tableName, client }),
    history: new DynamoDbHistoryStore({ tableName, client, clock }),
    ...(options.webhooks ? { webhooks: options.webhooks(dynamo, clock) } : {}),
    ...(options.hooks ? { hooks: options.hooks(dynamo, clock) } : {}),
    ...(options.notifier ? { notifier: options.notifier } : {}),
    onDecision: (out) => void decisions.push(out),
    log: { error: () => undefined },
  };
  const keyDeps = { store: deps.apiKeys, pepper: deps.pepper, clock };
  const write = (await issueApiKey(keyDeps, { name: 'ops-alice', scope: 'write' })).key;
  const read = (await issueApiKey(keyDeps, { name: 'dashboard', scope: 'read' })).key;
  const revokedKey = await issueApiKey(keyDeps, { name: 'old-laptop', scope: 'write' });
  await deps.apiKeys.revoke(revokedKey.record.id, clock.now());
  const server = await startHttpServer({ port: 0, routes: apiRoutes(deps) });

  const observe = async (site: string, fiber: Outcome, lte: Outcome = 'up') => {
    clock.advance(60_000);
    const batches = twoLinkRound({ site, regions: REGIONS, at: clock.now(), fiber, lte });
    return decideSite({ ...decideDeps(deps), history: deps.history! }, { site, batches });
  };

  const call = async (method: string, path: string, opts: CallOptions = {}): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    let body: string | Uint8Array | undefined;
    if (typeof opts.body === 'string' || opts.body instanceof Uint8Array) body = opts.body;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const parsed = type.includes('json') && text ? JSON.parse(text) : undefined;
    checkContract(method, path, res.status, type, parsed);
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    url: server.url,
    server,
    deps,
    dynamo,
    clock,
    keys: { write, read, revoked: revokedKey.key },
    decisions,
    observe,
    call,
    close: async () => {
      await server.close();
      await dynamo.close();
    },
  };
}

/**
 * The answer matches the contract: a problem (application/problem+json, the Problem schema, its status) or a
 * declared success status whose body the route's schema accepts exactly (no field the schema lacks).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function checkContract(method: string, path: string, status: number, type: string, body: any): void {
  if (status >= 400) {
    expect(type).toBe('application/problem+json');
    expect(Problem.parse(body)).toEqual(body);
    expect(body.status).toBe(status);
    expect(JSON.stringify(body)).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    return;
  }
  const lookup = findRoute(API_ROUTES as readonly ApiRouteSpec[], method, path.split('?')[0]!);
  expect(lookup.found, `${method} ${path} is a route`).toBeTruthy();
  const spec = lookup.found!.route;
  const response = spec.responses[status];
  expect(response, `${spec.operationId} declares ${status}`).toBeDefined();
  if (response!.schema) expect(response!.schema.parse(body)).toEqual(body);
  if (response!.contentType) expect(type.split(';')[0]).toBe(response!.contentType);
}
