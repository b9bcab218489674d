import * as z from 'zod';
import { Id } from '../config/checks.ts';
import { SiteModeSchema } from '../contracts/ids.ts';
import { ErrorClass, Outcome } from '../contracts/observation.ts';
import { LINK_ROLES, TRANSITION_KINDS } from '../contracts/vocabulary.ts';
import { parseDuration } from './duration.ts';

const DURATION_HELP = 'expected a duration such as 90s, 2m or 1h30m (a bare number is seconds)';

/** `90s`, `2m`, `1h30m` or a number of seconds, as milliseconds. */
export const Duration = z.union([z.number(), z.string()], { error: DURATION_HELP }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: DURATION_HELP, input: value });
    return z.NEVER;
  }
  return ms;
});

const by = z.string().min(1).default('operator');
const reason = z.string().min(1).default('scenario');

/** An operator's word, as the API would pass it; `until` is an offset from the scenario's start. */
export const ScenarioCommand = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('override'),
        pin: z.enum(LINK_ROLES),
        by,
        reason,
        until: Duration.optional(),
      })
      .strict(),
    z.object({ type: z.literal('clear-override'), by, reason }).strict(),
    z.object({ type: z.literal('failover'), by, reason, until: Duration.optional() }).strict(),
    z.object({ type: z.literal('failback'), by, reason }).strict(),
    z.object({ type: z.literal('acknowledge'), by }).strict(),
    // The fleet's, not a site's: releases the mass-failover brake's engagement, as POST /v1/brake/release does.
    z.object({ type: z.literal('release-brake'), by, reason }).strict(),
  ],
  { error: 'expected a command type: override, clear-override, failover, failback, acknowledge or release-brake' },
);
export type ScenarioCommand = z.output<typeof ScenarioCommand>;

/** One line of the timeline; which combinations make sense is checked by the loader (see scenario.ts). */
export const TimelineEntryDoc = z
  .object({
    from: Duration.optional(),
    to: Duration.optional(),
    at: Duration.optional(),
    every: Duration.optional(),
    repeat: z.number().int().min(1).max(10_000).optional(),
    regions: z.array(z.string()).min(1).optional(),
    link: z.optional(Id),
    check: z.string().min(1).optional(),
    dependency: z.optional(Id),
    vantages: z
      .array(z.enum(['regions', 'site']))
      .min(1)
      .optional(),
    outcome: z.optional(Outcome),
    errorClass: z.optional(ErrorClass),
    latencyMs: z.number().nonnegative().optional(),
    mos: z.number().min(1).max(5).optional(),
    lossPct: z.number().min(0).max(100).optional(),
    detail: z.string().optional(),
    impaired: z.boolean().optional(),
    silent: z.boolean().optional(),
    maintenance: z
      .object({ id: Id, reason: z.string().min(1).default('scenario maintenance'), ticket: z.string().optional() })
      .strict()
      .optional(),
    command: ScenarioCommand.optional(),
  })
  .strict();
export type TimelineEntryDoc = z.output<typeof TimelineEntryDoc>;

/** An exact count, or a range `{ min, max }` (either bound optional). */
export const Count = z.union(
  [
    z.number().int().min(0),
    z.object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).strict(),
  ],
  { error: 'expected a count such as 2, or a range such as { min: 1, max: 3 }' },
);
export type Count = z.output<typeof Count>;

/** Summary counters that an expectation may name, in the order they are reported. */
export const COUNTED = [
  'failovers',
  'failbacks',
  'recovered',
  'bothDown',
  'falseFailovers',
  'alerts',
  'alertsSuppressed',
  'webhooks',
  'dnsChanges',
  'agentCommands',
  'rejectedCommands',
] as const;
export type Counted = (typeof COUNTED)[number];

const TransitionKindDoc = z.enum(TRANSITION_KINDS);

export const ExpectDoc = z
  .object({
    ...(Object.fromEntries(COUNTED.map((k) => [k, Count.optional()])) as Record<Counted, z.ZodOptional<typeof Count>>),
    maxDetectionSeconds: z.number().nonnegative().optional(),
    minDetectionSeconds: z.number().nonnegative().optional(),
    finalMode: z.optional(SiteModeSchema),
    finalLink: z.optional(Id),
    finalModes: z.partialRecord(SiteModeSchema, Count).optional(),
    transitions: z.array(TransitionKindDoc).optional(),
    count: z.partialRecord(TransitionKindDoc, Count).optional(),
    when: z
      .array(
        z
          .object({
            transition: TransitionKindDoc,
            n: z.number().int().min(1).default(1),
            after: Duration.optional(),
            before: Duration.optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type ExpectDoc = z.output<typeof ExpectDoc>;

/** The most sites a fleet scenario simulates at once. */
export const FLEET_MAX = 100;

/** A scenario file as written: the schema of its own fields (the configuration parts are left to parseConfig). */
export const ScenarioDoc = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    config: z.string().min(1).optional(),
    site: z.unknown().optional(),
    regions: z.unknown().optional(),
    controlChecks: z.unknown().optional(),
    presets: z.unknown().optional(),
    policy: z.record(z.string(), z.unknown()).optional(),
    brake: z.record(z.string(), z.unknown()).optional(),
    fleet: z.number().int().min(2).max(FLEET_MAX).optional(),
    start: z.iso.datetime({ offset: true, error: 'expected a date-time such as 2026-01-01T00:00:00Z' }).optional(),
    duration: Duration,
    timeline: z.array(TimelineEntryDoc).default([]),
    expect: ExpectDoc.default({}),
  })
  .strict();
export type ScenarioDoc = z.output<typeof ScenarioDoc>;
