import * as z from 'zod/mini';
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
const Ratio = z.number().check(z.minimum(0)).check(z.maximum(1));

/** The steps of a history query, their bucket length, default span and longest span. */
export const HISTORY_STEPS = {
  '5m': { ms: 300_000, defaultSpanMs: 86_400_000, maxSpanMs: 2 * 86_400_000 },
  '1h': { ms: 3_600_000, defaultSpanMs: 7 * 86_400_000, maxSpanMs: 35 * 86_400_000 },
  '1d': { ms: 86_400_000, defaultSpanMs: 90 * 86_400_000, maxSpanMs: 400 * 86_400_000 },
} as const;
export type HistoryStep = keyof typeof HISTORY_STEPS;
export const HistoryStep = z.enum(['5m', '1h', '1d']);

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket holds everything above the last bound. */
export const LATENCY_BOUNDS_MS = [
  10, 20, 35, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10000,
] as const;

const d = (text: string) => z.describe(text);
const Int = () => z.int();
const Counts = {
  up: Int(),
  degraded: Int(),
  down: Int(),
  skipped: Int().check(
    d('Results that say nothing: a round skipped the check, or its region failed its control checks.'),
  ),
};

/** `GET /v1/sites/{id}/checks/{check}/history` query. */
export const HistoryQuery = z.strictObject({
  step: z
    .optional(HistoryStep)
    .check(d('Bucket length: 5m (at most 2 days), 1h (at most 35 days) or 1d (at most 400 days). Default 5m.')),
  from: z
    .optional(TimeIn)
    .check(d('Start, rounded down to the step; default `to` less 1 day (5m), 7 days (1h), 90 days (1d).')),
  to: z.optional(TimeIn).check(d('End (exclusive), rounded up to the step; default now (its bucket included).')),
});

export const OutcomeCounts = component(
  'OutcomeCounts',
  z.object(Counts).check(d('Observations of a check, from every vantage together (probe regions and the site agent).')),
);

export const LatencySummary = component(
  'LatencySummary',
  z
    .object({
      count: Int().check(d('Observations with a latency.')),
      avgMs: z.number().check(d('Exact mean.')),
      p50Ms: z.number().check(d('Upper bound of the histogram bucket holding the median.')),
      p95Ms: z.number().check(d('Upper bound of the histogram bucket holding the 95th percentile.')),
      maxMs: z
        .number()
        .check(d('Upper bound of the highest histogram bucket used (the last bucket: its lower bound, 10000).')),
    })
    .check(d('Latency of the observations that had one, from a histogram (bounds in docs/api.md).')),
);

const CheckBucketFields = {
  ...Counts,
  uptime: z.nullable(Ratio).check(d('(up + degraded) / (up + degraded + down); null when there was none.')),
  latency: z.nullable(LatencySummary).check(d('Null when no observation had a latency.')),
};

export const HistoryBucket = component(
  'HistoryBucket',
  z.object({ ...CheckBucketFields, start: Time.check(d('Start of the bucket (UTC).')) }),
);

export const CheckHistory = component(
  'CheckHistory',
  z.object({
    site: SiteId,
    check: z.string(),
    step: HistoryStep,
    from: Time.check(d('Start of the first bucket.')),
    to: Time.check(d('End of the last bucket (exclusive).')),
    buckets: z
      .array(HistoryBucket)
      .check(d('Every bucket of [from, to), oldest first; a bucket with no data has zero counts and null uptime.')),
    total: z.object(CheckBucketFields).check(d('All the buckets together.')),
  }),
);

/** `GET /v1/sites/{id}/uptime` query. */
export const UptimeQuery = z.strictObject({
  days: z
    .optional(z.coerce.number().check(z.int()).check(z.minimum(1)).check(z.maximum(365)))
    .check(d('Days, 1-365, ending with today (UTC) included; default 90.')),
});

const ModeFields = {
  primary: Int().check(d('Decided rounds on the primary link.')),
  backup: Int().check(d('Decided rounds on a backup link.')),
  bothDown: Int().check(d('Decided rounds with every link down.')),
  maintenance: Int().check(d('Decided rounds in maintenance (left out of uptime).')),
};

export const ModeCounts = component(
  'ModeCounts',
  z.object(ModeFields).check(d("The site's mode, counted once per probe region's round the decider took.")),
);

export const CheckDay = component(
  'CheckDay',
  z.object({ ...CheckBucketFields, date: z.iso.date().check(d('The UTC day.')) }),
);

export const ServiceDay = component(
  'ServiceDay',
  z.object({
    ...ModeFields,
    date: z.iso.date(),
    uptime: z.nullable(Ratio).check(d('(primary + backup) / (primary + backup + bothDown); null with no round.')),
  }),
);

export const SiteUptime = component(
  'SiteUptime',
  z.object({
    site: SiteId,
    from: z.iso.date().check(d('The first day.')),
    to: z.iso.date().check(d('The last day (today, UTC), included.')),
    service: z
      .object({
        uptime: z.nullable(Ratio).check(d('Over all the days.')),
        days: z.array(ServiceDay).check(d('Oldest first, one per day.')),
      })
      .check(d('The site as its users see it: served (on any link) or not.')),
    checks: z.array(
      z.object({
        check: z.string(),
        name: z.nullable(z.string()),
        link: z.nullable(z.string()),
        uptime: z.nullable(Ratio).check(d('Over all the days.')),
        days: z.array(CheckDay).check(d('Oldest first, one per day.')),
      }),
    ),
  }),
);

/** What a status page tells the public about a component (a site) or the whole page. */
export const PublicStatus = z
  .enum(['operational', 'degraded', 'outage', 'maintenance', 'unknown'])
  .check(
    d(
      'operational: on the primary link; degraded: on a backup link or the primary is slow; outage: every link down; ' +
        'maintenance: a maintenance window is in force; unknown: no decision yet.',
    ),
  );

export const PublicDay = component(
  'PublicDay',
  z.object({
    date: z.iso.date(),
    uptime: z.nullable(Ratio).check(d('Share of the rounds it was served (maintenance left out); null with none.')),
    status: z
      .enum(['operational', 'degraded', 'outage', 'maintenance', 'no-data'])
      .check(d('The worst of the day: outage when any round found every link down, degraded when on a backup.')),
  }),
);

export const PublicComponent = component(
  'PublicComponent',
  z.object({
    id: z.string().check(d('The site id.')),
    name: z.string().check(d('The public name (statusPages[].sites[].name, else the site name).')),
    group: z.nullable(z.string()),
    status: PublicStatus,
    since: z.nullable(Time).check(d('Since when it is in this status; null before the first decision.')),
    uptime: z.nullable(Ratio).check(d('Over the days listed.')),
    days: z.array(PublicDay).check(d('Oldest first, ending today (UTC).')),
  }),
);

export const PublicIncident = component(
  'PublicIncident',
  z.object({
    id: z.string().check(d('Opaque.')),
    component: z.string().check(d('The component (site) id.')),
    title: z.string().check(d('From the kind only, e.g. "Running on a backup connection".')),
    kind: z.enum(['failover', 'both-down', 'degraded', 'provider-outage']),
    status: z.enum(['open', 'resolved']),
    startedAt: Time,
    resolvedAt: z.nullable(Time),
  }),
);

export const StatusPage = component(
  'StatusPage',
  z.object({
    page: z.string(),
    title: z.string(),
    status: PublicStatus,
    generatedAt: Time,
    components: z.array(PublicComponent).check(d('In the order of the configuration.')),
    incidents: z
      .array(PublicIncident)
      .check(d('Open ones and those resolved in the days listed, newest first (empty when the page hides them).')),
  }),
);

/** `GET /v1/status/{page}` query. */
export const StatusPageQuery = z.strictObject({
  days: z
    .optional(z.coerce.number().check(z.int()).check(z.minimum(1)).check(z.maximum(90)))
    .check(d('Days of uptime, 1-90; default 90.')),
});

/** `GET /v1/status/{page}/badge.svg` query. */
export const BadgeQuery = z.strictObject({
  days: z
    .optional(z.coerce.number().check(z.int()).check(z.minimum(1)).check(z.maximum(90)))
    .check(d('Days the uptime covers, 1-90; default 30.')),
  component: z.optional(SiteId).check(d('One component (site id) of the page; default the whole page.')),
  label: z
    .optional(z.string().check(z.trim()).check(z.minLength(1)).check(z.maxLength(40)))
    .check(d('The left-hand text; default "uptime".')),
});

export type HistoryQuery = z.infer<typeof HistoryQuery>;
export type CheckHistory = z.infer<typeof CheckHistory>;
export type HistoryBucket = z.infer<typeof HistoryBucket>;
export type SiteUptime = z.infer<typeof SiteUptime>;
export type StatusPage = z.infer<typeof StatusPage>;
export type PublicStatus = z.infer<typeof PublicStatus>;
export type PublicComponent = z.infer<typeof PublicComponent>;
export type PublicIncident = z.infer<typeof PublicIncident>;
export type LatencySummary = z.infer<typeof LatencySummary>;
