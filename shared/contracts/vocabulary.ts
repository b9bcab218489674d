/**
 * The closed sets of names that cross a process (API bodies, webhook payloads, scenarios): one const array each,
 * feeding `z.enum` and the TypeScript union.
 */

/** Every kind of transition the engine records. */
export const TRANSITION_KINDS = [
  'failover',
  'failover-held',
  'failback',
  'both-down',
  'recovered',
  'degraded',
  'degraded-cleared',
  'provider-outage',
  'provider-restored',
  'damping-hold',
  'override',
  'override-cleared',
  'quorum-lost',
  'quorum-restored',
  'maintenance-started',
  'maintenance-ended',
  'acknowledged',
  'reminder',
  'action-failed',
  'dns-drift',
  // A fleet event, not a site's transition: the alert of an operator's release of the mass-failover brake.
  'brake-released',
] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

/**
 * The events of alerts that speak for the fleet, not for the site that carries them (the mass-failover brake's
 * `[BRAKE]` and `[BRAKE RELEASED]`): they reach every subscriber of their topic, whatever sites it filters on.
 */
export const FLEET_ALERT_EVENTS = ['failover-held', 'brake-released'] as const satisfies readonly TransitionKind[];

/** Every outbound webhook event, in the order of an incident's life. */
export const WEBHOOK_EVENTS = [
  'incident.opened',
  'failover.started',
  'failover.completed',
  'failback',
  'both-down',
  'degraded',
  'resolved',
  'maintenance.started',
  'maintenance.ended',
  'agent.command_failed',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The payload formats a webhook subscription can ask for. */
export const WEBHOOK_FORMATS = [
  'generic',
  'pagerduty',
  'opsgenie',
  'slack',
  'teams',
  'servicenow',
  'jira',
  'zendesk',
] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A link's role in its site; a pin names one of them. */
export const LINK_ROLES = ['primary', 'backup'] as const;
export type LinkRole = (typeof LINK_ROLES)[number];

/** How a site comes back to its primary. */
export const FAILBACK_MODES = ['auto', 'manual'] as const;

/** What a link is judged, per region and overall. */
export const VERDICTS = ['up', 'down', 'unknown'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The kinds of incident the engine opens, and an incident's status. */
export const INCIDENT_KINDS = ['failover', 'both-down', 'degraded', 'provider-outage'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];
export const INCIDENT_STATUSES = ['open', 'resolved'] as const;

/** A webhook delivery's status, and the outcome of one of its attempts. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const ATTEMPT_OUTCOMES = ['ok', 'retry', 'gone', 'failed'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];
