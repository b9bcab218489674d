import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { AgentConnections, AgentHeartbeat } from '../../ports/agent-channel.ts';
import { agentKeys, commandStoreCall, mapped } from './dynamodb-command-store.ts';
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
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #ttlSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbAgentConnectionsOptions) {
    this.#table = options.tableName;
    this.#client = options.client;
    this.#ttlSeconds = options.ttlSeconds ?? CONNECTION_TTL_SECONDS;
    this.#clock = options.clock ?? systemClock;
  }

  async register(site: string, connectionId: string, at: number): Promise<string | null> {
    const out = await this.#call('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...key(site),
            [TABLE.entityAttribute]: 'agent-connection',
            [TABLE.ttlAttribute]: Math.floor(at / 1000) + this.#ttlSeconds,
            site,
            connectionId,
            connectedAt: at,
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    const old = out.Attributes;
    if (!old || old.connectionId === connectionId || !this.#live(old)) return null;
    return old.connectionId as string;
  }

  async lookup(site: string): Promise<string | null> {
    const out = await this.#call('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: key(site), ConsistentRead: true })),
    );
    return out.Item && this.#live(out.Item) ? (out.Item.connectionId as string) : null;
  }

  async unregister(site: string, connectionId: string): Promise<boolean> {
    return this.#ifCurrent('DeleteItem', connectionId, (condition) =>
      this.#client.send(new DeleteCommand({ TableName: this.#table, Key: key(site), ...condition })),
    );
  }

  async touch(site: string, connectionId: string, heartbeat: AgentHeartbeat): Promise<void> {
    await this.#ifCurrent('UpdateItem', connectionId, (condition) =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key(site),
          UpdateExpression: 'SET #heartbeat = :heartbeat',
          ...condition,
          ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, '#heartbeat': 'heartbeat' },
          ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ':heartbeat': heartbeat },
        }),
      ),
    );
  }

  #live(item: Record<string, unknown>): boolean {
    return (item[TABLE.ttlAttribute] as number) * 1000 > this.#clock.now();
  }

  async #ifCurrent(
    operation: string,
    connectionId: string,
    run: (condition: {
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    }) => Promise<unknown>,
  ): Promise<boolean> {
    try {
      await run({
        ConditionExpression: '#connectionId = :connectionId',
        ExpressionAttributeNames: { '#connectionId': 'connectionId' },
        ExpressionAttributeValues: { ':connectionId': connectionId },
      });
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
      throw mapped(error, operation, this.#table);
    }
  }

  #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return commandStoreCall(operation, this.#table, run);
  }
}

const key = (site: string) => ({
  [TABLE.partitionKey]: agentKeys.agent(site),
  [TABLE.sortKey]: agentKeys.connectionSk,
});
