import type { FormatOptions, SubscriptionSecrets, WebhookFormat } from '../ports/webhook-store.ts';
import { lifecycleOf, severityOf, type EventSeverity, type Lifecycle, type WebhookEnvelope } from './events.ts';

/** The formats that are messages for people rather than alerts or tickets: they carry every event. */
const CHAT_FORMATS: ReadonlySet<WebhookFormat> = new Set(['generic', 'slack', 'teams']);

/**
 * Whether a format carries an event at all: the ticketing and paging formats have no ticket for maintenance notices
 * (a window is planned work, not an incident); the generic and chat formats (Slack, Teams) carry everything.
 */
export function formatCarries(format: WebhookFormat, envelope: Pick<WebhookEnvelope, 'type'>): boolean {
  return CHAT_FORMATS.has(format) || lifecycleOf(envelope.type) !== 'notice';
}

/**
 * Where one delivery goes: the subscription's URL, except for Opsgenie's resolution, which closes the alert by its
 * alias at `<url>/<alias>/close?identifierType=alias` (the Alert API has no single endpoint for both).
 */
export function deliveryUrl(format: WebhookFormat, url: string, envelope: WebhookEnvelope): string {
  if (format !== 'opsgenie' || lifecycleOf(envelope.type) !== 'resolve') return url;
  const target = new URL(url);
  target.pathname = `${target.pathname.replace(/\/+$/, '')}/${encodeURIComponent(envelope.data.incidentKey)}/close`;
  target.searchParams.set('identifierType', 'alias');
  return target.toString();
}

/** The request body of one delivery in the subscription's format (JSON text). */
export function renderBody(
  format: WebhookFormat,
  envelope: WebhookEnvelope,
  options: FormatOptions,
  secrets: Pick<SubscriptionSecrets, 'routingKey'>,
): string {
  switch (format) {
    case 'generic':
      return JSON.stringify(envelope);
    case 'pagerduty':
      return JSON.stringify(pagerDuty(envelope, options, secrets.routingKey ?? ''));
    case 'opsgenie':
      return JSON.stringify(opsgenie(envelope, options));
    case 'slack':
      return JSON.stringify(slack(envelope, options));
    case 'teams':
      return JSON.stringify(teams(envelope, options));
    case 'servicenow':
      return JSON.stringify(serviceNow(envelope, options));
    case 'jira':
      return JSON.stringify(jira(envelope, options));
    case 'zendesk':
      return JSON.stringify(zendesk(envelope, options));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Words shared by every format

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** One line naming what happened, e.g. `Failover started at Store 12: fiber -> lte`. */
export function titleOf(e: WebhookEnvelope): string {
  const d = e.data;
  const site = str(d.siteName) ?? d.site;
  switch (e.type) {
    case 'incident.opened':
      return `Incident opened at ${site}: ${str(d.kind) ?? 'outage'}`;
    case 'failover.started':
      return `Failover started at ${site}: ${str(d.fromLink) ?? '?'} -> ${str(d.toLink) ?? '?'}`;
    case 'failover.completed':
      return `Failover completed at ${site}: traffic on ${str(d.toLink) ?? '?'}`;
    case 'failback':
      return `Failback at ${site}: back on ${str(d.toLink) ?? 'the primary'}`;
    case 'both-down':
      return `All links down at ${site}`;
    case 'degraded':
      return `${str(d.toLink) ?? 'Active link'} degraded at ${site}`;
    case 'resolved':
      return `Resolved at ${site}`;
    case 'maintenance.started':
      return `Maintenance ${str(d.window) ?? ''} started at ${site}`;
    case 'maintenance.ended':
      return `Maintenance ${str(d.window) ?? ''} ended at ${site}`;
    case 'agent.command_failed':
      return `Agent command ${str(d.command) ?? ''} to ${str(d.link) ?? '?'} failed at ${site}`;
  }
}

/** The story in plain lines: the decider's summary, the vantage tallies, what was applied, the incident. */
export function detailLines(e: WebhookEnvelope): string[] {
  const d = e.data;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return [
    str(d.summary) ?? str(d.reason) ?? str(d.error),
    ...list(d.paths),
    ...list(d.applied).map((a) => `Applied: ${a}`),
    str(d.ticket) ? `Change ticket ${d.ticket as string}` : undefined,
    d.incidentId ? `Incident ${d.incidentId}` : undefined,
    `${e.type} at ${e.timestamp}`,
  ].filter((l): l is string => l !== undefined);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/** A Jira label or Zendesk tag: no spaces, lower case for Zendesk. */
function tagOf(text: string): string {
  return text.replace(/\s+/g, '_').slice(0, 255);
}

// ---------------------------------------------------------------------------------------------------------------
// PagerDuty Events API v2 (https://events.pagerduty.com/v2/enqueue)

const PD_ACTION: Record<Lifecycle, 'trigger' | 'resolve'> = {
  open: 'trigger',
  update: 'trigger',
  resolve: 'resolve',
  notice: 'trigger',
};

/**
 * An Events v2 alert event: `trigger` (with the payload) while the incident is open, `resolve` when it ends, both
 * with the incident key as `dedup_key`, so that PagerDuty keeps one alert per incident.
 */
export function pagerDuty(e: WebhookEnvelope, options: FormatOptions, routingKey: string): Record<string, unknown> {
  const action = PD_ACTION[lifecycleOf(e.type)];
  const base = { routing_key: routingKey, event_action: action, dedup_key: e.data.incidentKey };
  if (action !== 'trigger') return base;
  const severity: Record<EventSeverity, string> = { critical: 'critical', warning: 'warning', info: 'info' };
  const component = str(e.data.toLink) ?? str(e.data.link);
  return {
    ...base,
    payload: {
      summary: clip(`${titleOf(e)}${str(e.data.summary) ? ` - ${e.data.summary as string}` : ''}`, 1024),
      source: options.source ?? e.data.site,
      severity: severity[severityOf(e)],
      timestamp: e.timestamp,
      ...(component ? { component } : {}),
      group: e.data.site,
      class: e.type,
      custom_details: e.data,
    },
    client: 'failover',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Opsgenie Alert API v2 (https://api.opsgenie.com/v2/alerts, or api.eu.opsgenie.com)

const OG_PRIORITY: Record<EventSeverity, string> = { critical: 'P1', warning: 'P3', info: 'P5' };

/**
 * A create-alert body while the incident is open (Opsgenie folds a create with the alias of an open alert into it,
 * as PagerDuty does with a `dedup_key`), and a close-alert body on the resolution, which {@link deliveryUrl} sends
 * to the alert's close endpoint. The alias is the incident key, the identity PagerDuty's `dedup_key` carries.
 */
export function opsgenie(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  const source = options.source ?? e.data.site;
  const text = detailLines(e).join('\n');
  if (lifecycleOf(e.type) === 'resolve')
    return { source, user: 'failover', note: clip(`${titleOf(e)}\n${text}`, 25000) };
  const component = str(e.data.toLink) ?? str(e.data.link);
  return {
    message: clip(titleOf(e), 130),
    alias: clip(e.data.incidentKey, 512),
    description: clip(text, 15000),
    source: clip(source, 100),
    entity: clip(e.data.site, 512),
    priority: OG_PRIORITY[severityOf(e)],
    tags: ['failover', e.type, ...(options.tags ?? [])].map((t) => clip(t, 50)),
    details: {
      site: e.data.site,
      event: e.type,
      incidentKey: e.data.incidentKey,
      ...(e.data.incidentId ? { incidentId: e.data.incidentId } : {}),
      ...(component ? { link: component } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Slack (incoming webhook message with Block Kit)

const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const SLACK_ICON: Record<EventSeverity, string> = {
  critical: ':red_circle:',
  warning: ':warning:',
  info: ':information_source:',
};

/** A message with `text` (the notification fallback) and blocks: a header, the story, a context line. */
export function slack(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  const title = titleOf(e);
  const lines = detailLines(e).slice(0, -1);
  const context = [
    `*Site* ${escapeMrkdwn(options.source ?? e.data.site)}`,
    ...(e.data.incidentId ? [`*Incident* ${escapeMrkdwn(e.data.incidentId)}`] : []),
    `${e.type} · <!date^${Math.floor(Date.parse(e.timestamp) / 1000)}^{date_short_pretty} {time_secs}|${e.timestamp}>`,
  ];
  return {
    text: `${SLACK_ICON[severityOf(e)]} ${title}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } },
      ...(lines.length > 0
        ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(lines.map(escapeMrkdwn).join('\n'), 3000) } }]
        : []),
      { type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text })) },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Microsoft Teams (a Workflows "When a Teams webhook request is received" trigger: a message with an Adaptive Card)

const TEAMS_COLOR: Record<EventSeverity, string> = { critical: 'Attention', warning: 'Warning', info: 'Accent' };

/**
 * A message with one Adaptive Card (1.4): the title in the severity's color, the story, and facts naming the site,
 * the incident and its key (the identity PagerDuty's `dedup_key` carries) and the event.
 */
export function teams(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  const lines = detailLines(e).slice(0, -1);
  const facts = [
    { title: 'Site', value: options.source ?? e.data.site },
    ...(e.data.incidentId ? [{ title: 'Incident', value: e.data.incidentId }] : []),
    { title: 'Incident key', value: e.data.incidentKey },
    { title: 'Event', value: e.type },
    { title: 'At', value: e.timestamp },
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: clip(titleOf(e), 250),
              weight: 'Bolder',
              size: 'Medium',
              color: TEAMS_COLOR[severityOf(e)],
              wrap: true,
            },
            ...lines.map((line) => ({ type: 'TextBlock', text: clip(line, 2000), wrap: true, spacing: 'Small' })),
            { type: 'FactSet', facts },
          ],
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ServiceNow incident (Table API / Import Set API body)

const SN_LEVEL: Record<EventSeverity, string> = { critical: '1', warning: '2', info: '3' };

/**
 * Fields of an `incident` record, keyed by `correlation_id` (the incident key): the opening event sets `state` 1
 * (New), updates add `work_notes`, the resolution sets `state` 6 (Resolved) with `close_code` and `close_notes`.
 * Posted to an Import Set API staging table that coalesces on `correlation_id`, the failback resolves the record
 * the failover opened.
 */
export function serviceNow(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  const lifecycle = lifecycleOf(e.type);
  const text = detailLines(e).join('\n');
  const level = SN_LEVEL[severityOf(e)];
  const identity = { correlation_id: clip(e.data.incidentKey, 100), correlation_display: 'failover' };
  if (lifecycle === 'resolve')
    return {
      ...identity,
      state: '6',
      close_code: options.closeCode ?? 'Solution provided',
      close_notes: text,
      work_notes: `${titleOf(e)}\n${text}`,
    };
  return {
    ...identity,
    short_description: clip(titleOf(e), 160),
    ...(lifecycle === 'open'
      ? {
          description: text,
          state: '1',
          category: options.category ?? 'network',
          ...(options.assignmentGroup ? { assignment_group: options.assignmentGroup } : {}),
          ...(options.callerId ? { caller_id: options.callerId } : {}),
        }
      : {}),
    urgency: level,
    impact: level,
    work_notes: `${titleOf(e)}\n${text}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Jira issue (REST API v3 create-issue body, description in Atlassian Document Format)

type AdfNode = Record<string, unknown>;
const adfText = (text: string): AdfNode => ({ type: 'text', text });
const adfParagraph = (text: string): AdfNode => ({ type: 'paragraph', content: [adfText(text)] });

/** The description as an ADF document: a heading, the summary, the evidence as a bullet list, a footer. */
export function adfDescription(e: WebhookEnvelope): AdfNode {
  const lines = detailLines(e);
  const [first, ...rest] = lines;
  const footer = rest.pop();
  return {
    type: 'doc',
    version: 1,
    content: [
      { type: 'heading', attrs: { level: 3 }, content: [adfText(titleOf(e))] },
      ...(first ? [adfParagraph(first)] : []),
      ...(rest.length > 0
        ? [
            {
              type: 'bulletList',
              content: rest.map((line) => ({ type: 'listItem', content: [adfParagraph(line)] })),
            },
          ]
        : []),
      ...(footer ? [adfParagraph(footer)] : []),
    ],
  };
}

/**
 * A create-issue body (`fields` with project, issue type, summary, ADF description and labels) plus an entity
 * property `failover` naming the incident key and whether the incident is open or resolved. The label
 * `failover-<incident>` is the ticket's identity: a Jira Automation rule (incoming webhook) finds the issue by it
 * and comments on or transitions it instead of creating another.
 */
export function jira(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  const lifecycle = lifecycleOf(e.type);
  return {
    fields: {
      project: { key: options.projectKey ?? '' },
      issuetype: { name: options.issueType ?? 'Task' },
      summary: clip(titleOf(e), 255),
      description: adfDescription(e),
      labels: ['failover', e.data.incidentKey, ...(options.tags ?? []).map(tagOf)],
    },
    properties: [
      {
        key: 'failover',
        value: {
          incidentKey: e.data.incidentKey,
          incidentId: e.data.incidentId,
          event: e.type,
          eventId: e.data.eventId,
          state: lifecycle === 'resolve' ? 'resolved' : 'open',
        },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Zendesk ticket (Tickets API body)

const ZD_PRIORITY: Record<EventSeverity, string> = { critical: 'urgent', warning: 'high', info: 'normal' };
const ZD_STATUS: Record<Lifecycle, string> = { open: 'new', update: 'open', resolve: 'solved', notice: 'open' };

/**
 * A `{ ticket }` body: subject, an internal comment with the story, priority, type `incident`, a status (new, open,
 * solved) and `external_id` = the incident key, by which a trigger or relay finds the ticket the failover opened.
 */
export function zendesk(e: WebhookEnvelope, options: FormatOptions): Record<string, unknown> {
  return {
    ticket: {
      subject: clip(titleOf(e), 150),
      comment: { body: detailLines(e).join('\n'), public: false },
      priority: ZD_PRIORITY[severityOf(e)],
      type: 'incident',
      status: ZD_STATUS[lifecycleOf(e.type)],
      external_id: e.data.incidentKey,
      tags: ['failover', tagOf(e.data.site).toLowerCase(), ...(options.tags ?? []).map((t) => tagOf(t).toLowerCase())],
      ...(options.groupId !== undefined ? { group_id: options.groupId } : {}),
    },
  };
}
