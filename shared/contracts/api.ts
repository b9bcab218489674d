import * as z from 'zod';
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
export function component<T extends z.ZodType>(id: string, schema: T): T {
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
const Reason = z.string().trim().min(1, 'a reason is required').max(500);

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
      until: Time.nullable(),
    })
    .describe("An operator's pin: automation is frozen on this link until cleared or until `until`."),
);

export const OperatorFailoverView = component(
  'OperatorFailover',
  z
    .object({ by: z.string(), reason: z.string(), at: Time, until: Time.nullable() })
    .describe(
      "An operator's (or a tool's) failover: the site stays on its backup until an operator fails back or until " +
        '`until` (null: until then); anything that brings traffic back to the primary ends it.',
    ),
);

export const MaintenanceInForce = component(
  'MaintenanceInForce',
  z.object({
    id: z.string(),
    startedAt: Time,
    endsAt: Time,
    healthyAtStart: z.boolean().describe('Whether the site was healthy when it began (then it stays quiet after).'),
    reason: z.string().nullable(),
    ticket: z.string().nullable(),
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
    modeSince: Time.nullable().describe('Null before the first decision.'),
    override: OverrideView.nullable(),
    operatorFailover: OperatorFailoverView.nullable(),
    maintenance: MaintenanceInForce.nullable(),
    incident: OpenIncidentView.nullable(),
    updatedAt: Time.nullable().describe('When the decider last changed the state; null before the first decision.'),
  }),
);

export const SiteList = component('SiteList', z.object({ items: z.array(SiteSummary) }));

/** RFC 9457 problem details: every error of the API, as `application/problem+json`. */
export const Problem = component(
  'Problem',
  z
    .object({
      type: z.string().describe('`about:blank`: the status says what kind of problem it is; `code` refines it.'),
      title: z.string().describe('The reason phrase of the status.'),
      status: z.number().int(),
      detail: z.string().optional().describe('What went wrong with this request, for people.'),
      instance: z.string().optional().describe('The request path.'),
      code: z.string().describe('Stable, machine-readable kind of problem, e.g. `override-conflict`.'),
      errors: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('Every invalid field of the request (400), e.g. `body.until`.'),
      requestId: z.string().optional(),
      current: SiteSummary.optional().describe(
        'A 409 of a site command: the site as it is now, the state the refused command met.',
      ),
    })
    .describe('A problem (RFC 9457).'),
);

export const LinkView = component(
  'Link',
  z.object({
    id: z.string(),
    role: z.enum(LINK_ROLES),
    active: z.boolean(),
    verdict: Verdict,
    degraded: z.boolean(),
    since: Time.nullable(),
  }),
);

export const CheckResult = component(
  'CheckResult',
  z
    .object({
      vantage: z.string(),
      link: z.string().nullable().describe('The link it went through (a dependency seen by the agent: its WAN link).'),
      outcome: Outcome,
      down: z.number().int().describe('Consecutive down rounds.'),
      notUp: z.number().int().describe('Consecutive rounds that were not up.'),
      up: z.number().int().describe('Consecutive up rounds.'),
      errorClass: z.string().nullable(),
      detail: z.string(),
      round: z.string(),
      at: Time,
    })
    .describe("One vantage's latest result of one check, with its counters."),
);

export const CheckView = component(
  'Check',
  z.object({
    id: z.string(),
    name: z.string().nullable(),
    kind: z.string(),
    link: z.string().nullable(),
    dependency: z.string().nullable(),
    results: z.array(CheckResult),
  }),
);

export const VantageView = component(
  'Vantage',
  z.object({
    id: z.string(),
    lastRound: z.string(),
    lastAt: Time,
    impaired: z.boolean().describe('Its control checks failed in its last round: it abstains.'),
    stale: z.boolean().describe('No round within staleAfterIntervals: it abstains.'),
    detail: z.string(),
  }),
);

const MissingRegion = z.object({
  region: z.string(),
  reason: z.enum(['stale', 'impaired', 'no data']),
  lastAt: Time.nullable().describe('Its last round; null when never heard from.'),
  detail: z.string().describe('Impaired: what its control checks said.'),
});

export const QuorumView = component(
  'Quorum',
  z
    .object({
      needed: z.number().int().describe("The policy's quorum."),
      regions: z.number().int().describe('Configured probe regions.'),
      reporting: z.number().int().describe('Regions with a fresh round whose control checks pass, now.'),
      lost: z
        .boolean()
        .describe('A quorum-lost episode is open: too few regions have reported for the grace (1.5 intervals).'),
      since: Time.nullable().describe('When the regions reporting fell short, for an open episode; else null.'),
      missing: z.array(MissingRegion).describe('The regions not counted now, and why.'),
    })
    .describe('Whether enough probe regions report on the site for the engine to decide.'),
);

export const SiteDetail = component(
  'SiteDetail',
  SiteSummary.extend({
    links: z.array(LinkView),
    checks: z.array(CheckView),
    vantages: z.array(VantageView),
    dependencies: z.array(z.object({ id: z.string(), outage: z.boolean(), since: Time })),
    primaryUpSince: Time.nullable(),
    quorum: QuorumView,
    damping: z.object({
      penalty: z.number().describe('As of now (it decays with the half-life).'),
      suppressed: z.boolean().describe('Automatic failback waits until the penalty decays below reuseLimit.'),
      suppressLimit: z.number(),
      reuseLimit: z.number(),
      reuseInSeconds: z.number().nullable(),
    }),
    policy: z.object({
      failback: z.enum(FAILBACK_MODES),
      holdDownSeconds: z.number(),
      quorum: z.number().int(),
      failureThreshold: z.number().int(),
      recoveryThreshold: z.number().int(),
      intervalSeconds: z.number(),
    }),
    pendingActions: z.number().int().describe('Actions (DNS, agent commands, alerts, webhooks) not yet applied.'),
    seq: z.number().int().describe('Sequence number of the last transition.'),
  }),
);

const CheckEvidence = z.object({
  check: z.string(),
  down: z.number().int(),
  notUp: z.number().int(),
  up: z.number().int(),
  lastOutcome: Outcome,
  lastErrorClass: z.string().nullable(),
  lastDetail: z.string(),
  lastAt: Time,
});

export const Explanation = component(
  'Explanation',
  z
    .object({
      summary: z.string(),
      text: z.string().describe('The whole explanation as lines of text, as alerts and the CLI show it.'),
      quorum: z.number().int(),
      failureThreshold: z.number().int(),
      recoveryThreshold: z.number().int(),
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
              reason: z.enum(['stale', 'impaired', 'no data', 'skipped']).optional(),
              checks: z.array(CheckEvidence),
            }),
          ),
        }),
      ),
      damping: z
        .object({
          penalty: z.number(),
          suppressLimit: z.number(),
          reuseLimit: z.number(),
          reuseInSeconds: z.number().nullable(),
        })
        .optional(),
      holdDown: z
        .object({
          primaryUpSince: Time.nullable(),
          countedFrom: Time.nullable()
            .optional()
            .describe('When the hold-down began counting: the later of primaryUpSince and the switch to the backup.'),
          holdDownSeconds: z.number(),
        })
        .optional(),
      regions: z
        .object({
          reporting: z.number().int(),
          total: z.number().int(),
          needed: z.number().int(),
          missing: z.array(MissingRegion),
        })
        .optional()
        .describe('quorum-lost and quorum-restored: how many regions reported, and why the others did not.'),
    })
    .describe('Why a transition happened: which vantages voted how, on which checks, with which counters.'),
);

export const TransitionView = component(
  'Transition',
  z.object({
    site: SiteId,
    seq: z.number().int(),
    at: Time,
    kind: TransitionKind,
    from: SiteMode,
    to: SiteMode,
    fromLink: z.string(),
    toLink: z.string(),
    suppressed: z.boolean().describe('Recorded, but people were not told (maintenance or override).'),
    incidentId: z.string().nullable(),
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
    resolvedAt: Time.nullable(),
    openedSeq: z.number().int(),
    lastSeq: z.number().int(),
    summary: z.string(),
    acknowledged: z.boolean(),
  }),
);

export const IncidentDetail = component(
  'IncidentDetail',
  IncidentView.extend({
    timeline: z.array(TransitionView).describe("The site's transitions from the one that opened it to its last."),
  }),
);

export const IncidentPage = component(
  'IncidentPage',
  z.object({
    items: z.array(IncidentView),
    next: z.string().nullable().describe('Cursor of the next page (also in the Link header); null on the last page.'),
  }),
);

/** `GET /v1/incidents` query. */
export const IncidentQuery = z
  .object({
    site: SiteId.optional(),
    status: IncidentStatus.optional(),
    since: TimeIn.optional().describe('Incidents opened at or after this time.'),
    limit: z.coerce.number().int().min(1).max(200).optional().describe('Page size, 1-200 (default 50).'),
    cursor: z.string().min(1).max(2048).optional().describe('The `next` of the previous page.'),
  })
  .strict();

export const PinRequest = component(
  'PinRequest',
  z
    .object({
      pin: z.enum(LINK_ROLES),
      reason: Reason,
      until: TimeIn.optional().describe('When the pin lapses by itself; absent: until cleared.'),
    })
    .strict(),
);
export const ClearOverrideRequest = component(
  'ClearOverrideRequest',
  z.object({ clear: z.literal(true), reason: Reason }).strict(),
);

/** `POST /v1/sites/{id}/override`: pin the site to its primary or best backup link, or clear the pin. */
export const OverrideRequest = component('OverrideRequest', z.union([PinRequest, ClearOverrideRequest]));

/** `POST /v1/sites/{id}/failback`, `POST /v1/incidents/{id}/acknowledge`. */
export const OperatorRequest = component('OperatorRequest', z.object({ reason: Reason }).strict());

/** `POST /v1/sites/{id}/failover`. */
export const FailoverRequest = component(
  'FailoverRequest',
  z
    .object({
      reason: Reason,
      until: TimeIn.optional().describe(
        'When automatic failback may resume (in the future, at most 7 days ahead); absent: when an operator fails back.',
      ),
    })
    .strict(),
);

export const CommandResult = component(
  'CommandResult',
  z.object({
    site: SiteSummary,
    transitions: z.array(TransitionView).describe('What the command changed, in order; empty when nothing changed.'),
  }),
);

/** `POST /v1/maintenance`. */
export const MaintenanceRequest = component(
  'MaintenanceRequest',
  z
    .object({
      site: SiteId,
      start: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-01T22:00' }),
      end: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-02T02:00' }),
      timezone: z
        .string()
        .min(1)
        .optional()
        .describe('IANA time zone of start and end when they carry no offset (default UTC).'),
      reason: Reason,
      ticket: z.string().trim().min(1).max(200).optional().describe('External change ticket reference.'),
    })
    .strict(),
);

export const MaintenanceWindowView = component(
  'MaintenanceWindow',
  z.object({
    id: z.string(),
    site: SiteId,
    source: z.enum(['api', 'config']).describe('Windows from sites.yaml cannot be deleted through the API.'),
    status: z.enum(['scheduled', 'active', 'ended', 'cancelled']),
    start: z.string().describe('As given, in `timezone` when it carries no offset.'),
    end: z.string(),
    timezone: z.string(),
    startAt: Time,
    endAt: Time,
    reason: z.string(),
    ticket: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: Time.nullable(),
  }),
);

export const MaintenanceResult = component(
  'MaintenanceResult',
  z.object({
    window: MaintenanceWindowView,
    transitions: z.array(TransitionView).describe('What the change did at once (a window starting or ending now).'),
  }),
);

export const MaintenanceList = component('MaintenanceList', z.object({ items: z.array(MaintenanceWindowView) }));

/** `GET /v1/maintenance` query. */
export const MaintenanceQuery = z.object({ site: SiteId.optional() }).strict();

export const WebhookEvent = z.enum(WEBHOOK_EVENTS);
export const WebhookFormat = z.enum(WEBHOOK_FORMATS);

const FormatOptions = z
  .object({
    source: z.string().min(1).max(200).optional(),
    projectKey: z.string().min(1).max(50).optional(),
    issueType: z.string().min(1).max(100).optional(),
    assignmentGroup: z.string().min(1).max(200).optional(),
    callerId: z.string().min(1).max(200).optional(),
    category: z.string().min(1).max(100).optional(),
    closeCode: z.string().min(1).max(100).optional(),
    groupId: z.number().int().positive().optional(),
    tags: z.array(z.string().min(1).max(100)).max(20).optional(),
  })
  .strict()
  .describe('Settings of the payload format that are no secret (Jira project key, ServiceNow group, ...).');

/** `POST /v1/webhooks`. */
export const WebhookSubscriptionRequest = component(
  'WebhookSubscriptionRequest',
  z
    .object({
      url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2048),
      events: z.array(WebhookEvent).max(WEBHOOK_EVENTS.length).optional().describe('Events to send; default all.'),
      format: WebhookFormat.optional().describe('Payload format; default generic (Standard Webhooks).'),
      sites: z.array(SiteId).optional().describe('Sites whose events are sent; default all.'),
      description: z.string().max(500).optional(),
      options: FormatOptions.optional(),
      headers: z
        .record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'expected a header name'), z.string().max(4096))
        .optional()
        .describe('Extra request headers, e.g. authorization for Jira or ServiceNow; kept sealed, never shown again.'),
      routingKey: z.string().min(1).max(200).optional().describe('PagerDuty Events v2 routing key; kept sealed.'),
    })
    .strict(),
);

export const WebhookSubscriptionView = component(
  'WebhookSubscription',
  z.object({
    id: z.string(),
    url: z.string(),
    format: WebhookFormat,
    events: z.array(WebhookEvent).describe('Empty: every event.'),
    sites: z.array(SiteId).describe('Empty: every site.'),
    description: z.string(),
    options: FormatOptions,
    enabled: z.boolean().describe('False once the receiver answered 410 Gone: nothing more is sent.'),
    disabledReason: z.string().nullable(),
    disabledAt: Time.nullable(),
    createdAt: Time,
  }),
);

export const WebhookSubscriptionCreated = component(
  'WebhookSubscriptionCreated',
  WebhookSubscriptionView.extend({
    secret: z.string().describe('The `whsec_` signing secret (Standard Webhooks). Shown in this answer only.'),
  }),
);

export const WebhookSubscriptionList = component(
  'WebhookSubscriptionList',
  z.object({ items: z.array(WebhookSubscriptionView) }),
);

export const DeliveryAttemptView = component(
  'DeliveryAttempt',
  z.object({
    n: z.number().int(),
    at: Time,
    durationMs: z.number(),
    status: z.number().int().nullable().describe("The receiver's HTTP status; null when it did not answer."),
    outcome: z.enum(ATTEMPT_OUTCOMES),
    error: z.string().nullable(),
    response: z.string().nullable().describe("The first bytes of the receiver's answer."),
    redelivery: z.boolean(),
  }),
);

export const DeliveryView = component(
  'WebhookDelivery',
  z.object({
    id: z.string().describe('The `webhook-id` header: the same for every attempt and redelivery.'),
    subscriptionId: z.string(),
    event: WebhookEvent,
    site: SiteId,
    incidentId: z.string().nullable(),
    createdAt: Time,
    status: z.enum(DELIVERY_STATUSES),
    statusReason: z.string().nullable().describe('Why it failed or was cancelled.'),
    attemptCount: z.number().int().describe('Attempts so far, redeliveries included.'),
    nextAttemptAt: Time.nullable(),
    attempts: z.array(DeliveryAttemptView).describe('Oldest first (the latest 50).'),
  }),
);

export const DeliveryPage = component(
  'WebhookDeliveryPage',
  z.object({ items: z.array(DeliveryView), next: z.string().nullable() }),
);

/** `GET /v1/webhooks/{id}/deliveries` query. */
export const DeliveryQuery = z
  .object({
    status: z.enum(DELIVERY_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(200).optional().describe('Page size, 1-200 (default 50).'),
    cursor: z.string().min(1).max(2048).optional(),
  })
  .strict();

export const RedeliverResult = component(
  'RedeliverResult',
  z.object({ delivery: DeliveryView, attempt: DeliveryAttemptView.describe('The attempt just made.') }),
);

/** `POST /v1/webhooks/{id}/disable`. */
export const DisableWebhookRequest = component(
  'DisableWebhookRequest',
  z.object({ reason: Reason.optional() }).strict(),
);

export const InboundHookResult = component(
  'InboundHookResult',
  z.object({
    source: z.string(),
    status: z.enum(['applied', 'ignored']).describe('ignored: the event maps to no action; nothing changed.'),
    detail: z.string(),
    action: z
      .enum(['failover', 'failback', 'incident.acknowledge', 'maintenance.open', 'maintenance.close'])
      .optional(),
    site: SiteId.optional(),
    transitions: z.array(TransitionKind).describe('Kinds of the transitions the action caused at once.'),
    windowId: z.string().optional().describe('The maintenance window opened or closed.'),
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
export type FailoverRequest = z.infer<typeof FailoverRequest>;
export type CommandResult = z.infer<typeof CommandResult>;
export type MaintenanceRequest = z.infer<typeof MaintenanceRequest>;
export type MaintenanceWindowView = z.infer<typeof MaintenanceWindowView>;
export type MaintenanceResult = z.infer<typeof MaintenanceResult>;
export type Problem = z.infer<typeof Problem>;
