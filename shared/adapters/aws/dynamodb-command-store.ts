import { randomBytes } from 'node:crypto';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AutonomyReport, CommandAck } from '../../contracts/agent.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import { StoreUnavailableError } from '../../ports/state-store.ts';
import {
  CommandStoreError,
  type CommandRecord,
  type CommandStatus,
  type CommandStore,
  type NewCommand,
  type StoredAutonomyReport,
} from '../../ports/command-store.ts';
import { isUnavailable } from './dynamodb-state-store.ts';
import { TABLE } from './table.ts';

/** Key values of the agent channel's items (docs/state.md, "Agent channel items"). */
export const agentKeys = {
  agent: (site: string) => `AGENT#${site}`,
  commandSk: (id: string) => `COMMAND#${id}`,
  commandPrefix: 'COMMAND#',
  connectionSk: 'CONNECTION',
  autonomySk: (receivedAt: number, unique: string) => `AUTONOMY#${new Date(receivedAt).toISOString()}#${unique}`,
  autonomyPrefix: 'AUTONOMY#',
} as const;

export interface DynamoDbCommandStoreOptions {
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
  /** How long commands are kept after their expiry, and autonomy reports after receipt (TTL). @default 30 */
  readonly retentionDays?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

type Item = Record<string, unknown>;

const OPEN = ['queued', 'delivered'] as const satisfies readonly CommandStatus[];

/**
 * The CommandStore on the failover table: one item per command under `AGENT#<site>` (`COMMAND#<id>`), changed only by
 * conditional single-item writes on its `status`; autonomy reports beside them (`AUTONOMY#<time>#<n>`). The record's
 * `expiresAt` is stored as `commandExpiresAt`: `expiresAt` is the table's TTL attribute.
 */
export class DynamoDbCommandStore implements CommandStore {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #retentionSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbCommandStoreOptions) {
    this.#table = options.tableName;
    this.#client = options.client;
    this.#retentionSeconds = Math.round((options.retentionDays ?? 30) * 86_400);
    this.#clock = options.clock ?? systemClock;
  }

  async create(command: NewCommand): Promise<{ record: CommandRecord; created: boolean }> {
    const record: CommandRecord = {
      ...command,
      status: 'queued',
      expiresAt: Date.parse(command.command.expiresAt),
      deliveredAt: null,
      deliveries: 0,
      ack: null,
      ackedAt: null,
      expiredAt: null,
      reported: false,
    };
    const created = await this.#conditional('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: this.#encode(record),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
        }),
      ),
    );
    if (created) return { record, created: true };
    const existing = await this.get(command.site, command.id);
    if (!existing) throw new CommandStoreError(`command ${command.id} exists and cannot be read`);
    return { record: existing, created: false };
  }

  async get(site: string, id: string): Promise<CommandRecord | null> {
    const out = await this.#call('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: commandKey(site, id), ConsistentRead: true })),
    );
    return out.Item ? decode(out.Item) : null;
  }

  async list(site: string, filter: { statuses?: readonly CommandStatus[] } = {}): Promise<CommandRecord[]> {
    const items = await this.#queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': agentKeys.agent(site), ':prefix': agentKeys.commandPrefix },
      ConsistentRead: true,
    });
    const statuses = filter.statuses ? new Set(filter.statuses) : null;
    return items
      .map(decode)
      .filter((r) => !statuses || statuses.has(r.status))
      .sort((a, b) => a.createdAt - b.createdAt || a.action.seq - b.action.seq || (a.id < b.id ? -1 : 1));
  }

  claim(site: string, id: string, at: number): Promise<CommandRecord | null> {
    return this.#transition(site, id, ['queued'], {
      UpdateExpression: 'SET #status = :next, #deliveredAt = :at, #deliveries = #deliveries + :one',
      ExpressionAttributeNames: { '#deliveredAt': 'deliveredAt', '#deliveries': 'deliveries' },
      ExpressionAttributeValues: { ':next': 'delivered', ':at': at, ':one': 1 },
    });
  }

  async reclaim(site: string, id: string, deliveries: number, at: number): Promise<CommandRecord | null> {
    let updated: Item | undefined;
    const done = await this.#conditional('UpdateItem', async () => {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: commandKey(site, id),
          UpdateExpression: 'SET #deliveredAt = :at, #deliveries = :next',
          ConditionExpression: '#status = :delivered AND #deliveries = :seen',
          ExpressionAttributeNames: { '#status': 'status', '#deliveredAt': 'deliveredAt', '#deliveries': 'deliveries' },
          ExpressionAttributeValues: {
            ':delivered': 'delivered',
            ':seen': deliveries,
            ':next': deliveries + 1,
            ':at': at,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = out.Attributes;
    });
    return done && updated ? decode(updated) : null;
  }

  async requeue(site: string, id: string): Promise<boolean> {
    const out = await this.#transition(site, id, ['delivered'], {
      UpdateExpression: 'SET #status = :next, #deliveries = #deliveries - :one',
      ExpressionAttributeNames: { '#deliveries': 'deliveries' },
      ExpressionAttributeValues: { ':next': 'queued', ':one': 1 },
    });
    return out !== null;
  }

  acknowledge(site: string, id: string, ack: CommandAck, at: number): Promise<CommandRecord | null> {
    return this.#transition(site, id, OPEN, {
      UpdateExpression: 'SET #status = :next, #ack = :ack, #ackedAt = :at',
      ExpressionAttributeNames: { '#ack': 'ack', '#ackedAt': 'ackedAt' },
      ExpressionAttributeValues: { ':next': 'acked', ':ack': ack, ':at': at },
    });
  }

  expire(site: string, id: string, at: number): Promise<CommandRecord | null> {
    return this.#transition(site, id, OPEN, {
      UpdateExpression: 'SET #status = :next, #expiredAt = :at',
      ExpressionAttributeNames: { '#expiredAt': 'expiredAt' },
      ExpressionAttributeValues: { ':next': 'expired', ':at': at },
    });
  }

  async markReported(site: string, id: string): Promise<void> {
    await this.#conditional('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: commandKey(site, id),
          UpdateExpression: 'SET #reported = :true',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#reported': 'reported', '#pk': TABLE.partitionKey },
          ExpressionAttributeValues: { ':true': true },
        }),
      ),
    );
  }

  async putAutonomyReport(report: AutonomyReport, receivedAt: number): Promise<void> {
    const item: Item = {
      [TABLE.partitionKey]: agentKeys.agent(report.site),
      [TABLE.sortKey]: agentKeys.autonomySk(receivedAt, randomBytes(4).toString('hex')),
      [TABLE.entityAttribute]: 'agent-autonomy',
      [TABLE.ttlAttribute]: Math.floor(receivedAt / 1000) + this.#retentionSeconds,
      report,
      receivedAt,
    };
    await this.#call('PutItem', () => this.#client.send(new PutCommand({ TableName: this.#table, Item: item })));
  }

  async listAutonomyReports(site: string, limit = 20): Promise<StoredAutonomyReport[]> {
    const out = await this.#call('Query', () =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
          ExpressionAttributeValues: { ':pk': agentKeys.agent(site), ':prefix': agentKeys.autonomyPrefix },
          ScanIndexForward: false,
          Limit: Math.max(1, Math.floor(limit)),
          ConsistentRead: true,
        }),
      ),
    );
    return (out.Items ?? []).map((i) => ({
      report: i.report as AutonomyReport,
      receivedAt: i.receivedAt as number,
    }));
  }

  /** One conditional status change; null when the command is missing or not in one of `from`. */
  async #transition(
    site: string,
    id: string,
    from: readonly CommandStatus[],
    update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<CommandRecord | null> {
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    let updated: Item | undefined;
    const done = await this.#conditional('UpdateItem', async () => {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: commandKey(site, id),
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: `#status IN (${Object.keys(fromValues).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status', ...update.ExpressionAttributeNames },
          ExpressionAttributeValues: { ...fromValues, ...update.ExpressionAttributeValues },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = out.Attributes;
    });
    return done && updated ? decode(updated) : null;
  }

  #encode(record: CommandRecord): Item {
    const { expiresAt, ...rest } = record;
    return {
      ...rest,
      commandExpiresAt: expiresAt,
      ...commandKey(record.site, record.id),
      [TABLE.entityAttribute]: 'agent-command',
      [TABLE.ttlAttribute]: Math.floor(Math.max(expiresAt, this.#clock.now()) / 1000) + this.#retentionSeconds,
    };
  }

  async #queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#call('Query', () =>
        this.#client.send(
          new QueryCommand({ TableName: this.#table, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Runs a conditional write: true when it was made, false when its condition failed. */
  async #conditional(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
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

const commandKey = (site: string, id: string) => ({
  [TABLE.partitionKey]: agentKeys.agent(site),
  [TABLE.sortKey]: agentKeys.commandSk(id),
});

function decode(item: Item): CommandRecord {
  return {
    site: item.site as string,
    id: item.id as string,
    action: item.action as CommandRecord['action'],
    command: item.command as CommandRecord['command'],
    status: item.status as CommandStatus,
    expiresAt: item.commandExpiresAt as number,
    createdAt: item.createdAt as number,
    deliveredAt: (item.deliveredAt as number | null | undefined) ?? null,
    deliveries: (item.deliveries as number | undefined) ?? 0,
    ack: (item.ack as CommandAck | null | undefined) ?? null,
    ackedAt: (item.ackedAt as number | null | undefined) ?? null,
    expiredAt: (item.expiredAt as number | null | undefined) ?? null,
    reported: item.reported === true,
  };
}

/** Runs one DynamoDB call of the agent channel's stores; its failure is thrown as {@link mapped}. */
export async function commandStoreCall<T>(operation: string, table: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapped(error, operation, table);
  }
}

/** SDK errors as domain errors: StoreUnavailableError when a retry may help, CommandStoreError otherwise. */
export function mapped(error: unknown, operation: string, table: string): Error {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const message = `DynamoDB ${operation} on table ${table} failed: ${detail}`;
  return isUnavailable(error)
    ? new StoreUnavailableError(message, { cause: error })
    : new CommandStoreError(message, { cause: error });
}
