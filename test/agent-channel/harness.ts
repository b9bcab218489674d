import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DynamoDbCommandStore } from '../../shared/adapters/aws/dynamodb-command-store.ts';
import { DynamoDbReplayGuard } from '../../shared/adapters/aws/dynamodb-replay-guard.ts';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { LocalAgentChannel, agentUpgrade } from '../../local/agent-socket-server.ts';
import { startDynalite, type LocalDynamo } from '../../shared/adapters/local/dynalite.ts';
import { EphemeralAgentKeyring } from '../../shared/adapters/local/file-agent-keyring.ts';
import { rawPublicKey } from '../../shared/contracts/agent-signing.ts';
import { configJsonOf, parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { AgentChannel } from '../../shared/ports/agent-channel.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { AgentChannelDeps, AgentChannelEvent } from '../../shared/usecases/agent/deps.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
import { agentRoutes } from '../../functions/agent/http.ts';
import { startHttpServer, type HttpServer } from '../../local/http-server.ts';
import { testBatch } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';
import { regionVantage } from '../../shared/contracts/ids.ts';

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];

export const SIGNING_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-signing-AbCdEf';
export const CHALLENGE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:agent-challenge-AbCdEf';
export const CALLBACK = 'https://abc123.execute-api.us-east-1.amazonaws.com/agent';

/** The environment the agent functions are deployed with, for the test sites of `keys`, on the table at `endpoint`. */
export function agentFunctionEnv(
  keys: SiteKeys,
  table: { tableName: string; endpoint: string },
): Record<string, string> {
  return {
    FAILOVER_CONFIG_JSON: configJsonOf(testConfigText(keys)).json,
    STATE_TABLE_NAME: table.tableName,
    AGENT_SIGNING_KEY_SECRET_ARN: SIGNING_ARN,
    AGENT_CHALLENGE_SECRET_ARN: CHALLENGE_ARN,
    AGENT_CALLBACK_URL: CALLBACK,
    POWERTOOLS_SERVICE_NAME: 'failover-agent',
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
  };
}

/** Agent key pairs of the test sites: `hq` and `shop` have agents, `bare` has none. */
export interface SiteKeys {
  readonly hq: KeyObject;
  readonly shop: KeyObject;
}

export function siteKeys(): SiteKeys {
  return { hq: generateKeyPairSync('ed25519').privateKey, shop: generateKeyPairSync('ed25519').privateKey };
}

const pub = (k: KeyObject) => rawPublicKey(createPublicKey(k));

/** sites.yaml text of the test sites. */
export function testConfigText(keys: SiteKeys): string {
  return twoLinkConfigYaml({
    regions: REGIONS,
    policy: 'failureThreshold: 2, recoveryThreshold: 2, remindEveryMinutes: 0',
    extra: 'contacts: [{ name: noc, email: noc@example.com }]',
    sites: [{ id: 'hq', agentKey: pub(keys.hq) }, { id: 'shop', agentKey: pub(keys.shop) }, { id: 'bare' }],
  });
}

export function testConfig(keys: SiteKeys): FailoverConfig {
  const { config, diagnostics } = parseConfig(testConfigText(keys));
  if (!config) throw new Error(JSON.stringify(diagnostics));
  return config;
}

/** The use cases' deps on dynalite, with an in-memory keyring; `events` collects what they log. */
export interface Channel {
  readonly dynamo: LocalDynamo;
  readonly deps: AgentChannelDeps;
  readonly events: AgentChannelEvent[];
  readonly errors: unknown[];
  readonly keys: SiteKeys;
  close(): Promise<void>;
}

export async function startChannel(options: {
  clock: Clock;
  channel: AgentChannel;
  dispatch?: AgentChannelDeps['dispatch'];
}): Promise<Channel> {
  const dynamo = await startDynalite();
  const keys = siteKeys();
  const events: AgentChannelEvent[] = [];
  const errors: unknown[] = [];
  const { tableName, client } = dynamo;
  const deps: AgentChannelDeps = {
    config: testConfig(keys),
    clock: options.clock,
    store: new DynamoDbStateStore({ tableName, client, clock: options.clock }),
    commands: new DynamoDbCommandStore({ tableName, client, clock: options.clock }),
    keys: new EphemeralAgentKeyring(),
    replay: new DynamoDbReplayGuard({ tableName, client, clock: options.clock }),
    channel: options.channel,
    log: (e) => events.push(e),
    onError: (e) => errors.push(e),
    ...(options.dispatch ? { dispatch: options.dispatch } : {}),
  };
  return { dynamo, deps, events, errors, keys, close: () => dynamo.close() };
}

/** Gives a site its first state (commitEvent records failures only on a site that has one). */
export async function seedState(deps: AgentChannelDeps, site: string): Promise<void> {
  const at = deps.clock.now();
  await decideSite(deps, {
    site,
    batches: [
      testBatch({
        site,
        vantage: regionVantage(REGIONS[0]!),
        at,
        results: [{ check: 'web-fiber', link: 'fiber', outcome: 'up' }],
      }),
    ],
  });
}

/** The local endpoint on the local HTTP server: routes and the WebSocket upgrade. */
export interface Endpoint extends Channel {
  readonly channel: LocalAgentChannel;
  readonly server: HttpServer;
  readonly url: string;
}

export async function startEndpoint(options: {
  clock: Clock;
  dispatch?: AgentChannelDeps['dispatch'];
}): Promise<Endpoint> {
  const channel = new LocalAgentChannel();
  const base = await startChannel({ ...options, channel });
  const deps = { ...base.deps, channel };
  const server = await startHttpServer({ port: 0, routes: agentRoutes(deps), upgrade: agentUpgrade(deps) });
  return {
    ...base,
    deps,
    channel,
    server,
    url: server.url,
    async close() {
      await channel.close();
      await server.close();
      await base.close();
    },
  };
}
