import * as z from 'zod';
import { AutonomyReport, CommandAck, SignedCommand } from '../../contracts/agent.ts';
import {
  ATTEMPT_OUTCOMES,
  DELIVERY_STATUSES,
  INCIDENT_KINDS,
  INCIDENT_STATUSES,
  TRANSITION_KINDS,
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
} from '../../contracts/vocabulary.ts';
import type { AgentCommandAction, Explanation, IncidentRecord, Transition } from '../../domain/model.ts';
import { COMMAND_STATUSES, type CommandRecord, type StoredAutonomyReport } from '../../ports/command-store.ts';
import type { ApiKeyRecord } from '../../ports/api-key-store.ts';
import type { StoredMaintenanceWindow } from '../../ports/maintenance-store.ts';
import type {
  DeliveryAttempt,
  FormatOptions,
  WebhookDelivery,
  WebhookSubscription,
} from '../../ports/webhook-store.ts';
import { SiteModeSchema } from '../../contracts/ids.ts';

// How the stores read items back: the record's fields with their types, so a foreign or damaged item is an error
// naming the field rather than a value of the wrong shape further on.

const SiteMode = SiteModeSchema;
const IncidentKind = z.enum(INCIDENT_KINDS);
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
  status: z.enum(INCIDENT_STATUSES),
  openedAt: z.number(),
  resolvedAt: z.number().nullable(),
  openedSeq: z.number(),
  lastSeq: z.number(),
  summary: z.string(),
  acknowledged: z.boolean(),
}) satisfies z.ZodType<IncidentRecord>;

/** Absent while unset (conditions test attribute_not_exists), null in the record. */
const absentAsNull = <T extends z.ZodType>(schema: T) => schema.optional().transform((v) => v ?? null);

export const ApiKeyItem = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.enum(['read', 'write']),
  hash: z.string(),
  createdAt: z.number(),
  revokedAt: absentAsNull(z.number()),
  lastUsedAt: absentAsNull(z.number()),
}) satisfies z.ZodType<ApiKeyRecord, unknown>;

export const MaintenanceWindowItem = z.object({
  id: z.string(),
  site: z.string(),
  start: z.string(),
  end: z.string(),
  timezone: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  reason: z.string(),
  ticket: absentAsNull(z.string()),
  createdBy: z.string(),
  createdAt: z.number(),
  cancelledAt: absentAsNull(z.number()),
  cancelledBy: absentAsNull(z.string()),
}) satisfies z.ZodType<StoredMaintenanceWindow, unknown>;

/** The format's options are checked by the API when a subscription is made; here only their being an object. */
const FormatOptionsItem = z.custom<FormatOptions>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'options is not an object',
);

export const WebhookSubscriptionItem = z.looseObject({
  id: z.string(),
  url: z.string(),
  format: z.enum(WEBHOOK_FORMATS),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  sites: z.array(z.string()),
  description: z.string(),
  options: FormatOptionsItem,
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  disabledAt: z.number().nullable(),
  createdAt: z.number(),
  sealed: z.string(),
}) satisfies z.ZodType<WebhookSubscription>;

const DeliveryAttemptItem = z.looseObject({
  n: z.number(),
  at: z.number(),
  durationMs: z.number(),
  status: z.number().nullable(),
  outcome: z.enum(ATTEMPT_OUTCOMES),
  error: z.string().nullable(),
  response: z.string().nullable(),
  redelivery: z.boolean(),
}) satisfies z.ZodType<DeliveryAttempt>;

export const WebhookDeliveryItem = z.looseObject({
  id: z.string(),
  subscriptionId: z.string(),
  actionId: z.string(),
  event: z.enum(WEBHOOK_EVENTS),
  site: z.string(),
  incidentId: z.string().nullable(),
  createdAt: z.number(),
  envelope: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  statusReason: z.string().nullable(),
  attempts: z.array(DeliveryAttemptItem),
  attemptCount: z.number(),
  scheduledAttempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  leaseUntil: z.number().nullable(),
  version: z.number(),
}) satisfies z.ZodType<WebhookDelivery>;

/** The outbox action a command was issued for: the decider's own record; only its being an object is checked. */
const CommandActionItem = z.custom<AgentCommandAction>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { kind?: unknown }).kind === 'agent-command',
  'action is not an agent-command action',
);

/** A command item; the record's `expiresAt` is stored as `commandExpiresAt` (`expiresAt` is the table's TTL). */
export const CommandItem = z
  .object({
    site: z.string(),
    id: z.string(),
    action: CommandActionItem,
    command: SignedCommand,
    status: z.enum(COMMAND_STATUSES),
    commandExpiresAt: z.number(),
    createdAt: z.number(),
    deliveredAt: z
      .number()
      .nullish()
      .transform((v) => v ?? null),
    deliveries: z
      .number()
      .optional()
      .transform((v) => v ?? 0),
    ack: CommandAck.nullish().transform((v) => v ?? null),
    ackedAt: z
      .number()
      .nullish()
      .transform((v) => v ?? null),
    expiredAt: z
      .number()
      .nullish()
      .transform((v) => v ?? null),
    reported: z
      .boolean()
      .optional()
      .transform((v) => v === true),
  })
  .transform(({ commandExpiresAt, ...record }) => ({ ...record, expiresAt: commandExpiresAt })) satisfies z.ZodType<
  CommandRecord,
  unknown
>;

export const AutonomyReportItem = z.object({
  report: AutonomyReport,
  receivedAt: z.number(),
}) satisfies z.ZodType<StoredAutonomyReport, unknown>;

export const AgentConnectionItem = z.looseObject({
  site: z.string(),
  connectionId: z.string(),
  connectedAt: z.number(),
});
