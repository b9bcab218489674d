import * as z from 'zod/mini';
import '../contracts/zod-english.ts';

// The names the configuration shares with the API's bodies, apart from the config schema, so that the API function
// validates them without building the whole sites.yaml schema at its cold start.

/** A site, link, check or source id. */
export const Id = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'expected an id of letters, digits, "-" and "_" (at most 63)'));

/** The actions an inbound webhook can map to (docs/webhooks.md). */
export const INBOUND_ACTIONS = [
  'maintenance.open',
  'maintenance.close',
  'incident.acknowledge',
  'failover',
  'failback',
] as const;
export const InboundAction = z.enum(INBOUND_ACTIONS);
