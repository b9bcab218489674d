import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emptyModes, emptyTally, type CheckTally, type ModeTally, type Rollup } from '../../domain/history.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { FoldMark, Granularity, HistoryStore } from '../../ports/history-store.ts';
import { HISTORY_RETENTION_MS } from '../../usecases/history/fold-history.ts';
import { DynamoTable, type Item } from './dynamodb-table.ts';
import { PARTITION, TABLE } from './table.ts';

const PREFIX: Record<Granularity, string> = { '5m': '5M#', '1h': '1H#', '1d': '1D#' };
const FOLD_SK = 'FOLD';

/** Counter attributes of a check: `<check>|<field>` (check ids hold no `|`). */
const FIELD: Record<Exclude<keyof CheckTally, 'histogram'>, string> = {
  up: 'u',
  degraded: 'g',
  down: 'd',
  skipped: 's',
  latencyCount: 'n',
  latencySumMs: 't',
};
const FIELD_OF = new Map(Object.entries(FIELD).map(([k, v]) => [v, k as keyof typeof FIELD]));
const MODE: Record<keyof ModeTally, string> = { primary: '@p', backup: '@b', bothDown: '@x', maintenance: '@m' };
const MODE_OF = new Map(Object.entries(MODE).map(([k, v]) => [v, k as keyof ModeTally]));
/** Attributes per UpdateItem: keeps the update expression well under DynamoDB's 4 KB. */
const MAX_ATTRIBUTES_PER_UPDATE = 120;

/** A rollup as `[attribute, value]` pairs, zeros left out. */
function attributesOf(r: Rollup): [string, number][] {
  const out: [string, number][] = [];
  for (const [check, t] of Object.entries(r.checks)) {
    for (const [field, short] of Object.entries(FIELD) as [keyof typeof FIELD, string][]) {
      const value = field === 'latencySumMs' ? Math.round(t[field] * 1000) / 1000 : t[field];
      if (value !== 0) out.push([`${check}|${short}`, value]);
    }
    for (const [bucket, n] of Object.entries(t.histogram)) if (n !== 0) out.push([`${check}|h${bucket}`, n]);
  }
  for (const [mode, name] of Object.entries(MODE) as [keyof ModeTally, string][])
    if (r.modes[mode] !== 0) out.push([name, r.modes[mode]]);
  return out;
}

function rollupOf(item: Item): Rollup {
  const checks: Record<string, CheckTally> = {};
  const modes = emptyModes();
  for (const [name, value] of Object.entries(item)) {
    if (typeof value !== 'number') continue;
    const mode = MODE_OF.get(name);
    if (mode) {
      modes[mode] = value;
      continue;
    }
    const bar = name.lastIndexOf('|');
    if (bar <= 0) continue;
    const check = name.slice(0, bar);
    const field = name.slice(bar + 1);
    const tally = (checks[check] ??= emptyTally());
    if (field.startsWith('h')) tally.histogram[Number(field.slice(1))] = value;
    else {
      const key = FIELD_OF.get(field);
      if (key) tally[key] = value;
    }
  }
  return { start: item.start as number, checks, modes };
}

/**
 * HistoryStore on the failover table: one item per site and bucket (`HISTORY#<site>` / `5M#<start ISO>`, `1H#...`,
 * `1D#...`) with one number attribute per counter, and the fold mark (`FOLD`). The decider's adds are one UpdateItem
 * ADD per bucket, whatever the number of checks (up to 120 counters); rows expire by TTL (docs/state.md, "History").
 */
export class DynamoDbHistoryStore implements HistoryStore {
  readonly #table: DynamoTable;
  readonly #clock: Clock;

  constructor(options: { tableName: string; client: DynamoDBDocumentClient; clock?: Clock }) {
    this.#table = new DynamoTable({ tableName: options.tableName, client: options.client, subject: 'history' });
    this.#clock = options.clock ?? systemClock;
  }

  #key(site: string, sk: string) {
    return { [TABLE.partitionKey]: `${PARTITION.history}${site}`, [TABLE.sortKey]: sk };
  }

  #expiresAt(granularity: Granularity, start: number): number {
    return Math.floor((start + HISTORY_RETENTION_MS[granularity]) / 1000);
  }

  async add(site: string, delta: Rollup): Promise<void> {
    const attributes = attributesOf(delta);
    for (let i = 0; i === 0 || i < attributes.length; i += MAX_ATTRIBUTES_PER_UPDATE) {
      const chunk = attributes.slice(i, i + MAX_ATTRIBUTES_PER_UPDATE);
      const names: Record<string, string> = { '#e': TABLE.entityAttribute, '#ttl': TABLE.ttlAttribute, '#st': 'start' };
      const values: Record<string, unknown> = {
        ':e': 'history',
        ':ttl': this.#expiresAt('5m', delta.start),
        ':st': delta.start,
      };
      const adds = chunk.map(([name, value], j) => {
        names[`#a${j}`] = name;
        values[`:a${j}`] = value;
        return `#a${j} :a${j}`;
      });
      await this.#table.call('UpdateItem', () =>
        this.#table.client.send(
          new UpdateCommand({
            TableName: this.#table.name,
            Key: this.#key(site, `${PREFIX['5m']}${new Date(delta.start).toISOString()}`),
            UpdateExpression: `SET #e = :e, #ttl = :ttl, #st = :st${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    }
  }

  async put(site: string, granularity: '1h' | '1d', rollup: Rollup): Promise<void> {
    await this.#table.put({
      Item: {
        ...Object.fromEntries(attributesOf(rollup)),
        ...this.#key(site, `${PREFIX[granularity]}${new Date(rollup.start).toISOString()}`),
        [TABLE.entityAttribute]: 'history',
        [TABLE.ttlAttribute]: this.#expiresAt(granularity, rollup.start),
        start: rollup.start,
      },
    });
  }

  async list(site: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Rollup[]> {
    if (toMs <= fromMs) return [];
    const items = await this.#table.queryAll({
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      FilterExpression: '#ttl >= :now',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey, '#ttl': TABLE.ttlAttribute },
      ExpressionAttributeValues: {
        ':pk': `${PARTITION.history}${site}`,
        ':from': `${PREFIX[granularity]}${new Date(fromMs).toISOString()}`,
        ':to': `${PREFIX[granularity]}${new Date(toMs - 1).toISOString()}`,
        ':now': Math.floor(this.#clock.now() / 1000),
      },
    });
    return items.map(rollupOf);
  }

  async foldMark(site: string): Promise<FoldMark | null> {
    const item = await this.#table.get(this.#key(site, FOLD_SK));
    if (!item || typeof item.hourEnd !== 'number' || typeof item.dayEnd !== 'number') return null;
    return { hourEnd: item.hourEnd, dayEnd: item.dayEnd };
  }

  async setFoldMark(site: string, mark: FoldMark): Promise<void> {
    await this.#table.putIf({
      Item: { ...this.#key(site, FOLD_SK), [TABLE.entityAttribute]: 'history-fold', ...mark },
      ConditionExpression: 'attribute_not_exists(#pk) OR hourEnd <= :h',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
      ExpressionAttributeValues: { ':h': mark.hourEnd },
    });
  }
}
