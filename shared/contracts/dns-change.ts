import * as z from 'zod/mini';
import './zod-english.ts';

/**
 * The body of a DNS writer message (version 1): the decision's DNS action of one record-swap record, i.e. the
 * record's wanted state at the site-state seq that asked for it.
 */
export const DnsChangeMessage = z.object({
  v: z.literal(1),
  kind: z.literal('dns'),
  id: z.string().check(z.minLength(1)),
  site: z.string().check(z.minLength(1)),
  seq: z.int().check(z.nonnegative()),
  at: z.number(),
  zone: z.string().check(z.minLength(1)),
  hostedZoneId: z.string().check(z.minLength(1)),
  name: z.string().check(z.minLength(1)),
  type: z.enum(['A', 'AAAA', 'CNAME']),
  ttl: z.int().check(z.nonnegative()),
  strategy: z.literal('record-swap'),
  link: z.string().check(z.minLength(1)),
  values: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
});
export type DnsChangeMessage = z.infer<typeof DnsChangeMessage>;
