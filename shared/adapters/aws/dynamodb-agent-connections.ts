import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { AgentConnections, AgentHeartbeat } from '../../ports/agent-channel.ts';
import { agentKeys, agentTable } from './dynamodb-command-store.ts';
import { AgentConnectionItem } from './dynamodb-records.ts';
import type { DynamoTable } from './dynamodb-table.ts';
import { TABLE } from './table.ts';

/** API Gateway closes a WebSocket connection after 2 hours at most; the item outlives that a little. */
export const CONNECTION_TTL_SECONDS = 2 * 3600 + 600;

export interface DynamoDbAgentConnectionsOptions {
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
  /** @default CONNECTION_TTL_SECONDS */
  readonly ttlSeconds?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Each site's live API Gateway connection, one item per site (`AGENT#<site>` / `CONNECTION`) with a TTL; an item past
 * its TTL counts as absent even before DynamoDB deletes it. Removal is conditional on the connection id, so the
 * `$disconnect` of an old connection never forgets the new one that replaced it.
 */
export class DynamoDbAgentConnections implements AgentConnections {
  readonly #table: DynamoTable;
  readonly #ttlSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbAgentConnectionsOptions) {
    this.#table = agentTable(options.tableName, options.client);
    this.#ttlSeconds = options.ttlSeconds ?? CONNECTION_TTL_SECONDS;
    this.#clock = options.clock ?? systemClock;
  }

  async register(site: string, connectionId: string, at: number): Promise<string | null> {
    const out = await this.#table.put({
      Item: {
        ...key(site),
        [TABLE.entityAttribute]: 'agent-connection',
        [TABLE.ttlAttribute]: Math.floor(at / 1000) + this.#ttlSeconds,
        site,
        connectionId,
        connectedAt: at,
      },
      ReturnValues: 'ALL_OLD',
    });
    const old = out.Attributes;
    if (!old || !this.#live(old)) return null;
    const previous = this.#table.decode(AgentConnectionItem, old, 'an agent connection').connectionId;
    return previous === connectionId ? null : previous;
  }

  async lookup(site: string): Promise<string | null> {
    const item = await this.#table.get(key(site));
    return item && this.#live(item)
      ? this.#table.decode(AgentConnectionItem, item, 'an agent connection').connectionId
      : null;
  }

  unregister(site: string, connectionId: string): Promise<boolean> {
    return this.#table.deleteIf({ Key: key(site), ...ifCurrent(connectionId) });
  }

  async touch(site: string, connectionId: string, heartbeat: AgentHeartbeat): Promise<void> {
    const condition = ifCurrent(connectionId);
    await this.#table.updateIf({
      Key: key(site),
      UpdateExpression: 'SET #heartbeat = :heartbeat',
      ConditionExpression: condition.ConditionExpression,
      ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, '#heartbeat': 'heartbeat' },
      ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ':heartbeat': heartbeat },
    });
  }

  #live(item: Record<string, unknown>): boolean {
    return (item[TABLE.ttlAttribute] as number) * 1000 > this.#clock.now();
  }
}

/** The condition of a change that must not touch a newer connection's item. */
const ifCurrent = (connectionId: string) => ({
  ConditionExpression: '#connectionId = :connectionId',
  ExpressionAttributeNames: { '#connectionId': 'connectionId' },
  ExpressionAttributeValues: { ':connectionId': connectionId },
});

const key = (site: string) => ({
  [TABLE.partitionKey]: agentKeys.agent(site),
  [TABLE.sortKey]: agentKeys.connectionSk,
});
