import * as z from 'zod';
import { component, SiteId } from './api.ts';

/**
 * History and public status, version 1 of the HTTP API: per check outcome and latency over time, uptime per day, and
 * the public status pages of `statusPages:` in sites.yaml. Buckets start on UTC boundaries (5 minutes, hours, days).
 */

const Time = z.iso.datetime();
const TimeIn = z.iso.datetime({
  offset: true,
  error: 'expected a date-time with an offset, e.g. 2026-12-01T22:00:00Z',
});
const Ratio = z.number().min(0).max(1);

/** The steps of a history query, their bucket length, default span and longest span. */
export const HISTORY_STEPS = {
  '5m': { ms: 300_000, defaultSpanMs: 86_400_000, maxSpanMs: 2 * 86_400_000 },
  '1h': { ms: 3_600_000, defaultSpanMs: 7 * 86_400_000, maxSpanMs: 35 * 86_400_000 },
  '1d': { ms: 86_400_000, defaultSpanMs: 90 * 86_400_000, maxSpanMs: 400 * 86_400_000 },
} as const;
export type HistoryStep = keyof typeof HISTORY_STEPS;
export const HistoryStep = z.enum(Object.keys(HISTORY_STEPS) as [HistoryStep, ...HistoryStep[]]);

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket holds everything above the last bound. */
export const LATENCY_BOUNDS_MS = [
  10, 20, 35, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10000,
] as const;

/** `GET /v1/sites/{id}/checks/{check}/history` query. */
export const HistoryQuery = z
  .object({
    step: HistoryStep.optional().describe(
      'Bucket length: 5m (at most 2 days), 1h (at most 35 days) or 1d (at most 400 days). Default 5m.',
    ),
    from: TimeIn.optional().describe(
      'Start, rounded down to the step; default `to` less 1 day (5m), 7 days (1h), 90 days (1d).',
    ),
    to: TimeIn.optional().describe('End (exclusive), rounded up to the step; default now (its bucket included).'),
  })
  .strict();

export const OutcomeCounts = component(
  'OutcomeCounts',
  z
    .object({
      up: z.number().int(),
      degraded: z.number().int(),
      down: z.number().int(),
      skipped: z
        .number()
        .int()
        .describe('Results that say nothing: a round skipped the check, or its region failed its control checks.'),
    })
    .describe('Observations of a check, from every vantage together (probe regions and the site agent).'),
);

export const LatencySummary = component(
  'LatencySummary',
  z
    .object({
      count: z.number().int().describe('Observations with a latency.'),
      avgMs: z.number().describe('Exact mean.'),
      p50Ms: z.number().describe('Upper bound of the histogram bucket holding the median.'),
      p95Ms: z.number().describe('Upper bound of the histogram bucket holding the 95th percentile.'),
      maxMs: z
        .number()
        .describe('Upper bound of the highest histogram bucket used (the last bucket: its lower bound, 10000).'),
    })
    .describe('Latency of the observations that had one, from a histogram (bounds in docs/api.md).'),
);

const CheckBucketShape = OutcomeCounts.extend({
  uptime: Ratio.nullable().describe('(up + degraded) / (up + degraded + down); null when there was none.'),
  latency: LatencySummary.nullable().describe('Null when no observation had a latency.'),
});

export const HistoryBucket = component(
  'HistoryBucket',
  CheckBucketShape.extend({ start: Time.describe('Start of the bucket (UTC).') }),
);

export const CheckHistory = component(
  'CheckHistory',
  z.object({
    site: SiteId,
    check: z.string(),
    step: HistoryStep,
    from: Time.describe('Start of the first bucket.'),
    to: Time.describe('End of the last bucket (exclusive).'),
    buckets: z
      .array(HistoryBucket)
      .describe('Every bucket of [from, to), oldest first; a bucket with no data has zero counts and null uptime.'),
    total: CheckBucketShape.describe('All the buckets together.'),
  }),
);

/** `GET /v1/sites/{id}/uptime` query. */
export const UptimeQuery = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .describe('Days, 1-365, ending with today (UTC) included; default 90.'),
  })
  .strict();

export const ModeCounts = component(
  'ModeCounts',
  z
    .object({
      primary: z.number().int().describe('Decided rounds on the primary link.'),
      backup: z.number().int().describe('Decided rounds on a backup link.'),
      bothDown: z.number().int().describe('Decided rounds with every link down.'),
      maintenance: z.number().int().describe('Decided rounds in maintenance (left out of uptime).'),
    })
    .describe("The site's mode, counted once per probe region's round the decider took."),
);

export const CheckDay = component('CheckDay', CheckBucketShape.extend({ date: z.iso.date().describe('The UTC day.') }));

export const ServiceDay = component(
  'ServiceDay',
  ModeCounts.extend({
    date: z.iso.date(),
    uptime: Ratio.nullable().describe('(primary + backup) / (primary + backup + bothDown); null with no round.'),
  }),
);

export const SiteUptime = component(
  'SiteUptime',
  z.object({
    site: SiteId,
    from: z.iso.date().describe('The first day.'),
    to: z.iso.date().describe('The last day (today, UTC), included.'),
    service: z
      .object({
        uptime: Ratio.nullable().describe('Over all the days.'),
        days: z.array(ServiceDay).describe('Oldest first, one per day.'),
      })
      .describe('The site as its users see it: served (on any link) or not.'),
    checks: z.array(
      z.object({
        check: z.string(),
        name: z.string().nullable(),
        link: z.string().nullable(),
        uptime: Ratio.nullable().describe('Over all the days.'),
        days: z.array(CheckDay).describe('Oldest first, one per day.'),
      }),
    ),
  }),
);

/** What a status page tells the public about a component (a site) or the whole page. */
export const PublicStatus = z
  .enum(['operational', 'degraded', 'outage', 'maintenance', 'unknown'])
  .describe(
    'operational: on the primary link; degraded: on a backup link or the primary is slow; outage: every link down; ' +
      'maintenance: a maintenance window is in force; unknown: no decision yet.',
  );

export const PublicDay = component(
  'PublicDay',
  z.object({
    date: z.iso.date(),
    uptime: Ratio.nullable().describe('Share of the rounds it was served (maintenance left out); null with none.'),
    status: z
      .enum(['operational', 'degraded', 'outage', 'maintenance', 'no-data'])
      .describe('The worst of the day: outage when any round found every link down, degraded when on a backup.'),
  }),
);

export const PublicComponent = component(
  'PublicComponent',
  z.object({
    id: z.string().describe('The site id.'),
    name: z.string().describe('The public name (statusPages[].sites[].name, else the site name).'),
    group: z.string().nullable(),
    status: PublicStatus,
    since: Time.nullable().describe('Since when it is in this status; null before the first decision.'),
    uptime: Ratio.nullable().describe('Over the days listed.'),
    days: z.array(PublicDay).describe('Oldest first, ending today (UTC).'),
  }),
);

export const PublicIncident = component(
  'PublicIncident',
  z.object({
    id: z.string().describe('Opaque.'),
    component: z.string().describe('The component (site) id.'),
    title: z.string().describe('From the kind only, e.g. "Running on a backup connection".'),
    kind: z.enum(['failover', 'both-down', 'degraded', 'provider-outage']),
    status: z.enum(['open', 'resolved']),
    startedAt: Time,
    resolvedAt: Time.nullable(),
  }),
);

export const StatusPage = component(
  'StatusPage',
  z.object({
    page: z.string(),
    title: z.string(),
    status: PublicStatus.describe('The worst component status (unknown only when every component is).'),
    generatedAt: Time,
    components: z.array(PublicComponent).describe('In the order of the configuration.'),
    incidents: z
      .array(PublicIncident)
      .describe('Open ones and those resolved in the days listed, newest first (empty when the page hides them).'),
  }),
);

/** `GET /v1/status/{page}` query. */
export const StatusPageQuery = z
  .object({
    days: z.coerce.number().int().min(1).max(90).optional().describe('Days of uptime, 1-90; default 90.'),
  })
  .strict();

/** `GET /v1/status/{page}/badge.svg` query. */
export const BadgeQuery = z
  .object({
    days: z.coerce.number().int().min(1).max(90).optional().describe('Days the uptime covers, 1-90; default 30.'),
    component: SiteId.optional().describe('One component (site id) of the page; default the whole page.'),
    label: z.string().trim().min(1).max(40).optional().describe('The left-hand text; default "uptime".'),
  })
  .strict();

export type HistoryQuery = z.infer<typeof HistoryQuery>;
export type CheckHistory = z.infer<typeof CheckHistory>;
export type HistoryBucket = z.infer<typeof HistoryBucket>;
export type SiteUptime = z.infer<typeof SiteUptime>;
export type StatusPage = z.infer<typeof StatusPage>;
export type PublicStatus = z.infer<typeof PublicStatus>;
export type PublicComponent = z.infer<typeof PublicComponent>;
export type PublicIncident = z.infer<typeof PublicIncident>;
export type LatencySummary = z.infer<typeof LatencySummary>;
