import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDocumentClient,
  DynamoDbStateStore,
  StateStoreError,
} from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { FailoverError } from '../../shared/errors.ts';
import { StoreUnavailableError, VersionConflictError } from '../../shared/ports/state-store.ts';
import { listenTcp } from '../support/ports.ts';
import { sampleIncident, sampleState, sampleTransition } from './state-store.contract.ts';

const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const store = () =>
  new DynamoDbStateStore({ tableName: 't', client: createDocumentClient({ region: 'us-east-1', maxAttempts: 1 }) });

/** The adapter's answer to `error` from the SDK, on load (GetItem). */
async function loadFailure(error: Error): Promise<unknown> {
  ddb.on(GetCommand).rejects(error);
  return store()
    .load('site-a')
    .then(
      () => expect.unreachable('load succeeded'),
      (e: unknown) => e,
    );
}

describe('DynamoDbStateStore error mapping', () => {
  const unavailable: [string, () => Error][] = [
    [
      'ProvisionedThroughputExceededException',
      () => new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) }),
    ],
    ['ThrottlingException', () => new ThrottlingException({ message: 'slow down', ...meta(400) })],
    ['RequestLimitExceeded', () => new RequestLimitExceeded({ message: 'account limit', ...meta(400) })],
    ['InternalServerError', () => new InternalServerError({ message: 'oops', ...meta(500) })],
    [
      'an unmodelled 503',
      () =>
        new DynamoDBServiceException({ name: 'ServiceUnavailable', $fault: 'server', message: 'busy', ...meta(503) }),
    ],
    ['ECONNRESET', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a request timeout', () => Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ];
  it.each(unavailable)('maps %s to StoreUnavailableError, keeping the cause', async (_, make) => {
    const cause = make();
    const error = await loadFailure(cause);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', cause });
  });

  const permanent: [string, () => Error][] = [
    [
      'ValidationException',
      () =>
        new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', message: 'bad', ...meta(400) }),
    ],
    ['ResourceNotFoundException', () => new ResourceNotFoundException({ message: 'no table', ...meta(400) })],
    [
      'AccessDeniedException',
      () =>
        new DynamoDBServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'no', ...meta(400) }),
    ],
    ['a plain Error', () => new Error('something else')],
  ];
  it.each(permanent)('maps %s to STORE_ERROR, keeping the cause', async (_, make) => {
    const cause = make();
    const error = await loadFailure(cause);
    expect(error).toBeInstanceOf(StateStoreError);
    expect(error).toBeInstanceOf(FailoverError);
    expect(error).toMatchObject({ code: 'STORE_ERROR', cause });
    expect((error as Error).message).toContain(cause.message);
  });

  it('maps a failed save condition to VersionConflictError with the cause, and throttling to unavailable', async () => {
    const conflict = new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta(400) });
    ddb
      .on(PutCommand)
      .rejectsOnce(conflict)
      .rejectsOnce(new ThrottlingException({ message: 'slow', ...meta(400) }));
    const error = await store()
      .save(sampleState('site-a', 3), 2)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ code: 'VERSION_CONFLICT', cause: conflict });
    await expect(store().save(sampleState('site-a', 3), 2)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('sends the version condition it promises', async () => {
    ddb.on(PutCommand).resolves({});
    await store().save(sampleState('site-a', 1), null);
    await store().save(sampleState('site-a', 8), 7);
    const [create, update] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(create).toMatchObject({ ConditionExpression: 'attribute_not_exists(#pk)' });
    expect(update).toMatchObject({
      ConditionExpression: '#version = :expected',
      ExpressionAttributeValues: { ':expected': 7 },
      Item: { pk: 'SITE#site-a', sk: 'STATE', version: 8 },
    });
  });

  it('treats a failed incident condition as an older snapshot (success), other history errors as failures', async () => {
    ddb
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'newer stored', ...meta(400) }))
      .rejectsOnce(new ThrottlingException({ message: 'slow', ...meta(400) }));
    await store().putHistory([{ type: 'incident', incident: sampleIncident('site-a', 1, 0) }]);
    await expect(
      store().putHistory([{ type: 'transition', transition: sampleTransition('site-a', 1) }]),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('maps query failures, and never lets a raw SDK error out', async () => {
    ddb.on(QueryCommand).rejects(new ProvisionedThroughputExceededException({ message: 'hot', ...meta(400) }));
    await expect(store().listTransitions('site-a')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store().listIncidents({})).rejects.toBeInstanceOf(StoreUnavailableError);
    ddb.on(GetCommand).rejects(new ResourceNotFoundException({ message: 'no table', ...meta(400) }));
    await expect(store().getIncident('site-a.1')).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });

  it('refuses a state whose version is not expected + 1 without calling DynamoDB', async () => {
    await expect(store().save(sampleState('site-a', 5), 3)).rejects.toThrow(RangeError);
    await expect(store().save(sampleState('site-a', 2), null)).rejects.toThrow(RangeError);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });
});

describe('DynamoDbStateStore against an endpoint that is not there', () => {
  it('reports a refused connection as StoreUnavailableError', async () => {
    ddb.restore();
    const server = await listenTcp();
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const client = createDocumentClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const error = await new DynamoDbStateStore({ tableName: 't', client }).load('site-a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});
