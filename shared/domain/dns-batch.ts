import type { DnsAction } from './model.ts';

/** One wanted state of a record-swap record: the dispatcher hands the decision's DNS action to the zone's writer. */
export type WantedDnsChange = DnsAction;

/**
 * What one ChangeResourceRecordSets request may hold (Route 53 quotas, "Quotas on ChangeResourceRecordSets
 * requests"): 1,000 ResourceRecord elements and 32,000 characters of Value elements, each counted twice for UPSERT;
 * and, as older API references still say, 100 Change elements.
 */
export interface ChangeBatchLimits {
  readonly maxChanges: number;
  readonly maxRecordElements: number;
  readonly maxValueCharacters: number;
}

export const ROUTE53_CHANGE_LIMITS: ChangeBatchLimits = {
  maxChanges: 100,
  maxRecordElements: 1000,
  maxValueCharacters: 32_000,
};

/** UPSERT counts every ResourceRecord element and every character of a Value twice. */
const UPSERT_WEIGHT = 2;

/** The key of a record in a zone: its hosted zone, lower-case name without the trailing dot, and type. */
export function recordKey(change: Pick<WantedDnsChange, 'hostedZoneId' | 'name' | 'type'>): string {
  return `${change.hostedZoneId}|${change.name.replace(/\.$/, '').toLowerCase()}|${change.type}`;
}

/**
 * Keeps only the latest wanted change of each record: the highest site-state seq, and of equal seqs the later
 * one in `changes`. The result is in the order of first appearance of each record, so that a batch is stable.
 */
export function coalesceChanges(changes: readonly WantedDnsChange[]): WantedDnsChange[] {
  const latest = new Map<string, WantedDnsChange>();
  for (const change of changes) {
    const key = recordKey(change);
    const held = latest.get(key);
    if (!held || change.seq >= held.seq) latest.set(key, change);
  }
  const order = new Map<string, number>();
  changes.forEach((c, i) => {
    const key = recordKey(c);
    if (!order.has(key)) order.set(key, i);
  });
  return [...latest.entries()].sort((a, b) => order.get(a[0])! - order.get(b[0])!).map(([, c]) => c);
}

/** What a change costs against the limits, counted as Route 53 counts an UPSERT. */
export function changeWeight(change: Pick<WantedDnsChange, 'values' | 'type'>): {
  readonly records: number;
  readonly characters: number;
} {
  const characters = change.values.reduce((sum, v) => sum + valueText(change.type, v).length, 0);
  return { records: change.values.length * UPSERT_WEIGHT, characters: characters * UPSERT_WEIGHT };
}

/** A change that no request can hold: too many values or characters on its own. */
export interface OversizedChange {
  readonly change: WantedDnsChange;
  readonly reason: string;
}

/**
 * Splits changes (one zone, already coalesced) into requests within `limits`, in order; a change that alone
 * exceeds them is returned apart, with the reason, never silently dropped.
 */
export function planChangeBatches(
  changes: readonly WantedDnsChange[],
  limits: ChangeBatchLimits = ROUTE53_CHANGE_LIMITS,
): { readonly batches: WantedDnsChange[][]; readonly oversized: OversizedChange[] } {
  const batches: WantedDnsChange[][] = [];
  const oversized: OversizedChange[] = [];
  let current: WantedDnsChange[] = [];
  let records = 0;
  let characters = 0;
  for (const change of changes) {
    const weight = changeWeight(change);
    if (weight.records > limits.maxRecordElements || weight.characters > limits.maxValueCharacters) {
      oversized.push({
        change,
        reason: `${change.name} ${change.type} needs ${weight.records} ResourceRecord elements and ${weight.characters} characters as an UPSERT; one request holds ${limits.maxRecordElements} and ${limits.maxValueCharacters}`,
      });
      continue;
    }
    const fits =
      current.length < limits.maxChanges &&
      records + weight.records <= limits.maxRecordElements &&
      characters + weight.characters <= limits.maxValueCharacters;
    if (!fits && current.length > 0) {
      batches.push(current);
      current = [];
      records = 0;
      characters = 0;
    }
    current.push(change);
    records += weight.records;
    characters += weight.characters;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}

/** The Value Route 53 is sent: CNAME targets fully qualified. */
export function valueText(type: WantedDnsChange['type'], value: string): string {
  return type === 'CNAME' && !value.endsWith('.') ? `${value}.` : value;
}

/** A token bucket: `tokens` held at `updatedAt` (epoch ms). */
export interface TokenBucket {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** Its shape: refilled at `ratePerSecond`, holding at most `capacity` tokens. */
export interface TokenBucketRule {
  readonly ratePerSecond: number;
  readonly capacity: number;
}

/**
 * Takes one token when the bucket, refilled to `now`, holds more than `reserve` tokens (a low-priority caller
 * leaves `reserve` to the others); otherwise says how long to wait until it would. Pure: the caller stores the
 * new bucket (conditionally, when several share it).
 */
export function takeToken(
  bucket: TokenBucket | null,
  rule: TokenBucketRule,
  now: number,
  reserve = 0,
): { readonly granted: true; readonly bucket: TokenBucket } | { readonly granted: false; readonly waitMs: number } {
  const start = bucket ?? { tokens: rule.capacity, updatedAt: now };
  const elapsed = Math.max(0, now - start.updatedAt);
  const tokens = Math.min(rule.capacity, start.tokens + (elapsed / 1000) * rule.ratePerSecond);
  const needed = 1 + Math.min(reserve, rule.capacity - 1);
  if (tokens >= needed)
    return { granted: true, bucket: { tokens: tokens - 1, updatedAt: Math.max(now, start.updatedAt) } };
  return { granted: false, waitMs: Math.ceil(((needed - tokens) * 1000) / rule.ratePerSecond) };
}

/**
 * The order Route 53 lists a zone in: by name with its labels reversed (`com.example.www`), then by type. Used to
 * tell which managed records a page of ListResourceRecordSets covers.
 */
export function listingKey(name: string, type: string): string {
  const labels = name.replace(/\.$/, '').toLowerCase().split('.');
  return `${labels.reverse().join('.')}\u0000${type}`;
}
