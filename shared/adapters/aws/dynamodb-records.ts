import { z } from 'zod';
import { TRANSITION_KINDS } from '../../contracts/vocabulary.ts';
import type { Explanation, IncidentRecord, Transition } from '../../domain/model.ts';

// How the stores read items back: the record's fields with their types, so a foreign or damaged item is an error
// naming the field rather than a value of the wrong shape further on.

const SiteMode = z.enum(['PRIMARY_ACTIVE', 'BACKUP_ACTIVE', 'BOTH_DOWN']);
const IncidentKind = z.enum(['failover', 'both-down', 'degraded', 'provider-outage']);
/** The explanation is the decider's own record, written by it; only its being an object is checked here. */
const ExplanationItem = z.custom<Explanation>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'explanation is not an object',
);

export const TransitionItem = z.looseObject({
  site: z.string(),
  seq: z.number(),
  at: z.number(),
  kind: z.enum(TRANSITION_KINDS),
  from: SiteMode,
  to: SiteMode,
  fromLink: z.string(),
  toLink: z.string(),
  suppressed: z.boolean(),
  incidentId: z.string().nullable(),
  explanation: ExplanationItem,
}) satisfies z.ZodType<Transition>;

export const IncidentItem = z.looseObject({
  id: z.string(),
  site: z.string(),
  kind: IncidentKind,
  status: z.enum(['open', 'resolved']),
  openedAt: z.number(),
  resolvedAt: z.number().nullable(),
  openedSeq: z.number(),
  lastSeq: z.number(),
  summary: z.string(),
  acknowledged: z.boolean(),
}) satisfies z.ZodType<IncidentRecord>;
