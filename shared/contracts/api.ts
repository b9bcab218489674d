import * as z from 'zod/mini';
import './zod-english.ts';
import {
  ATTEMPT_OUTCOMES,
  DELIVERY_STATUSES,
  FAILBACK_MODES,
  INCIDENT_KINDS,
  INCIDENT_STATUSES,
  LINK_ROLES,
  TRANSITION_KINDS,
  VERDICTS,
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
} from './vocabulary.ts';
import { SiteId, SiteModeSchema } from './ids.ts';

/**
 * The HTTP API, version 1: every request and response body of `/v1/...`. Handlers validate requests with these
 * schemas and the OpenAPI document (`/v1/openapi.json`) is generated from them, so the two cannot drift. Times are
 * ISO 8601 strings in UTC; request times may carry any offset.
 */

/** The schemas that are OpenAPI components, by id. */
export const apiSchemas = z.registry<{ id: string }>();

/** Registers `schema` as the OpenAPI component `id`. */
export function component<T extends z.ZodMiniType>(id: string, schema: T): T {
  apiSchemas.add(schema, { id });
  return schema;
}

/** A time in a response: ISO 8601 in UTC. */
const Time = z.iso.datetime();
/** A time in a request: ISO 8601 with `Z` or an offset. */
const TimeIn = z.iso.datetime({
  offset: true,
  error: 'expected a date-time with an offset, e.g. 2026-12-01T22:00:00Z',
});
const Reason = z.string().check(z.trim()).check(z.minLength(1, 'a reason is required')).check(z.maxLength(500));

export { SiteId };
export const SiteMode = SiteModeSchema;
export const Verdict = z.enum(VERDICTS);
export const Outcome = z.enum(['up', 'degraded', 'down']);
export const TransitionKind = z.enum(TRANSITION_KINDS);
export const IncidentKind = z.enum(INCIDENT_KINDS);
export const IncidentStatus = z.enum(INCIDENT_STATUSES);

export const OverrideView = component(
  'Override',
  z
    .object({
      pin: z.enum(LINK_ROLES),
      link: z.string(),
      reason: z.string(),
      by: z.string(),
      at: Time,
      until: z.nullable(Time),
    })
    .check(z.describe("An operator's pin: automation is frozen on this link until cleared or until `until`.")),
);

export const OperatorFailoverView = component(
  'OperatorFailover',
  z
    .object({ by: z.string(), reason: z.string(), at: Time, until: z.nullable(Time) })
    .check(
      z.describe(
        "An operator's (or a tool's) failover: the site stays on its backup until an operator fails back or until " +
          '`until` (null: until then); anything that brings traffic back to the primary ends it.',
      ),
    ),
);

export const MaintenanceInForce = component(
  'MaintenanceInForce',
  z.object({
    id: z.string(),
    startedAt: Time,
    endsAt: Time,
    healthyAtStart: z
      .boolean()
      .check(z.describe('Whether the site was healthy when it began (then it stays quiet after).')),
    reason: z.nullable(z.string()),
    ticket: z.nullable(z.string()),
  }),
);

export const OpenIncidentView = component(
  'OpenIncident',
  z.object({
    id: z.string(),
    kind: IncidentKind,
    openedAt: Time,
    summary: z.string(),
    acknowledged: z.boolean(),
  }),
);

export const SiteSummary = component(
  'SiteSummary',
  z.object({
    id: SiteId,
    name: z.string(),
    mode: SiteMode,
    activeLink: z.string(),
    modeSince: z.nullable(Time).check(z.describe('Null before the first decision.')),
    override: z.nullable(OverrideView),
    operatorFailover: z.nullable(OperatorFailoverView),
    maintenance: z.nullable(MaintenanceInForce),
    incident: z.nullable(OpenIncidentView),
    updatedAt: z
      .nullable(Time)
      .check(z.describe('When the decider last changed the state; null before the first decision.')),
  }),
);

export const SiteList = component('SiteList', z.object({ items: z.array(SiteSummary) }));

/** An engagement of the mass-failover brake. */
export const BrakeEngagementView = component(
  'BrakeEngagement',
  z.object({
    id: z.string().check(z.describe('`brake-<since>`: the dedup key of its one `[BRAKE]` alert.')),
    since: Time,
    announcer: z.string().check(z.describe('The site whose decision engaged it and carried its alert.')),
  }),
);

/** An operator's release of the brake. */
export const BrakeReleaseView = component(
  'BrakeRelease',
  z.object({
    engagement: z.string().check(z.describe('The engagement released.')),
    by: z.string(),
    reason: z.string(),
    at: Time,
    until: Time.check(z.describe('One window after `at`: until then every automatic failover goes ahead.')),
  }),
);

/** `GET /v1/brake`. */
export const BrakeView = component(
  'Brake',
  z.object({
    enabled: z.boolean(),
    limit: z.number().check(z.describe('How many sites may fail over automatically within one window.')),
    sites: z.number(),
    windowSeconds: z.number(),
    failedOver: z.number().check(z.describe('Sites that failed over automatically within the window.')),
    engaged: z.boolean().check(z.describe('Automatic failovers are held now.')),
    engagement: z.nullable(BrakeEngagementView),
    releaseAt: z.nullable(Time).check(z.describe('When the engagement releases by itself if no site fails over.')),
    released: z.boolean().check(z.describe("An operator's release is in force (until `release.until`).")),
    release: z.nullable(BrakeReleaseView).check(z.describe("The latest operator's release, in force or not.")),
  }),
);

/** RFC 9457 problem details: every error of the API, as `application/problem+json`. */
export const Problem = component(
  'Problem',
  z
    .object({
      type: z
        .string()
        .check(z.describe('`about:blank`: the status says what kind of problem it is; `code` refines it.')),
      title: z.string().check(z.describe('The reason phrase of the status.')),
      status: z.int(),
      detail: z.optional(z.string()).check(z.describe('What went wrong with this request, for people.')),
      instance: z.optional(z.string()).check(z.describe('The request path.')),
      code: z.string().check(z.describe('Stable, machine-readable kind of problem, e.g. `override-conflict`.')),
      errors: z
        .optional(z.array(z.object({ path: z.string(), message: z.string() })))
        .check(z.describe('Every invalid field of the request (400), e.g. `body.until`.')),
      requestId: z.optional(z.string()),
      current: z
        .optional(SiteSummary)
        .check(z.describe('A 409 of a site command: the site as it is now, the state the refused command met.')),
      brake: z
        .optional(BrakeView)
        .check(z.describe('A 409 of a brake release: the brake as it is now (nothing engaged to release).')),
    })
    .check(z.describe('A problem (RFC 9457).')),
);

export const LinkView = component(
  'Link',
  z.object({
    id: z.string(),
    role: z.enum(LINK_ROLES),
    active: z.boolean(),
    verdict: Verdict,
    degraded: z.boolean(),
    since: z.nullable(Time),
  }),
);

export const CheckResult = component(
  'CheckResult',
  z
    .object({
      vantage: z.string(),
      link: z
        .nullable(z.string())
        .check(z.describe('The link it went through (a dependency seen by the agent: its WAN link).')),
      outcome: Outcome,
      down: z.int().check(z.describe('Consecutive down rounds.')),
      notUp: z.int().check(z.describe('Consecutive rounds that were not up.')),
      up: z.int().check(z.describe('Consecutive up rounds.')),
      errorClass: z.nullable(z.string()),
      detail: z.string(),
      round: z.string(),
      at: Time,
    })
    .check(z.describe("One vantage's latest result of one check, with its counters.")),
);

export const CheckView = component(
  'Check',
  z.object({
    id: z.string(),
    name: z.nullable(z.string()),
    kind: z.string(),
    link: z.nullable(z.string()),
    dependency: z.nullable(z.string()),
    results: z.array(CheckResult),
  }),
);

export const VantageView = component(
  'Vantage',
  z.object({
    id: z.string(),
    lastRound: z.string(),
    lastAt: Time,
    impaired: z.boolean().check(z.describe('Its control checks failed in its last round: it abstains.')),
    stale: z.boolean().check(z.describe('No round within staleAfterIntervals: it abstains.')),
    detail: z.string(),
  }),
);

const MissingRegion = z.object({
  region: z.string(),
  reason: z.enum(['stale', 'impaired', 'no data']),
  lastAt: z.nullable(Time).check(z.describe('Its last round; null when never heard from.')),
  detail: z.string().check(z.describe('Impaired: what its control checks said.')),
});

export const QuorumView = component(
  'Quorum',
  z
    .object({
      needed: z.int().check(z.describe("The policy's quorum.")),
      regions: z.int().check(z.describe('Configured probe regions.')),
      reporting: z.int().check(z.describe('Regions with a fresh round whose control checks pass, now.')),
      lost: z
        .boolean()
        .check(
          z.describe('A quorum-lost episode is open: too few regions have reported for the grace (1.5 intervals).'),
        ),
      since: z
        .nullable(Time)
        .check(z.describe('When the regions reporting fell short, for an open episode; else null.')),
      missing: z.array(MissingRegion).check(z.describe('The regions not counted now, and why.')),
    })
    .check(z.describe('Whether enough probe regions report on the site for the engine to decide.')),
);

export const SiteDetail = component(
  'SiteDetail',
  z.extend(SiteSummary, {
    links: z.array(LinkView),
    checks: z.array(CheckView),
    vantages: z.array(VantageView),
    dependencies: z.array(z.object({ id: z.string(), outage: z.boolean(), since: Time })),
    primaryUpSince: z.nullable(Time),
    quorum: QuorumView,
    damping: z.object({
      penalty: z.number().check(z.describe('As of now (it decays with the half-life).')),
      suppressed: z.boolean().check(z.describe('Automatic failback waits until the penalty decays below reuseLimit.')),
      suppressLimit: z.number(),
      reuseLimit: z.number(),
      reuseInSeconds: z.nullable(z.number()),
    }),
    policy: z.object({
      failback: z.enum(FAILBACK_MODES),
      holdDownSeconds: z.number(),
      quorum: z.int(),
      failureThreshold: z.int(),
      recoveryThreshold: z.int(),
      intervalSeconds: z.number(),
    }),
    pendingActions: z.int().check(z.describe('Actions (DNS, agent commands, alerts, webhooks) not yet applied.')),
    seq: z.int().check(z.describe('Sequence number of the last transition.')),
  }),
);

const CheckEvidence = z.object({
  check: z.string(),
  down: z.int(),
  notUp: z.int(),
  up: z.int(),
  lastOutcome: Outcome,
  lastErrorClass: z.nullable(z.string()),
  lastDetail: z.string(),
  lastAt: Time,
});

export const Explanation = component(
  'Explanation',
  z
    .object({
      summary: z.string(),
      text: z.string().check(z.describe('The whole explanation as lines of text, as alerts and the CLI show it.')),
      quorum: z.int(),
      failureThreshold: z.int(),
      recoveryThreshold: z.int(),
      paths: z.array(
        z.object({
          path: z.string(),
          role: z.enum(['primary', 'backup', 'dependency']),
          verdict: Verdict,
          degraded: z.boolean(),
          votes: z.array(
            z.object({
              vantage: z.string(),
              vote: z.enum(['down', 'degraded', 'up', 'undecided', 'abstain']),
              reason: z.optional(z.enum(['stale', 'impaired', 'no data', 'skipped'])),
              checks: z.array(CheckEvidence),
            }),
          ),
        }),
      ),
      damping: z.optional(
        z.object({
          penalty: z.number(),
          suppressLimit: z.number(),
          reuseLimit: z.number(),
          reuseInSeconds: z.nullable(z.number()),
        }),
      ),
      holdDown: z.optional(
        z.object({
          primaryUpSince: z.nullable(Time),
          countedFrom: z
            .optional(z.nullable(Time))
            .check(
              z.describe(
                'When the hold-down began counting: the later of primaryUpSince and the switch to the backup.',
              ),
            ),
          holdDownSeconds: z.number(),
        }),
      ),
      regions: z
        .optional(
          z.object({
            reporting: z.int(),
            total: z.int(),
            needed: z.int(),
            missing: z.array(MissingRegion),
          }),
        )
        .check(z.describe('quorum-lost and quorum-restored: how many regions reported, and why the others did not.')),
    })
    .check(z.describe('Why a transition happened: which vantages voted how, on which checks, with which counters.')),
);

export const TransitionView = component(
  'Transition',
  z.object({
    site: SiteId,
    seq: z.int(),
    at: Time,
    kind: TransitionKind,
    from: SiteMode,
    to: SiteMode,
    fromLink: z.string(),
    toLink: z.string(),
    suppressed: z.boolean().check(z.describe('Recorded, but people were not told (maintenance or override).')),
    incidentId: z.nullable(z.string()),
    explanation: Explanation,
  }),
);

export const IncidentView = component(
  'Incident',
  z.object({
    id: z.string(),
    site: SiteId,
    kind: IncidentKind,
    status: IncidentStatus,
    openedAt: Time,
    resolvedAt: z.nullable(Time),
    openedSeq: z.int(),
    lastSeq: z.int(),
    summary: z.string(),
    acknowledged: z.boolean(),
  }),
);

export const IncidentDetail = component(
  'IncidentDetail',
  z.extend(IncidentView, {
    timeline: z
      .array(TransitionView)
      .check(z.describe("The site's transitions from the one that opened it to its last.")),
  }),
);

export const IncidentPage = component(
  'IncidentPage',
  z.object({
    items: z.array(IncidentView),
    next: z
      .nullable(z.string())
      .check(z.describe('Cursor of the next page (also in the Link header); null on the last page.')),
  }),
);

/** `GET /v1/incidents` query. */
export const IncidentQuery = z.strictObject({
  site: z.optional(SiteId),
  status: z.optional(IncidentStatus),
  since: z.optional(TimeIn).check(z.describe('Incidents opened at or after this time.')),
  limit: z
    .optional(z.coerce.number().check(z.int()).check(z.minimum(1)).check(z.maximum(200)))
    .check(z.describe('Page size, 1-200 (default 50).')),
  cursor: z
    .optional(z.string().check(z.minLength(1)).check(z.maxLength(2048)))
    .check(z.describe('The `next` of the previous page.')),
});

export const PinRequest = component(
  'PinRequest',
  z.strictObject({
    pin: z.enum(LINK_ROLES),
    reason: Reason,
    until: z.optional(TimeIn).check(z.describe('When the pin lapses by itself; absent: until cleared.')),
  }),
);
export const ClearOverrideRequest = component(
  'ClearOverrideRequest',
  z.strictObject({ clear: z.literal(true), reason: Reason }),
);

/** `POST /v1/sites/{id}/override`: pin the site to its primary or best backup link, or clear the pin. */
export const OverrideRequest = component('OverrideRequest', z.union([PinRequest, ClearOverrideRequest]));

/** `POST /v1/sites/{id}/failback`, `POST /v1/incidents/{id}/acknowledge`. */
export const OperatorRequest = component('OperatorRequest', z.strictObject({ reason: Reason }));

/** `POST /v1/sites/{id}/failover`. */
export const FailoverRequest = component(
  'FailoverRequest',
  z.strictObject({
    reason: Reason,
    until: z
      .optional(TimeIn)
      .check(
        z.describe(
          'When automatic failback may resume (in the future, at most 7 days ahead); absent: when an operator fails back.',
        ),
      ),
  }),
);

export const CommandResult = component(
  'CommandResult',
  z.object({
    site: SiteSummary,
    transitions: z
      .array(TransitionView)
      .check(z.describe('What the command changed, in order; empty when nothing changed.')),
  }),
);

/** `POST /v1/brake/release`. */
export const BrakeReleaseResult = component(
  'BrakeReleaseResult',
  z.object({
    brake: BrakeView,
    released: BrakeEngagementView,
    alert: z.object({ sent: z.boolean(), detail: z.string() }),
  }),
);

/** `POST /v1/maintenance`. */
export const MaintenanceRequest = component(
  'MaintenanceRequest',
  z.strictObject({
    site: SiteId,
    start: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-01T22:00' }),
    end: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-02T02:00' }),
    timezone: z
      .optional(z.string().check(z.minLength(1)))
      .check(z.describe('IANA time zone of start and end when they carry no offset (default UTC).')),
    reason: Reason,
    ticket: z
      .optional(z.string().check(z.trim()).check(z.minLength(1)).check(z.maxLength(200)))
      .check(z.describe('External change ticket reference.')),
  }),
);

export const MaintenanceWindowView = component(
  'MaintenanceWindow',
  z.object({
    id: z.string(),
    site: SiteId,
    source: z.enum(['api', 'config']).check(z.describe('Windows from sites.yaml cannot be deleted through the API.')),
    status: z.enum(['scheduled', 'active', 'ended', 'cancelled']),
    start: z.string().check(z.describe('As given, in `timezone` when it carries no offset.')),
    end: z.string(),
    timezone: z.string(),
    startAt: Time,
    endAt: Time,
    reason: z.string(),
    ticket: z.nullable(z.string()),
    createdBy: z.nullable(z.string()),
    createdAt: z.nullable(Time),
  }),
);

export const MaintenanceResult = component(
  'MaintenanceResult',
  z.object({
    window: MaintenanceWindowView,
    transitions: z
      .array(TransitionView)
      .check(z.describe('What the change did at once (a window starting or ending now).')),
  }),
);

export const MaintenanceList = component('MaintenanceList', z.object({ items: z.array(MaintenanceWindowView) }));

/** `GET /v1/maintenance` query. */
export const MaintenanceQuery = z.strictObject({ site: z.optional(SiteId) });

export const WebhookEvent = z.enum(WEBHOOK_EVENTS);
export const WebhookFormat = z.enum(WEBHOOK_FORMATS);

const FormatOptions = z
  .strictObject({
    source: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
    projectKey: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(50))),
    issueType: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(100))),
    assignmentGroup: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
    callerId: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
    category: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(100))),
    closeCode: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(100))),
    groupId: z.optional(z.int().check(z.positive())),
    tags: z.optional(z.array(z.string().check(z.minLength(1)).check(z.maxLength(100))).check(z.maxLength(20))),
  })
  .check(z.describe('Settings of the payload format that are no secret (Jira project key, ServiceNow group, ...).'));

/** `POST /v1/webhooks`. */
export const WebhookSubscriptionRequest = component(
  'WebhookSubscriptionRequest',
  z.strictObject({
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).check(z.maxLength(2048)),
    events: z
      .optional(z.array(WebhookEvent).check(z.maxLength(WEBHOOK_EVENTS.length)))
      .check(z.describe('Events to send; default all.')),
    format: z.optional(WebhookFormat).check(z.describe('Payload format; default generic (Standard Webhooks).')),
    sites: z.optional(z.array(SiteId)).check(z.describe('Sites whose events are sent; default all.')),
    description: z.optional(z.string().check(z.maxLength(500))),
    options: z.optional(FormatOptions),
    headers: z
      .optional(
        z.record(
          z.string().check(z.regex(/^[A-Za-z0-9-]{1,100}$/, 'expected a header name')),
          z.string().check(z.maxLength(4096)),
        ),
      )
      .check(
        z.describe('Extra request headers, e.g. authorization for Jira or ServiceNow; kept sealed, never shown again.'),
      ),
    routingKey: z
      .optional(z.string().check(z.minLength(1)).check(z.maxLength(200)))
      .check(z.describe('PagerDuty Events v2 routing key; kept sealed.')),
  }),
);

export const WebhookSubscriptionView = component(
  'WebhookSubscription',
  z.object({
    id: z.string(),
    url: z.string(),
    format: WebhookFormat,
    events: z.array(WebhookEvent).check(z.describe('Empty: every event.')),
    sites: z.array(SiteId).check(z.describe('Empty: every site.')),
    description: z.string(),
    options: FormatOptions,
    enabled: z.boolean().check(z.describe('False once the receiver answered 410 Gone: nothing more is sent.')),
    disabledReason: z.nullable(z.string()),
    disabledAt: z.nullable(Time),
    createdAt: Time,
  }),
);

export const WebhookSubscriptionCreated = component(
  'WebhookSubscriptionCreated',
  z.extend(WebhookSubscriptionView, {
    secret: z.string().check(z.describe('The `whsec_` signing secret (Standard Webhooks). Shown in this answer only.')),
  }),
);

export const WebhookSubscriptionList = component(
  'WebhookSubscriptionList',
  z.object({ items: z.array(WebhookSubscriptionView) }),
);

export const DeliveryAttemptView = component(
  'DeliveryAttempt',
  z.object({
    n: z.int(),
    at: Time,
    durationMs: z.number(),
    status: z.nullable(z.int()).check(z.describe("The receiver's HTTP status; null when it did not answer.")),
    outcome: z.enum(ATTEMPT_OUTCOMES),
    error: z.nullable(z.string()),
    response: z.nullable(z.string()).check(z.describe("The first bytes of the receiver's answer.")),
    redelivery: z.boolean(),
  }),
);

export const DeliveryView = component(
  'WebhookDelivery',
  z.object({
    id: z.string().check(z.describe('The `webhook-id` header: the same for every attempt and redelivery.')),
    subscriptionId: z.string(),
    event: WebhookEvent,
    site: SiteId,
    incidentId: z.nullable(z.string()),
    createdAt: Time,
    status: z.enum(DELIVERY_STATUSES),
    statusReason: z.nullable(z.string()).check(z.describe('Why it failed or was cancelled.')),
    attemptCount: z.int().check(z.describe('Attempts so far, redeliveries included.')),
    nextAttemptAt: z.nullable(Time),
    attempts: z.array(DeliveryAttemptView).check(z.describe('Oldest first (the latest 50).')),
  }),
);

export const DeliveryPage = component(
  'WebhookDeliveryPage',
  z.object({ items: z.array(DeliveryView), next: z.nullable(z.string()) }),
);

/** `GET /v1/webhooks/{id}/deliveries` query. */
export const DeliveryQuery = z.strictObject({
  status: z.optional(z.enum(DELIVERY_STATUSES)),
  limit: z
    .optional(z.coerce.number().check(z.int()).check(z.minimum(1)).check(z.maximum(200)))
    .check(z.describe('Page size, 1-200 (default 50).')),
  cursor: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(2048))),
});

export const RedeliverResult = component(
  'RedeliverResult',
  z.object({ delivery: DeliveryView, attempt: DeliveryAttemptView.check(z.describe('The attempt just made.')) }),
);

/** `POST /v1/webhooks/{id}/disable`. */
export const DisableWebhookRequest = component('DisableWebhookRequest', z.strictObject({ reason: z.optional(Reason) }));

export const InboundHookResult = component(
  'InboundHookResult',
  z.object({
    source: z.string(),
    status: z.enum(['applied', 'ignored']).check(z.describe('ignored: the event maps to no action; nothing changed.')),
    detail: z.string(),
    action: z.optional(
      z.enum(['failover', 'failback', 'incident.acknowledge', 'maintenance.open', 'maintenance.close']),
    ),
    site: z.optional(SiteId),
    transitions: z.array(TransitionKind).check(z.describe('Kinds of the transitions the action caused at once.')),
    windowId: z.optional(z.string()).check(z.describe('The maintenance window opened or closed.')),
  }),
);

export type SiteSummary = z.infer<typeof SiteSummary>;
export type SiteDetail = z.infer<typeof SiteDetail>;
export type TransitionView = z.infer<typeof TransitionView>;
export type IncidentView = z.infer<typeof IncidentView>;
export type IncidentDetail = z.infer<typeof IncidentDetail>;
export type IncidentPage = z.infer<typeof IncidentPage>;
export type OverrideRequest = z.infer<typeof OverrideRequest>;
export type OperatorRequest = z.infer<typeof OperatorRequest>;
export type BrakeView = z.infer<typeof BrakeView>;
export type BrakeReleaseResult = z.infer<typeof BrakeReleaseResult>;
export type FailoverRequest = z.infer<typeof FailoverRequest>;
export type CommandResult = z.infer<typeof CommandResult>;
export type MaintenanceRequest = z.infer<typeof MaintenanceRequest>;
export type MaintenanceWindowView = z.infer<typeof MaintenanceWindowView>;
export type MaintenanceResult = z.infer<typeof MaintenanceResult>;
export type Problem = z.infer<typeof Problem>;
