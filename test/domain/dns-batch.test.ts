import { describe, expect, it } from 'vitest';
import {
  changeWeight,
  coalesceChanges,
  listingKey,
  planChangeBatches,
  ROUTE53_CHANGE_LIMITS,
  takeToken,
  type WantedDnsChange,
} from '../../shared/domain/dns-batch.ts';
import { iamNormalizedRecordName } from '../../shared/domain/dns-values.ts';

const ZONE = 'Z0123456789ABC';

function change(name: string, seq: number, values: string[] = ['198.51.100.1'], extra: Partial<WantedDnsChange> = {}) {
  const site = name.split('.')[0]!;
  return {
    kind: 'dns',
    id: `${site}:${seq}:1`,
    site,
    seq,
    at: 1_000 * seq,
    zone: 'example.com',
    hostedZoneId: ZONE,
    name,
    type: 'A',
    ttl: 60,
    strategy: 'record-swap',
    link: 'lte',
    values,
    ...extra,
  } satisfies WantedDnsChange;
}

describe('coalesceChanges: the latest wanted state of each record', () => {
  it.each([
    { what: 'a later seq wins', seqs: [3, 5], kept: 5 },
    { what: 'an earlier seq arriving later loses', seqs: [5, 3], kept: 5 },
    { what: 'equal seqs: the later one wins', seqs: [4, 4], kept: 4 },
  ])('$what', ({ seqs, kept }) => {
    const changes = seqs.map((s, i) => change('hq.example.com', s, [`198.51.100.${i + 1}`]));
    const out = coalesceChanges(changes);
    expect(out).toHaveLength(1);
    expect(out[0]!.seq).toBe(kept);
    if (seqs[0] === seqs[1]) expect(out[0]).toBe(changes[1]);
  });

  it('keeps records apart by zone, name (case and trailing dot aside) and type, in order of first appearance', () => {
    const changes = [
      change('b.example.com', 1),
      change('A.example.com.', 1),
      change('a.example.com', 2),
      change('a.example.com', 3, ['2001:db8::1'], { type: 'AAAA' }),
      change('a.example.com', 4, ['198.51.100.9'], { hostedZoneId: 'ZOTHER' }),
    ];
    const out = coalesceChanges(changes);
    expect(out.map((c) => `${c.hostedZoneId} ${c.name} ${c.type} ${c.seq}`)).toEqual([
      `${ZONE} b.example.com A 1`,
      `${ZONE} a.example.com A 2`,
      `${ZONE} a.example.com AAAA 3`,
      'ZOTHER a.example.com A 4',
    ]);
  });
});

describe('planChangeBatches: requests within the ChangeResourceRecordSets limits', () => {
  it('counts an UPSERT twice: values and characters (CNAME targets with their trailing dot)', () => {
    expect(changeWeight(change('a.example.com', 1, ['198.51.100.1', '198.51.100.2']))).toEqual({
      records: 4,
      characters: 2 * 24,
    });
    expect(changeWeight(change('a.example.com', 1, ['edge.example.net'], { type: 'CNAME' }))).toEqual({
      records: 2,
      characters: 2 * 17,
    });
  });

  it('puts 500 one-value changes in 5 requests of 100 (the Change element limit)', () => {
    const changes = Array.from({ length: 500 }, (_, i) => change(`s${i}.example.com`, 1));
    const { batches, oversized } = planChangeBatches(changes);
    expect(oversized).toEqual([]);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 100, 100, 100]);
    expect(batches.flat()).toEqual(changes);
  });

  it('cuts at 1,000 ResourceRecord elements (500 UPSERT values) and at 32,000 characters (16,000 UPSERT characters)', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`);
    const byRecords = planChangeBatches(
      Array.from({ length: 6 }, (_, i) => change(`r${i}.example.com`, 1, values(100))),
    );
    expect(byRecords.batches.map((b) => b.length)).toEqual([5, 1]);
    for (const b of byRecords.batches)
      expect(b.reduce((n, c) => n + changeWeight(c).records, 0)).toBeLessThanOrEqual(1000);

    const long = `${'x'.repeat(60)}.example.net`;
    const limits = { ...ROUTE53_CHANGE_LIMITS, maxChanges: 1000 };
    const byChars = planChangeBatches(
      Array.from({ length: 300 }, (_, i) => change(`c${i}.example.com`, 1, [long], { type: 'CNAME' })),
      limits,
    );
    for (const b of byChars.batches)
      expect(b.reduce((n, c) => n + changeWeight(c).characters, 0)).toBeLessThanOrEqual(32_000);
    expect(byChars.batches.length).toBe(Math.ceil((300 * 2 * 73) / 32_000));
    expect(byChars.batches.flat()).toHaveLength(300);
  });

  it('returns a change no request can hold apart, with the reason, and batches the rest', () => {
    const huge = change(
      'huge.example.com',
      1,
      Array.from({ length: 501 }, (_, i) => `10.1.${i >> 8}.${i & 255}`),
    );
    const { batches, oversized } = planChangeBatches([change('a.example.com', 1), huge, change('b.example.com', 1)]);
    expect(batches).toEqual([
      [expect.objectContaining({ name: 'a.example.com' }), expect.objectContaining({ name: 'b.example.com' })],
    ]);
    expect(oversized).toEqual([
      { change: huge, reason: expect.stringMatching(/^huge\.example\.com A needs 1002 ResourceRecord elements/) },
    ]);
  });
});

describe('takeToken: a token bucket with a reserve for low-priority takers', () => {
  const rule = { ratePerSecond: 4, capacity: 4 };

  it('starts full, spends one token a take, then says how long to wait', () => {
    let bucket = null as Parameters<typeof takeToken>[0];
    for (let i = 0; i < 4; i++) {
      const out = takeToken(bucket, rule, 0);
      expect(out.granted).toBe(true);
      if (out.granted) bucket = out.bucket;
    }
    expect(takeToken(bucket, rule, 0)).toEqual({ granted: false, waitMs: 250 });
    expect(takeToken(bucket, rule, 250)).toMatchObject({ granted: true, bucket: { tokens: 0, updatedAt: 250 } });
  });

  it('refills at the rate, never above the capacity', () => {
    const out = takeToken({ tokens: 0, updatedAt: 0 }, rule, 60_000);
    expect(out).toEqual({ granted: true, bucket: { tokens: 3, updatedAt: 60_000 } });
  });

  it('leaves the reserve to others: a reader with reserve 2 needs 3 tokens', () => {
    expect(takeToken({ tokens: 2.5, updatedAt: 0 }, rule, 0, 2)).toEqual({ granted: false, waitMs: 125 });
    expect(takeToken({ tokens: 2.5, updatedAt: 0 }, rule, 0, 0)).toMatchObject({ granted: true });
    expect(takeToken({ tokens: 3, updatedAt: 0 }, rule, 0, 2)).toMatchObject({ granted: true, bucket: { tokens: 2 } });
  });

  it('never refills backwards when a taker clock is behind the stored one', () => {
    expect(takeToken({ tokens: 1, updatedAt: 10_000 }, rule, 9_000)).toEqual({
      granted: true,
      bucket: { tokens: 0, updatedAt: 10_000 },
    });
  });
});

describe('names as Route 53 orders and authorizes them', () => {
  it('orders a listing by reversed labels, then type', () => {
    const names = ['www.example.com', 'example.com', 'a.b.example.com', 'z.example.com', 'b.example.com'];
    const sorted = [...names].sort((a, b) => (listingKey(a, 'A') < listingKey(b, 'A') ? -1 : 1));
    expect(sorted).toEqual(['example.com', 'b.example.com', 'a.b.example.com', 'www.example.com', 'z.example.com']);
    expect(listingKey('x.example.com', 'A') < listingKey('x.example.com', 'AAAA')).toBe(true);
  });

  it('normalizes a name for the IAM condition key: lower case, no trailing dot, octal escapes', () => {
    expect(iamNormalizedRecordName('Portal.Example.com.')).toBe('portal.example.com');
    expect(iamNormalizedRecordName('*.example.com')).toBe('\\052.example.com');
    expect(iamNormalizedRecordName('_sip._tcp.example-1.com')).toBe('_sip._tcp.example-1.com');
  });
});
