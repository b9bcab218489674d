import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import type { Action, SiteState, Streak } from '../../shared/domain/model.ts';
import { sampleIncident, sampleState, sampleTransition, uniqueSite } from './state-store.contract.ts';

/** DynamoDB's item size rules: names plus values; a number is about 1 byte per 2 significant digits, plus 1. */
export function itemBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[-.]|e.*$/g, '').length / 2) + 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + itemBytes(v), 0);
  const entries = Object.entries(value as Record<string, unknown>);
  return 3 + entries.reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + 1 + itemBytes(v), 0);
}

/**
 * A busy site: `checks` checks x 2 links x 5 vantages of streaks with `detailChars`-long details, and `alerts`
 * alerts of `bodyChars` characters waiting in the outbox.
 */
export function busyState(
  site: string,
  sizes: { checks: number; detailChars: number; alerts: number; bodyChars: number },
): SiteState {
  const base = sampleState(site);
  const streaks: Record<string, Streak> = {};
  const vantages = ['region:eu-west-1', 'region:us-east-1', 'region:ap-southeast-2', 'region:sa-east-1', 'site:agent'];
  for (let c = 0; c < sizes.checks; c++) {
    for (const link of ['fiber', 'lte']) {
      for (const vantage of vantages) {
        streaks[`check-number-${c}|${link}|${vantage}`] = {
          down: 12,
          notUp: 12,
          up: 0,
          lastRound: '2026-01-01T00:00:00.000Z',
          lastAt: 1_767_225_600_000,
          lastOutcome: 'down',
          lastErrorClass: 'timeout',
          // Random, so that it does not compress: sizes measure what the item really holds.
          lastDetail: randomBytes(Math.ceil(sizes.detailChars * 0.75))
            .toString('base64')
            .slice(0, sizes.detailChars),
        };
      }
    }
  }
  const alert = base.outbox[0]!;
  const outbox = Array.from({ length: sizes.alerts }, (_, n) => ({
    ...alert,
    id: `${site}:7:${n}`,
    body: randomBytes(Math.ceil(sizes.bodyChars * 0.75))
      .toString('base64')
      .slice(0, sizes.bodyChars),
  }));
  return { ...base, streaks, outbox };
}

/** Tests of the DynamoDB adapter that look at the table itself, for any DynamoDB-compatible endpoint. */
export function dynamoDbTableSuite(
  name: string,
  connect: () => Promise<{ readonly client: DynamoDBDocumentClient; readonly tableName: string }>,
  /** The endpoint enforces DynamoDB's limits on attribute names and nesting itself (DynamoDB Local; not dynalite). */
  strict: boolean,
): void {
  describe(`DynamoDB table layout: ${name}`, () => {
    let client: DynamoDBDocumentClient;
    let tableName: string;
    beforeAll(async () => {
      ({ client, tableName } = await connect());
    });
    const raw = async (site: string, sk: string) =>
      (await client.send(new GetCommand({ TableName: tableName, Key: { pk: `SITE#${site}`, sk } }))).Item;

    it('stores a busy site of 20 checks x 2 links x 5 vantages under the 400 KB item limit', async () => {
      const store = new DynamoDbStateStore({ tableName, client });
      const site = uniqueSite('big');
      const state = busyState(site, { checks: 20, detailChars: 200, alerts: 10, bodyChars: 4000 });
      expect(Object.keys(state.streaks)).toHaveLength(200);
      expect(itemBytes(state)).toBeGreaterThan(100_000);
      expect(itemBytes(state)).toBeLessThan(200_000);
      await store.save(state, null);
      expect(await store.load(site)).toStrictEqual(state);
    });

    it('refuses a state over 350 KB compressed as STORE_ERROR, storing nothing', async () => {
      const store = new DynamoDbStateStore({ tableName, client });
      const site = uniqueSite('huge');
      const state = busyState(site, { checks: 20, detailChars: 2600, alerts: 0, bodyChars: 0 });
      expect(itemBytes(state)).toBeGreaterThan(400 * 1024);
      await expect(store.save(state, null)).rejects.toMatchObject({ code: 'STORE_ERROR' });
      expect(await store.load(site)).toBeNull();
    });

    it('stores in the state blob what a DynamoDB map could not hold (empty names, deep nesting)', async () => {
      const store = new DynamoDbStateStore({ tableName, client });
      const withData = (site: string, data: Record<string, unknown>): SiteState => {
        const state = sampleState(site);
        return { ...state, outbox: [{ ...state.outbox[1]!, kind: 'webhook', event: 'degraded', data } as Action] };
      };
      const nested = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: nested(levels - 1) });
      for (const data of [{ '': 1 }, { ok: { '': 'x' } }, { deep: nested(40) }]) {
        const site = uniqueSite('blob');
        const state = withData(site, data);
        await store.save(state, null);
        expect(await store.load(site)).toStrictEqual(state);
        if (strict) {
          // The same state written as a map: the endpoint itself refuses it.
          const item = { ...state, pk: `SITE#${site}-map`, sk: 'STATE' };
          await expect(client.send(new PutCommand({ TableName: tableName, Item: item }))).rejects.toMatchObject({
            name: 'ValidationException',
          });
        }
      }
    });

    it('keeps the state compressed beside its version and key, and a TTL only on history items', async () => {
      const now = 1_767_225_600_000;
      const store = new DynamoDbStateStore({ tableName, client, historyRetentionDays: 30, clock: { now: () => now } });
      const site = uniqueSite('layout');
      await store.save(sampleState(site), null);
      await store.putHistory([
        { type: 'transition', transition: sampleTransition(site, 1) },
        { type: 'incident', incident: sampleIncident(site, 1, now) },
      ]);
      const state = await raw(site, 'STATE');
      expect(state).toMatchObject({ pk: `SITE#${site}`, sk: 'STATE', entity: 'state', version: 1 });
      expect(state).toMatchObject({ mode: expect.any(String), activeLink: expect.any(String) });
      expect(state!.data).toBeInstanceOf(Uint8Array);
      expect(state).not.toHaveProperty('expiresAt');
      expect(await raw(site, 'TRANSITION#0000000001')).toMatchObject({
        entity: 'transition',
        seq: 1,
        expiresAt: now / 1000 + 30 * 86_400,
      });
      expect(await raw(site, 'INCIDENT#0000000001')).toMatchObject({
        entity: 'incident',
        gsi1pk: 'INCIDENT',
        gsi1sk: `2026-01-01T00:00:00.000Z#${site}.1`,
        expiresAt: now / 1000 + 30 * 86_400,
      });
    });
  });
}
