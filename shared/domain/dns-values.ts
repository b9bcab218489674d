/** A DNS name for comparison: lower case, no trailing dot, Route 53's `\ooo` octal escapes decoded. */
export function normalizeDnsName(name: string): string {
  return stripDot(
    name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
  ).toLowerCase();
}

/**
 * A record value for comparison: CNAME targets as names (no trailing dot, lower case), AAAA in canonical form, A as
 * written. read() returns values in this form; compare desired values after the same normalization.
 */
export function normalizeRecordValue(type: 'A' | 'AAAA' | 'CNAME', value: string): string {
  const v = value.trim();
  if (type === 'CNAME') return normalizeDnsName(v);
  if (type === 'AAAA' && v.includes(':')) return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  return v;
}

/** Whether two value lists are the same record set (order and spelling aside). */
export function sameRecordValues(type: 'A' | 'AAAA' | 'CNAME', a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a.map((v) => normalizeRecordValue(type, v)))].sort();
  const right = [...new Set(b.map((v) => normalizeRecordValue(type, v)))].sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}

/** A name without its trailing dot (the root `.` stays as it is). */
export function stripDot(name: string): string {
  return name.length > 1 ? name.replace(/\.$/, '') : name;
}

/**
 * A record name as Route 53's IAM condition key `route53:ChangeResourceRecordSetsNormalizedRecordNames` compares it:
 * lower case, no trailing dot, every character but a-z, 0-9, `-`, `_` and `.` as a `\ooo` octal escape.
 */
export function iamNormalizedRecordName(name: string): string {
  return stripDot(name.trim())
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}
