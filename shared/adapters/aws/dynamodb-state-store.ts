import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DynamoDBDocumentClient, PutCommandInput, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { EMPTY_FLEET_BRAKE, type BrakeRelease, type FleetBrake } from '../../domain/brake.ts';
import type { IncidentRecord, SiteState, Transition } from '../../domain/model.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import { FleetBrakeConflictError, VersionConflictError, type Page, type StateStore } from '../../ports/state-store.ts';
import { IncidentItem, TransitionItem } from './dynamodb-records.ts';
import { decodeCursor, DynamoTable, encodeCursor, StateStoreError, type Item, type Key } from './dynamodb-table.ts';
import type { RESERVED_ATTRIBUTES } from './table.ts';
import { INCIDENT_INDEX_PK, keys, MAX_SEQ, TABLE } from './table.ts';

export { createDocumentClient, DOCUMENT_TRANSLATION, isUnavailable, StateStoreError } from './dynamodb-table.ts';

export interface DynamoDbStateStoreOptions {
  readonly tableName: string;
  /** @default a client for the function's region, made once (see createDocumentClient) */
  readonly client?: DynamoDBDocumentClient;
  /** How long transitions and incident snapshots are kept after their last write (TTL). @default 180 */
  readonly historyRetentionDays?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A compressed state larger than this is refused: the item must stay well under DynamoDB's 400 KB. */
export const MAX_STATE_BYTES = 350 * 1024;

/** Incidents per page when the query names no limit. */
export const DEFAULT_INCIDENT_LIMIT = 50;
/** The largest page of incidents; a larger limit is lowered to it. */
export const MAX_INCIDENT_LIMIT = 200;

// A domain field named like a key attribute would be silently overwritten: make that a compile error.
type Collision = Extract<
  keyof SiteState | keyof Transition | keyof IncidentRecord,
  (typeof RESERVED_ATTRIBUTES)[number]
>;
const _noCollision: [Collision] extends [never] ? true : never = true;

/**
 * The StateStore on one DynamoDB table (layout in table.ts and docs/state.md). Every write is a single-item
 * conditional Put: the state item carries its version, so racing deciders cannot both win. SDK errors never leave
 * this class: they become VersionConflictError, StoreUnavailableError or StateStoreError, with the SDK error as cause.
 */
export class DynamoDbStateStore implements StateStore {
  readonly #table: DynamoTable;
  readonly #retentionSeconds: number;
  readonly #clock: Clock;

  constructor(options: DynamoDbStateStoreOptions) {
    this.#table = new DynamoTable({
      tableName: options.tableName,
      ...(options.client ? { client: options.client } : {}),
    });
    this.#retentionSeconds = Math.round((options.historyRetentionDays ?? 180) * 86_400);
    this.#clock = options.clock ?? systemClock;
  }

  async load(site: string): Promise<SiteState | null> {
    assertSite(site);
    const item = await this.#table.get(stateKey(site));
    return item ? decodeState(item) : null;
  }

  async save(state: SiteState, expectedVersion: number | null): Promise<void> {
    assertSite(state.site);
    if (state.version !== (expectedVersion ?? 0) + 1) {
      throw new RangeError(
        `state of site ${state.site} has version ${state.version}; saving over ${expectedVersion ?? 'nothing'} needs ${(expectedVersion ?? 0) + 1}`,
      );
    }
    const condition = versionCondition(expectedVersion);
    const item = { ...encodeState(state), ...stateKey(state.site), [TABLE.entityAttribute]: 'state' };
    await this.#table.putIf(
      { Item: item, ...condition },
      (cause) => new VersionConflictError(state.site, expectedVersion, { cause }),
    );
  }

  async loadFleetBrake(): Promise<{ brake: FleetBrake; version: number } | null> {
    const item = await this.#table.get(FLEET_BRAKE_KEY);
    if (!item) return null;
    const version = typeof item.version === 'number' && Number.isInteger(item.version) ? item.version : 0;
    return { brake: decodeFleetBrake(item) ?? EMPTY_FLEET_BRAKE, version };
  }

  async saveFleetBrake(brake: FleetBrake, expectedVersion: number | null): Promise<void> {
    const item = {
      ...FLEET_BRAKE_KEY,
      [TABLE.entityAttribute]: 'fleet-brake',
      version: (expectedVersion ?? 0) + 1,
      // For people reading the table; the rule reads `data`.
      sites: Object.keys(brake.entries).length,
      engagement: brake.engagement?.id ?? null,
      updatedAt: brake.updatedAt,
      data: deflateRawSync(Buffer.from(JSON.stringify(brake))),
    };
    const condition = versionCondition(expectedVersion);
    await this.#table.putIf(
      { Item: item, ...condition },
      (cause) => new FleetBrakeConflictError(expectedVersion, { cause }),
    );
  }

  async markApplied(site: string, actionId: string, days = 7): Promise<void> {
    assertSite(site);
    const item = {
      [TABLE.partitionKey]: keys.site(site),
      [TABLE.sortKey]: keys.appliedSk(actionId),
      [TABLE.entityAttribute]: 'applied',
      [TABLE.ttlAttribute]: Math.floor(this.#clock.now() / 1000) + Math.round(days * 86_400),
    };
    await this.#table.put({ Item: item });
  }

  async wasApplied(site: string, actionId: string): Promise<boolean> {
    assertSite(site);
    const item = await this.#table.get(
      { [TABLE.partitionKey]: keys.site(site), [TABLE.sortKey]: keys.appliedSk(actionId) },
      { ConsistentRead: true, ProjectionExpression: '#sk', ExpressionAttributeNames: { '#sk': TABLE.sortKey } },
    );
    return item !== undefined;
  }

  async putHistory(
    records: readonly (
      { type: 'transition'; transition: Transition } | { type: 'incident'; incident: IncidentRecord }
    )[],
  ): Promise<void> {
    const expiresAt = Math.floor(this.#clock.now() / 1000) + this.#retentionSeconds;
    const results = await Promise.allSettled(
      records.map((record) =>
        record.type === 'transition'
          ? this.#putTransition(record.transition, expiresAt)
          : this.#putIncident(record.incident, expiresAt),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async listTransitions(
    site: string,
    range: { fromSeq?: number; toSeq?: number; limit?: number } = {},
  ): Promise<Transition[]> {
    assertSite(site);
    const from = Math.max(0, Math.ceil(finite(range.fromSeq ?? 0, 'fromSeq')));
    const to = Math.min(MAX_SEQ, Math.floor(finite(range.toSeq ?? MAX_SEQ, 'toSeq')));
    const limit = range.limit === undefined ? Infinity : Math.floor(finite(range.limit, 'limit'));
    const transitions: Transition[] = [];
    if (from > to || limit < 1) return transitions;
    let start: Item | undefined;
    do {
      const out = await this.#table.query({
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#sk': TABLE.sortKey },
        ExpressionAttributeValues: {
          ':pk': keys.site(site),
          ':from': keys.transitionSk(from),
          ':to': keys.transitionSk(to),
        },
        ConsistentRead: true,
        ...(limit === Infinity ? {} : { Limit: limit - transitions.length }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      for (const item of out.Items ?? []) transitions.push(this.#table.decode(TransitionItem, item, 'a transition'));
      start = out.LastEvaluatedKey;
    } while (start && transitions.length < limit);
    return transitions;
  }

  async getIncident(id: string): Promise<IncidentRecord | null> {
    const parsed = parseIncidentId(id);
    if (!parsed) return null;
    const item = await this.#table.get({
      [TABLE.partitionKey]: keys.site(parsed.site),
      [TABLE.sortKey]: keys.incidentSk(parsed.openedSeq),
    });
    return item ? this.#table.decode(IncidentItem, item, 'an incident') : null;
  }

  async listIncidents(query: {
    site?: string;
    status?: IncidentRecord['status'];
    since?: number;
    limit?: number;
    cursor?: string;
  }): Promise<Page<IncidentRecord>> {
    const limit = Math.min(
      MAX_INCIDENT_LIMIT,
      Math.max(1, Math.floor(finite(query.limit ?? DEFAULT_INCIDENT_LIMIT, 'limit'))),
    );
    const since = query.since === undefined ? undefined : finite(query.since, 'since');
    const sinceSk = since === undefined || query.site !== undefined ? undefined : new Date(since).toISOString();
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const filters: string[] = [];
    if (query.status !== undefined) {
      names['#status'] = 'status';
      values[':status'] = query.status;
      filters.push('#status = :status');
    }
    let base: Omit<QueryCommandInput, 'TableName'>;
    let keyNames: readonly string[];
    if (query.site !== undefined) {
      assertSite(query.site);
      names['#pk'] = TABLE.partitionKey;
      names['#sk'] = TABLE.sortKey;
      values[':pk'] = keys.site(query.site);
      values[':prefix'] = keys.incidentPrefix;
      if (since !== undefined) {
        names['#openedAt'] = 'openedAt';
        values[':since'] = since;
        filters.push('#openedAt >= :since');
      }
      base = { KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)', ConsistentRead: true };
      keyNames = [TABLE.partitionKey, TABLE.sortKey];
    } else {
      names['#gpk'] = TABLE.gsi1.partitionKey;
      values[':gpk'] = INCIDENT_INDEX_PK;
      let condition = '#gpk = :gpk';
      if (sinceSk !== undefined) {
        names['#gsk'] = TABLE.gsi1.sortKey;
        values[':since'] = sinceSk;
        condition += ' AND #gsk >= :since';
      }
      base = { IndexName: TABLE.gsi1.name, KeyConditionExpression: condition };
      keyNames = [TABLE.partitionKey, TABLE.sortKey, TABLE.gsi1.partitionKey, TABLE.gsi1.sortKey];
    }
    const start =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, keyNames, incidentCursorOf(query.site, sinceSk));
    const { items, next } = await this.#table.queryPage(
      {
        ...base,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      limit,
      start,
    );
    return {
      items: items.map((item) => this.#table.decode(IncidentItem, item, 'an incident')),
      ...(next ? { cursor: encodeCursor(next, keyNames) } : {}),
    };
  }

  async #putTransition(transition: Transition, expiresAt: number): Promise<void> {
    assertSite(transition.site);
    assertSeq(transition.seq, 'transition seq');
    const item = {
      ...(plain(transition) as Item),
      [TABLE.partitionKey]: keys.site(transition.site),
      [TABLE.sortKey]: keys.transitionSk(transition.seq),
      [TABLE.entityAttribute]: 'transition',
      [TABLE.ttlAttribute]: expiresAt,
    };
    await this.#table.put({ Item: item });
  }

  async #putIncident(incident: IncidentRecord, expiresAt: number): Promise<void> {
    assertSite(incident.site);
    assertSeq(incident.openedSeq, 'incident openedSeq');
    if (incident.id !== incidentId(incident.site, incident.openedSeq)) {
      throw new RangeError(`incident id ${incident.id} is not ${incidentId(incident.site, incident.openedSeq)}`);
    }
    const item = {
      ...(plain(incident) as Item),
      [TABLE.partitionKey]: keys.site(incident.site),
      [TABLE.sortKey]: keys.incidentSk(incident.openedSeq),
      [TABLE.gsi1.partitionKey]: INCIDENT_INDEX_PK,
      [TABLE.gsi1.sortKey]: keys.incidentIndexSk(incident.openedAt, incident.id),
      [TABLE.entityAttribute]: 'incident',
      [TABLE.ttlAttribute]: expiresAt,
    };
    // A stale snapshot (redelivered late) must not replace a newer one; failing that condition is success.
    await this.#table.putIf({
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk) OR #lastSeq <= :lastSeq',
      ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#lastSeq': 'lastSeq' },
      ExpressionAttributeValues: { ':lastSeq': incident.lastSeq },
    });
  }
}

/** The id of the incident opened by transition `openedSeq` of `site`. */
export function incidentId(site: string, openedSeq: number): string {
  return `${site}.${openedSeq}`;
}

/** The site and opening sequence number in an incident id, or null when it is not one this store makes. */
export function parseIncidentId(id: string): { site: string; openedSeq: number } | null {
  const match = /^([^.#]+)\.(0|[1-9]\d*)$/.exec(id);
  if (!match) return null;
  const openedSeq = Number(match[2]);
  return openedSeq <= MAX_SEQ ? { site: match[1]!, openedSeq } : null;
}

/** The condition of a versioned item's next write: none stored yet, or still at `expected`. */
function versionCondition(
  expected: number | null,
): Pick<PutCommandInput, 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> & { ConditionExpression: string } {
  return expected === null
    ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE.partitionKey } }
    : {
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expected },
      };
}

const FLEET_BRAKE_KEY: Key = { [TABLE.partitionKey]: keys.fleetPk, [TABLE.sortKey]: keys.fleetBrakeSk };

/** The fleet item's brake, or null when its data is not one (then it reads as empty and the next write replaces it). */
function decodeFleetBrake(item: Item): FleetBrake | null {
  try {
    if (!(item.data instanceof Uint8Array)) return null;
    const data = JSON.parse(inflateRawSync(item.data).toString('utf8')) as Partial<FleetBrake>;
    const entries = data.entries;
    const engagement = data.engagement;
    const entriesOk =
      entries !== null &&
      typeof entries === 'object' &&
      Object.values(entries).every((at) => typeof at === 'number' && Number.isFinite(at));
    const engagementOk =
      engagement === null ||
      (typeof engagement === 'object' &&
        typeof engagement?.id === 'string' &&
        typeof engagement.since === 'number' &&
        typeof engagement.announcer === 'string');
    if (data.v !== 1 || !entriesOk || !engagementOk) return null;
    const brake = {
      v: 1,
      entries: entries!,
      engagement: engagement ?? null,
      updatedAt: Number(data.updatedAt) || 0,
    } as const;
    return data.release === undefined ? brake : { ...brake, release: releaseOf(data.release) };
  } catch {
    return null;
  }
}

/** The latest operator's release, or null when there is none or it does not decode (the window is kept either way). */
function releaseOf(value: unknown): BrakeRelease | null {
  if (value === null || typeof value !== 'object') return null;
  const r = value as Record<string, unknown>;
  const ok =
    typeof r.engagement === 'string' &&
    typeof r.by === 'string' &&
    typeof r.reason === 'string' &&
    typeof r.at === 'number' &&
    typeof r.until === 'number';
  return ok ? (r as unknown as BrakeRelease) : null;
}

const stateKey = (site: string): Key => ({ [TABLE.partitionKey]: keys.site(site), [TABLE.sortKey]: keys.stateSk });

/**
 * The state item: the whole SiteState as deflated JSON in `data` (the decider always reads and writes it whole, and
 * write units are billed per KB), with `version` beside it for the condition and a few fields for people reading
 * the table.
 */
function encodeState(state: SiteState): Item {
  const data = deflateRawSync(Buffer.from(JSON.stringify(state)));
  if (data.length > MAX_STATE_BYTES) {
    throw new StateStoreError(
      `state of site ${state.site} is ${data.length} bytes compressed, over ${MAX_STATE_BYTES}`,
    );
  }
  return {
    version: state.version,
    // Actions waiting for the dispatcher: the table's stream triggers it on states where this is above zero.
    pending: state.outbox.filter((a) => a.kind !== 'history').length,
    mode: state.mode,
    activeLink: state.activeLink,
    updatedAt: state.updatedAt,
    data,
  };
}

function decodeState(item: Item): SiteState {
  const data = item.data;
  if (!(data instanceof Uint8Array)) throw new StateStoreError(`state item ${String(item[TABLE.sortKey])} has no data`);
  return JSON.parse(inflateRawSync(data).toString('utf8')) as SiteState;
}

/** DynamoDB refuses a map or list nested deeper than this below the item (dynalite accepts it). */
const MAX_CONTAINER_DEPTH = 31;
const MAX_NAME_BYTES = 65_535;

/**
 * A copy without undefined object fields, whatever the injected client's marshalling options. It refuses what
 * DynamoDB refuses but dynalite accepts (empty or over-long attribute names, too deep nesting), so that the local
 * runtime fails the way production would.
 */
function plain(value: unknown, depth = 0, path = ''): unknown {
  const isArray = Array.isArray(value);
  const isMap =
    !isArray && value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
  if (!isArray && !isMap) return value;
  if (depth > MAX_CONTAINER_DEPTH) throw new StateStoreError(`${path} is nested deeper than DynamoDB allows`);
  if (isArray) return (value as unknown[]).map((v, i) => plain(v, depth + 1, `${path}[${i}]`));
  const copy: Item = {};
  for (const [name, field] of Object.entries(value as Item)) {
    if (field === undefined) continue;
    if (name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES) {
      throw new StateStoreError(`${path || 'item'} has an attribute name DynamoDB refuses: "${name.slice(0, 40)}"`);
    }
    copy[name] = plain(field, depth + 1, path ? `${path}.${name}` : name);
  }
  return copy;
}

function assertSite(site: string): void {
  if (typeof site !== 'string' || !/^[^.#]+$/.test(site)) throw new RangeError(`not a site id: ${String(site)}`);
}

function assertSeq(seq: number, what: string): void {
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new RangeError(`${what} out of range: ${seq}`);
}

function finite(value: number, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`${what} is not a number: ${value}`);
  return value;
}

/** Whether a cursor's key is an incident of this query's site (any site's, on the index, at or after `sinceSk`). */
function incidentCursorOf(site: string | undefined, sinceSk: string | undefined): (k: Key) => boolean {
  return (k) =>
    (site === undefined ? k[TABLE.partitionKey]!.startsWith('SITE#') : k[TABLE.partitionKey] === keys.site(site)) &&
    k[TABLE.sortKey]!.startsWith(keys.incidentPrefix) &&
    (site !== undefined ||
      (k[TABLE.gsi1.partitionKey] === INCIDENT_INDEX_PK &&
        (sinceSk === undefined || k[TABLE.gsi1.sortKey]! >= sinceSk)));
}
