import * as z from 'zod/mini';
import { idSchema } from '../contracts/ids.ts';

// The names the configuration shares with the API's bodies, apart from the config schema, so that the API function
// validates them without building the whole sites.yaml schema at its cold start.

/** A site, link, check or source id. */
export const Id = idSchema();

/** The actions an inbound webhook can map to (docs/webhooks.md). */
export const INBOUND_ACTIONS = [
  'maintenance.open',
  'maintenance.close',
  'incident.acknowledge',
  'failover',
  'failback',
] as const;
export const InboundAction = z.enum(INBOUND_ACTIONS);
