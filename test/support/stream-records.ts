import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { DynamoDBClient, GetItemCommand, type AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { keys, TABLE } from '../../shared/adapters/aws/table.ts';

/** The stream ARN test records claim to come from. */
export const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/failover-state/stream/2026-01-01T00:00:00.000';

/** A site's state item exactly as DynamoDB stores it (typed attribute values), read from `endpoint`. */
export async function rawStateItem(
  endpoint: string,
  tableName: string,
  site: string,
): Promise<Record<string, SdkAttributeValue>> {
  const item = await findRawStateItem(endpoint, tableName, site);
  if (!item) throw new Error(`no state item for site ${site}`);
  return item;
}

/** {@link rawStateItem}, or undefined when the site has no state item yet. */
export async function findRawStateItem(
  endpoint: string,
  tableName: string,
  site: string,
): Promise<Record<string, SdkAttributeValue> | undefined> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const out = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { [TABLE.partitionKey]: { S: keys.site(site) }, [TABLE.sortKey]: { S: keys.stateSk } },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  } finally {
    client.destroy();
  }
}

/**
 * The state items' stream as an event source reads it, for tables without a stream API (dynalite): each read
 * yields a record (INSERT, then MODIFY) for every site whose state item has a new image since the last read, with
 * rising sequence numbers. Writes between two reads come as one record of the latest image, as a stream batch
 * would end with it; the dispatcher reads the site's current state anyway.
 */
export class StateItemStream {
  readonly #images = new Map<string, string>();
  #sequence = 1000;

  constructor(
    readonly endpoint: string,
    readonly tableName: string,
  ) {}

  async read(sites: readonly string[]): Promise<DynamoDBRecord[]> {
    const records: DynamoDBRecord[] = [];
    for (const site of sites) {
      const item = await findRawStateItem(this.endpoint, this.tableName, site);
      if (!item) continue;
      const image = JSON.stringify(item);
      const before = this.#images.get(site);
      if (image === before) continue;
      this.#images.set(site, image);
      records.push(streamRecord(item, String(this.#sequence++), before === undefined ? 'INSERT' : 'MODIFY'));
    }
    return records;
  }
}

/** An SDK attribute value as a stream event's JSON carries it: binary as base64. */
function asStreamValue(value: SdkAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.M !== undefined)
    return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, asStreamValue(v)])) };
  if (value.L !== undefined) return { L: value.L.map(asStreamValue) };
  return value as AttributeValue;
}

/** A DynamoDB stream record (view type NEW_IMAGE) of `image`, as Lambda's event source mapping delivers it. */
export function streamRecord(
  image: Record<string, SdkAttributeValue>,
  sequenceNumber: string,
  eventName: 'INSERT' | 'MODIFY' = 'MODIFY',
): DynamoDBRecord {
  const newImage = Object.fromEntries(Object.entries(image).map(([k, v]) => [k, asStreamValue(v)]));
  return {
    eventID: randomUUID().replaceAll('-', ''),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: {
        [TABLE.partitionKey]: newImage[TABLE.partitionKey]!,
        [TABLE.sortKey]: newImage[TABLE.sortKey]!,
      },
      NewImage: newImage,
      SequenceNumber: sequenceNumber,
      SizeBytes: 512,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: STREAM_ARN,
  };
}

/**
 * Whether `record` matches a Lambda filter `pattern`, for the two operators our patterns use: a list of exact
 * strings, and `anything-but` (which, like every operator but `exists: false`, needs the field to be present).
 */
export function matchesFilter(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    if (typeof value !== 'string') return false;
    return pattern.some((rule: unknown) => {
      if (typeof rule === 'string') return rule === value;
      const but = (rule as { 'anything-but'?: readonly string[] })['anything-but'];
      if (but) return !but.includes(value);
      throw new Error(`filter rule not supported here: ${JSON.stringify(rule)}`);
    });
  }
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern as Record<string, unknown>).every(([key, sub]) =>
    matchesFilter(sub, (value as Record<string, unknown>)[key]),
  );
}
