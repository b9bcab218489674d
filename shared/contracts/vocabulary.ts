/**
 * The closed sets of names that cross a process (API bodies, webhook payloads, scenarios): one const array each,
 * feeding `z.enum` and the TypeScript union.
 */

/** Every kind of transition the engine records. */
export const TRANSITION_KINDS = [
  'failover',
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
] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

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
