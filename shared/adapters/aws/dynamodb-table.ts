import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DeleteCommandInput,
  type GetCommandInput,
  type PutCommandInput,
  type PutCommandOutput,
  type QueryCommandInput,
  type QueryCommandOutput,
  type TranslateConfig,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod/mini';
import { FailoverError } from '../../errors.ts';
import { BadCursorError, StoreUnavailableError } from '../../ports/state-store.ts';
import { isTransientAwsError } from './sdk-errors.ts';
import { RESERVED_ATTRIBUTES } from './table.ts';

/** A store on the table failed in a way retrying will not fix (validation, permissions, a missing table, a bad item). */
export class StateStoreError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_ERROR', message, options);
    this.name = 'StateStoreError';
  }
}

/** How the document client (un)marshalls: optional fields left undefined are dropped, numbers come back as numbers. */
export const DOCUMENT_TRANSLATION: TranslateConfig = {
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  unmarshallOptions: { wrapNumbers: false },
};

/** A document client configured as the stores expect (see DOCUMENT_TRANSLATION). */
export function createDocumentClient(
  config: ConstructorParameters<typeof DynamoDBClient>[0] = {},
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), DOCUMENT_TRANSLATION);
}

export type Item = Record<string, unknown>;
export type Key = Record<string, string>;
type Input<T> = Omit<T, 'TableName'>;
type Conditional<T> = Input<T> & { ConditionExpression: string };

const RETRY_LATER = [
  'ProvisionedThroughputExceededException',
  // A multi-Region strongly consistent table refused a write that raced one in another Region.
  'ReplicatedWriteConflictException',
];

/** Whether retrying a DynamoDB call later may help: throttling, a 5xx answer, a network failure or a timeout. */
export function isUnavailable(error: unknown): boolean {
  return isTransientAwsError(error, RETRY_LATER);
}

function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

export interface DynamoTableOptions {
  readonly tableName: string;
  /** @default a client for the function's region (see createDocumentClient) */
  readonly client?: DynamoDBDocumentClient;
  /** What the store keeps (`an API key`), named in error messages. */
  readonly subject?: string;
  /** The store's own error for a failure a retry will not fix. @default StateStoreError */
  readonly permanent?: (message: string, cause: unknown) => FailoverError;
}

/**
 * The failover table as every store uses it: one client, one table name, and one error family. A call that fails in a
 * way a retry may fix throws StoreUnavailableError (a TransientError: 503 at the HTTP edges), any other failure the
 * store's permanent error; a conditional write answers false when its condition fails.
 */
export class DynamoTable {
  readonly name: string;
  readonly client: DynamoDBDocumentClient;
  readonly #subject: string | undefined;
  readonly #permanent: (message: string, cause: unknown) => FailoverError;

  constructor(options: DynamoTableOptions) {
    this.name = options.tableName;
    this.client = options.client ?? createDocumentClient();
    this.#subject = options.subject;
    this.#permanent = options.permanent ?? ((message, cause) => new StateStoreError(message, { cause }));
  }

  /** Runs one DynamoDB call; its failure is thrown as {@link error}. */
  async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.error(error, operation);
    }
  }

  /** A failed DynamoDB call as the stores' error: StoreUnavailableError when a retry may help, else the permanent one. */
  error(error: unknown, operation: string): FailoverError {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const subject = this.#subject ? ` of ${this.#subject}` : '';
    const message = `DynamoDB ${operation}${subject} on table ${this.name} failed: ${detail}`;
    return isUnavailable(error)
      ? new StoreUnavailableError(message, { cause: error })
      : this.#permanent(message, error);
  }

  async get(
    key: Key,
    options: Omit<Input<GetCommandInput>, 'Key'> = { ConsistentRead: true },
  ): Promise<Item | undefined> {
    const out = await this.call('GetItem', () =>
      this.client.send(new GetCommand({ TableName: this.name, Key: key, ...options })),
    );
    return out.Item;
  }

  put(input: Input<PutCommandInput>): Promise<PutCommandOutput> {
    return this.call('PutItem', () => this.client.send(new PutCommand({ TableName: this.name, ...input })));
  }

  /**
   * A conditional put: true when it was made; when its condition failed, false, or the error `conflict` makes of the
   * SDK's ConditionalCheckFailedException.
   */
  putIf(input: Conditional<PutCommandInput>, conflict?: (cause: unknown) => Error): Promise<boolean> {
    return this.#conditional(
      'PutItem',
      () => this.client.send(new PutCommand({ TableName: this.name, ...input })),
      conflict,
    );
  }

  /** A conditional update, as {@link putIf}. */
  updateIf(input: Conditional<UpdateCommandInput>, conflict?: (cause: unknown) => Error): Promise<boolean> {
    return this.#conditional(
      'UpdateItem',
      () => this.client.send(new UpdateCommand({ TableName: this.name, ...input })),
      conflict,
    );
  }

  /** A conditional update that answers the item as it is after it (ALL_NEW), or null when its condition failed. */
  async updateIfReturning(input: Omit<Conditional<UpdateCommandInput>, 'ReturnValues'>): Promise<Item | null> {
    let updated: Item | undefined;
    const done = await this.#conditional('UpdateItem', async () => {
      const out = await this.client.send(
        new UpdateCommand({ TableName: this.name, ...input, ReturnValues: 'ALL_NEW' }),
      );
      updated = out.Attributes;
    });
    return done && updated ? updated : null;
  }

  /** A conditional delete, as {@link putIf} without a conflict error. */
  deleteIf(input: Conditional<DeleteCommandInput>): Promise<boolean> {
    return this.#conditional('DeleteItem', () =>
      this.client.send(new DeleteCommand({ TableName: this.name, ...input })),
    );
  }

  query(input: Input<QueryCommandInput>): Promise<QueryCommandOutput> {
    return this.call('Query', () => this.client.send(new QueryCommand({ TableName: this.name, ...input })));
  }

  /** Every item a Query finds, following LastEvaluatedKey to the end. */
  async queryAll(input: Omit<Input<QueryCommandInput>, 'ExclusiveStartKey'>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.query({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) });
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * One page of `limit` items of a Query, newest first, after `start`. With a FilterExpression, Limit counts items
   * read, not items kept: it reads on until one more than a page is kept, or the end. `next` is the page's last item
   * when there is more (make the next cursor from its keys with {@link encodeCursor}).
   */
  async queryPage(
    input: Omit<Input<QueryCommandInput>, 'Limit' | 'ExclusiveStartKey' | 'ScanIndexForward'>,
    limit: number,
    start: Key | undefined,
  ): Promise<{ items: Item[]; next: Item | undefined }> {
    const found: Item[] = [];
    let from: Item | undefined = start;
    do {
      const wanted = limit + 1 - found.length;
      const out = await this.query({
        ...input,
        ScanIndexForward: false,
        Limit: input.FilterExpression ? Math.max(wanted, 50) : wanted,
        ...(from ? { ExclusiveStartKey: from } : {}),
      });
      found.push(...(out.Items ?? []));
      from = out.LastEvaluatedKey;
    } while (from && found.length <= limit);
    const items = found.slice(0, limit);
    return { items, next: found.length > limit ? items.at(-1) : undefined };
  }

  /** An item read back as the record `schema` describes, without the table's own attributes; a mismatch is an error. */
  decode<S extends z.ZodMiniType>(schema: S, item: Item, what: string): z.output<S> {
    const record = withoutKeys(item);
    const parsed = schema.safeParse(record);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw this.#permanent(
      `${what} in table ${this.name} does not decode${at}: ${issue?.message ?? 'invalid'}`,
      parsed.error,
    );
  }

  async #conditional(
    operation: string,
    run: () => Promise<unknown>,
    conflict?: (cause: unknown) => Error,
  ): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (error) {
      if (isConditionFailed(error)) {
        if (conflict) throw conflict(error);
        return false;
      }
      throw this.error(error, operation);
    }
  }
}

/** A copy of an item without the attributes the adapter owns (keys, TTL, entity). */
export function withoutKeys(item: Item): Item {
  const record = { ...item };
  for (const name of RESERVED_ATTRIBUTES) delete record[name];
  return record;
}

/** The opaque cursor of a page: the named key attributes of its last item, as base64url JSON. */
export function encodeCursor(item: Item, keyNames: readonly string[]): string {
  const key: Item = {};
  for (const name of keyNames) key[name] = item[name];
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The key in a cursor made by {@link encodeCursor} with the same names: BadCursorError unless it is exactly such a
 * key (string values, no other field, canonical encoding) and `belongs` accepts it for this query.
 */
export function decodeCursor(
  cursor: string,
  keyNames: readonly string[],
  belongs: (key: Key) => boolean,
  foreign = 'cursor does not belong to this query',
): Key {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new BadCursorError('malformed cursor', { cause: error });
  }
  const valid =
    typeof key === 'object' &&
    key !== null &&
    !Array.isArray(key) &&
    Object.keys(key).length === keyNames.length &&
    keyNames.every((name) => typeof (key as Item)[name] === 'string') &&
    encodeCursor(key as Item, keyNames) === cursor;
  if (!valid) throw new BadCursorError('malformed cursor');
  if (!belongs(key as Key)) throw new BadCursorError(foreign);
  return key as Key;
}
