import type { Action, WebhookAction, WebhookEvent } from '../domain/model.ts';

/**
 * The generic JSON body of every delivery, in the shape the Standard Webhooks spec recommends (`type`,
 * `timestamp`, `data`). It is stored with the delivery; the other formats are rendered from it at each attempt.
 */
export interface WebhookEnvelope {
  readonly type: WebhookEvent;
  /** When the transition happened (ISO 8601), not when the delivery was attempted. */
  readonly timestamp: string;
  readonly data: WebhookEnvelopeData;
}

export interface WebhookEnvelopeData {
  /** The action's id (`<site>:<seq>:<n>`): the same event sent twice has the same id. */
  readonly eventId: string;
  readonly site: string;
  readonly incidentId: string | null;
  /** One key per incident (or per maintenance window): every tool's ticket identity derives from it. */
  readonly incidentKey: string;
  /** What the decider recorded with the event: link, modes, summary, vantage tallies (see docs/webhooks.md). */
  readonly [field: string]: unknown;
}

/** How an event moves the ticket of its incident in a ticketing tool. */
export type Lifecycle = 'open' | 'update' | 'resolve' | 'notice';

const LIFECYCLE: Record<WebhookEvent, Lifecycle> = {
  'incident.opened': 'open',
  'failover.started': 'update',
  'failover.completed': 'update',
  'both-down': 'update',
  degraded: 'update',
  'agent.command_failed': 'update',
  failback: 'resolve',
  resolved: 'resolve',
  'maintenance.started': 'notice',
  'maintenance.ended': 'notice',
};

/** Whether the event opens, updates or resolves its incident's ticket, or is a notice with no ticket. */
export function lifecycleOf(event: WebhookEvent): Lifecycle {
  return LIFECYCLE[event];
}

export type EventSeverity = 'critical' | 'warning' | 'info';

/** Critical while traffic is or may be lost, warning for degradation, info for the rest. */
export function severityOf(envelope: WebhookEnvelope): EventSeverity {
  switch (envelope.type) {
    case 'failover.started':
    case 'failover.completed':
    case 'both-down':
    case 'agent.command_failed':
      return 'critical';
    case 'degraded':
      return 'warning';
    case 'incident.opened':
      return envelope.data.kind === 'degraded' || envelope.data.kind === 'provider-outage' ? 'warning' : 'critical';
    default:
      return 'info';
  }
}

/**
 * The key of the incident an action belongs to: `failover-<incident id>` (for example `failover-store-12.7`), the
 * same for the failover that opens a ticket and the failback that resolves it. Maintenance events share the key of
 * their window; an event outside any incident gets one of its own. Only `[A-Za-z0-9._-]`, so that it is a valid
 * PagerDuty dedup_key, ServiceNow correlation_id, Zendesk external_id and Jira label alike.
 */
export function incidentKeyOf(action: Pick<WebhookAction, 'id' | 'site' | 'event' | 'incidentId' | 'data'>): string {
  if (action.event.startsWith('maintenance.') && typeof action.data.window === 'string')
    return `failover-${action.site}-maintenance-${action.data.window}`;
  if (action.incidentId) return `failover-${action.incidentId}`;
  return `failover-${action.id.replaceAll(':', '-')}`;
}

/** The generic body of a webhook action. */
export function envelopeOf(action: WebhookAction): WebhookEnvelope {
  return {
    type: action.event,
    timestamp: new Date(action.at).toISOString(),
    data: {
      ...action.data,
      eventId: action.id,
      site: action.site,
      incidentId: action.incidentId,
      incidentKey: incidentKeyOf(action),
    },
  };
}

/**
 * The `failover.completed` event of a failover whose traffic actions (DNS records, agent command) were all applied:
 * the started event's data, with when it completed and what was applied. Its id derives from the started event's,
 * so that a dispatcher that runs twice produces the same event. For the dispatcher (see docs/webhooks.md).
 */
export function failoverCompletedFor(started: WebhookAction, applied: readonly Action[], now: number): WebhookAction {
  const effects = applied
    .filter((a) => a.seq === started.seq && (a.kind === 'dns' || a.kind === 'agent-command'))
    .map((a) =>
      a.kind === 'dns'
        ? `DNS ${a.name} ${a.type} -> ${a.values.join(', ')}`
        : a.kind === 'agent-command'
          ? `agent ${a.command} to ${a.link}`
          : '',
    );
  return {
    kind: 'webhook',
    id: `${started.id}:completed`,
    site: started.site,
    seq: started.seq,
    at: now,
    event: 'failover.completed',
    incidentId: started.incidentId,
    data: { ...started.data, completedAt: new Date(now).toISOString(), applied: effects },
  };
}
