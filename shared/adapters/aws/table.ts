import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The failover table's layout as data: one table, a generic partition/sort key and one global secondary index.
 * The CDK construct mirrors these names; docs/state.md describes every item kind.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Lists incidents of every site, newest first. */
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** Epoch seconds; DynamoDB deletes history items some time after it passes. */
  ttlAttribute: 'expiresAt',
  /** Which kind of item this is: `state`, `transition` or `incident`. */
  entityAttribute: 'entity',
} as const;

/** Attribute names the adapter owns on every item; domain records never use them. */
export const RESERVED_ATTRIBUTES = [
  TABLE.partitionKey,
  TABLE.sortKey,
  TABLE.gsi1.partitionKey,
  TABLE.gsi1.sortKey,
  TABLE.ttlAttribute,
  TABLE.entityAttribute,
] as const;

/** Width of zero-padded sequence numbers in sort keys, so that string order is numeric order. */
export const SEQ_WIDTH = 10;
/** The largest sequence number a sort key can hold. */
export const MAX_SEQ = 10 ** SEQ_WIDTH - 1;
/** The one gsi1 partition: every incident of every site (incidents are rare, so one partition suffices). */
export const INCIDENT_INDEX_PK = 'INCIDENT';

const pad = (seq: number) => String(seq).padStart(SEQ_WIDTH, '0');

/**
 * The partition key prefix of item families that functions are held to by IAM's `dynamodb:LeadingKeys`
 * (infra/constructs/agent-gateway.ts): each family's keys are written from its prefix here.
 */
export const PARTITION = {
  site: 'SITE#',
  agent: 'AGENT#',
  replay: 'REPLAY#',
  history: 'HISTORY#',
  maintenance: 'MAINTENANCE#',
  /** The one fleet item of the mass-failover brake (a key, not a prefix). */
  fleet: 'FLEET',
} as const;

/** Key values of each item kind. */
export const keys = {
  site: (site: string) => `${PARTITION.site}${site}`,
  stateSk: 'STATE',
  transitionSk: (seq: number) => `TRANSITION#${pad(seq)}`,
  transitionPrefix: 'TRANSITION#',
  incidentSk: (openedSeq: number) => `INCIDENT#${pad(openedSeq)}`,
  incidentPrefix: 'INCIDENT#',
  appliedSk: (actionId: string) => `APPLIED#${actionId}`,
  /** The mass-failover brake's one fleet item (docs/state.md): outside every site's partition. */
  fleetPk: PARTITION.fleet,
  fleetBrakeSk: 'BRAKE',
  /** gsi1 sort key of an incident: ISO time first, so string order is time order; the id breaks ties. */
  incidentIndexSk: (openedAt: number, id: string) => `${new Date(openedAt).toISOString()}#${id}`,
} as const;

/** The CreateTable request of the failover table (on-demand billing; TTL is enabled separately, see docs/state.md). */
export function createTableInput(tableName: string): CreateTableCommandInput & { TableName: string } {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: TABLE.gsi1.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.gsi1.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.gsi1.name,
        KeySchema: [
          { AttributeName: TABLE.gsi1.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.gsi1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/**
 * Creates the failover table (an existing one is accepted as is) and waits until it and its index are ACTIVE.
 * For emulators and tests; in AWS the CDK stack owns the table.
 */
export async function createTable(client: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 500)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const ready =
      Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${timeoutMs} ms`);
    await sleep(delay);
  }
}
