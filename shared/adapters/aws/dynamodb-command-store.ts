import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AutonomyReport, CommandAck } from '../../contracts/agent.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import {
  CommandStoreError,
  type CommandRecord,
  type CommandStatus,
  type CommandStore,
  type NewCommand,
  type StoredAutonomyReport,
} from '../../ports/command-store.ts';
import { AutonomyReportItem, CommandItem } from './dynamodb-records.ts';
import { DynamoTable, type Item } from './dynamodb-table.ts';
import { PARTITION, TABLE } from './table.ts';

/** Key values of the agent channel's items (docs/state.md, "Agent channel items"). */
export const agentKeys = {
  agent: (site: string) => `${PARTITION.agent}${site}`,
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

const OPEN = ['queued', 'delivered'] as const satisfies readonly CommandStatus[];

/**
 * The CommandStore on the failover table: one item per command under `AGENT#<site>` (`COMMAND#<id>`), changed only by
 * conditional single-item writes on its `status`; autonomy reports beside them (`AUTONOMY#<time>#<n>`). The record's
 * `expiresAt` is stored as `commandExpiresAt`: `expiresAt` is the table's TTL attribute.
 */
export class DynamoDbCommandStore implements CommandStore {
  readonly #table: DynamoTable;
  readonly #retentionSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbCommandStoreOptions) {
    this.#table = agentTable(options.tableName, options.client);
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
    const created = await this.#table.putIf({
      Item: this.#encode(record),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
    });
    if (created) return { record, created: true };
    const existing = await this.get(command.site, command.id);
    if (!existing) throw new CommandStoreError(`command ${command.id} exists and cannot be read`);
    return { record: existing, created: false };
  }

  async get(site: string, id: string): Promise<CommandRecord | null> {
    const item = await this.#table.get(commandKey(site, id));
    return item ? this.#decode(item) : null;
  }

  async list(site: string, filter: { statuses?: readonly CommandStatus[] } = {}): Promise<CommandRecord[]> {
    const items = await this.#table.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': agentKeys.agent(site), ':prefix': agentKeys.commandPrefix },
      ConsistentRead: true,
    });
    const statuses = filter.statuses ? new Set(filter.statuses) : null;
    return items
      .map((item) => this.#decode(item))
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
    const updated = await this.#table.updateIfReturning({
      Key: commandKey(site, id),
      UpdateExpression: 'SET #deliveredAt = :at, #deliveries = :next',
      ConditionExpression: '#status = :delivered AND #deliveries = :seen',
      ExpressionAttributeNames: { '#status': 'status', '#deliveredAt': 'deliveredAt', '#deliveries': 'deliveries' },
      ExpressionAttributeValues: { ':delivered': 'delivered', ':seen': deliveries, ':next': deliveries + 1, ':at': at },
    });
    return updated ? this.#decode(updated) : null;
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
    await this.#table.updateIf({
      Key: commandKey(site, id),
      UpdateExpression: 'SET #reported = :true',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#reported': 'reported', '#pk': TABLE.partitionKey },
      ExpressionAttributeValues: { ':true': true },
    });
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
    await this.#table.put({ Item: item });
  }

  async listAutonomyReports(site: string, limit = 20): Promise<StoredAutonomyReport[]> {
    const out = await this.#table.query({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
      ExpressionAttributeValues: { ':pk': agentKeys.agent(site), ':prefix': agentKeys.autonomyPrefix },
      ScanIndexForward: false,
      Limit: Math.max(1, Math.floor(limit)),
      ConsistentRead: true,
    });
    return (out.Items ?? []).map((item) => this.#table.decode(AutonomyReportItem, item, 'an autonomy report'));
  }

  /** One conditional status change; null when the command is missing or not in one of `from`. */
  async #transition(
    site: string,
    id: string,
    from: readonly CommandStatus[],
    update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<CommandRecord | null> {
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    const updated = await this.#table.updateIfReturning({
      Key: commandKey(site, id),
      ...(update.UpdateExpression ? { UpdateExpression: update.UpdateExpression } : {}),
      ConditionExpression: `#status IN (${Object.keys(fromValues).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status', ...update.ExpressionAttributeNames },
      ExpressionAttributeValues: { ...fromValues, ...update.ExpressionAttributeValues },
    });
    return updated ? this.#decode(updated) : null;
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

  #decode(item: Item): CommandRecord {
    return this.#table.decode(CommandItem, item, 'an agent command');
  }
}

const commandKey = (site: string, id: string) => ({
  [TABLE.partitionKey]: agentKeys.agent(site),
  [TABLE.sortKey]: agentKeys.commandSk(id),
});

/** The failover table as the agent channel's stores use it: their permanent failures are CommandStoreError. */
export function agentTable(tableName: string, client: DynamoDBDocumentClient): DynamoTable {
  return new DynamoTable({
    tableName,
    client,
    permanent: (message, cause) => new CommandStoreError(message, { cause }),
  });
}
