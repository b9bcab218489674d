import { describe, expect, it } from 'vitest';
import type { WebhookAction } from '../../shared/domain/model.ts';
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS } from '../../shared/contracts/vocabulary.ts';
import { envelopeOf, failoverCompletedFor, incidentKeyOf } from '../../shared/webhooks/events.ts';
import { deliveryUrl, formatCarries, renderBody } from '../../shared/webhooks/formats.ts';
import type { FormatOptions } from '../../shared/ports/webhook-store.ts';
import { webhookActions, webhookConfig } from './scenario.ts';

const { actions } = webhookActions(webhookConfig());
const byEvent = (event: WebhookAction['event']) => actions.find((a) => a.event === event)!;
const opened = byEvent('incident.opened');
const started = byEvent('failover.started');
const failback = byEvent('failback');
const resolved = byEvent('resolved');

const OPTIONS: FormatOptions = {
  projectKey: 'OPS',
  assignmentGroup: 'network-ops',
  groupId: 360001,
  tags: ['Store Ops'],
};
const render = (format: (typeof WEBHOOK_FORMATS)[number], action: WebhookAction) =>
  JSON.parse(
    renderBody(format, envelopeOf(action), OPTIONS, { routingKey: 'R0UT1NGKEY0000000000000000000001' }),
  ) as Record<
    string,
    any // eslint-disable-line @typescript-eslint/no-explicit-any
  >;

describe('the engine’s webhook events for a failover and its failback', () => {
  it('are incident.opened and failover.started, then failback and resolved, all of one incident', () => {
    expect(actions.map((a) => a.event)).toEqual(['incident.opened', 'failover.started', 'failback', 'resolved']);
    expect(new Set(actions.map((a) => a.incidentId))).toEqual(new Set(['store-12.1']));
    expect(new Set(actions.map(incidentKeyOf))).toEqual(new Set(['failover-store-12.1']));
  });

  it('the generic envelope is {type, timestamp, data} with the incident key', () => {
    const body = render('generic', started);
    expect(body).toMatchObject({
      type: 'failover.started',
      timestamp: new Date(started.at).toISOString(),
      data: {
        eventId: started.id,
        site: 'store-12',
        incidentId: 'store-12.1',
        incidentKey: 'failover-store-12.1',
        fromLink: 'fiber',
        toLink: 'lte',
      },
    });
    expect(body.data.paths).toHaveLength(2);
  });
});

describe('PagerDuty Events v2', () => {
  it('triggers on the failover and resolves on the failback with the same dedup_key', () => {
    const trigger = render('pagerduty', started);
    expect(trigger).toMatchObject({
      routing_key: 'R0UT1NGKEY0000000000000000000001',
      event_action: 'trigger',
      dedup_key: 'failover-store-12.1',
      client: 'failover',
      payload: {
        source: 'store-12',
        severity: 'critical',
        timestamp: new Date(started.at).toISOString(),
        component: 'lte',
        group: 'store-12',
        class: 'failover.started',
      },
    });
    expect(trigger.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(trigger.payload.summary).toContain('Failover started at Store 12: fiber -> lte');
    expect(['critical', 'error', 'warning', 'info']).toContain(trigger.payload.severity);
    expect(render('pagerduty', opened)).toMatchObject({ event_action: 'trigger', dedup_key: 'failover-store-12.1' });
    for (const end of [failback, resolved])
      expect(render('pagerduty', end)).toEqual({
        routing_key: 'R0UT1NGKEY0000000000000000000001',
        event_action: 'resolve',
        dedup_key: 'failover-store-12.1',
      });
  });

  it('keeps every dedup_key within 255 characters and summaries within 1024', () => {
    const long = { ...started, site: 'x'.repeat(63), incidentId: `${'x'.repeat(63)}.9999999999` };
    const body = render('pagerduty', { ...long, data: { ...long.data, summary: 'y'.repeat(5000) } });
    expect(body.dedup_key.length).toBeLessThanOrEqual(255);
    expect(body.payload.summary.length).toBeLessThanOrEqual(1024);
  });
});

describe('Opsgenie Alert API', () => {
  it('creates an alert whose alias is the incident key, and closes it by that alias on the failback', () => {
    const open = render('opsgenie', opened);
    expect(open).toMatchObject({
      alias: 'failover-store-12.1',
      source: 'store-12',
      entity: 'store-12',
      priority: 'P1',
      details: { site: 'store-12', event: 'incident.opened', incidentKey: 'failover-store-12.1' },
    });
    expect(open.tags).toEqual(['failover', 'incident.opened', 'Store Ops']);
    expect(open.message.length).toBeLessThanOrEqual(130);
    expect(render('opsgenie', started)).toMatchObject({ alias: 'failover-store-12.1', details: { link: 'lte' } });
    for (const end of [failback, resolved]) {
      const close = render('opsgenie', end);
      expect(close).toMatchObject({ source: 'store-12', user: 'failover' });
      expect(close).not.toHaveProperty('alias');
      expect(deliveryUrl('opsgenie', 'https://api.eu.opsgenie.com/v2/alerts/', envelopeOf(end))).toBe(
        'https://api.eu.opsgenie.com/v2/alerts/failover-store-12.1/close?identifierType=alias',
      );
    }
    expect(deliveryUrl('opsgenie', 'https://api.opsgenie.com/v2/alerts', envelopeOf(started))).toBe(
      'https://api.opsgenie.com/v2/alerts',
    );
    expect(deliveryUrl('pagerduty', 'https://events.pagerduty.com/v2/enqueue', envelopeOf(failback))).toBe(
      'https://events.pagerduty.com/v2/enqueue',
    );
  });

  it('keeps the fields within the Alert API’s limits', () => {
    const long = { ...started, data: { ...started.data, summary: 'y'.repeat(20_000) } };
    const body = render('opsgenie', long);
    expect(body.message.length).toBeLessThanOrEqual(130);
    expect(body.description.length).toBeLessThanOrEqual(15_000);
    expect(body.alias.length).toBeLessThanOrEqual(512);
  });
});

describe('Microsoft Teams', () => {
  it('sends a message with one Adaptive Card: the title, the story, and the incident key among its facts', () => {
    const body = render('teams', started);
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    const card = body.attachments[0];
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const [title, ...rest] = card.content.body;
    expect(title).toMatchObject({ type: 'TextBlock', weight: 'Bolder', color: 'Attention' });
    expect(title.text).toContain('Failover started at Store 12: fiber -> lte');
    expect(rest.some((b: { text?: string }) => b.text?.includes('fiber (primary) DOWN'))).toBe(true);
    const facts = rest.find((b: { type: string }) => b.type === 'FactSet').facts;
    expect(facts).toContainEqual({ title: 'Incident key', value: 'failover-store-12.1' });
    expect(facts).toContainEqual({ title: 'Incident', value: 'store-12.1' });
  });
});

describe('Slack', () => {
  it('sends a text fallback and blocks: a header within 150 characters, an mrkdwn section, a context line', () => {
    const body = render('slack', started);
    expect(body.text).toContain('Failover started at Store 12');
    expect(body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    expect(body.blocks[0].text).toMatchObject({ type: 'plain_text' });
    expect(body.blocks[0].text.text.length).toBeLessThanOrEqual(150);
    expect(body.blocks[1].text.type).toBe('mrkdwn');
    expect(body.blocks[1].text.text.length).toBeLessThanOrEqual(3000);
    expect(body.blocks[2].elements.length).toBeLessThanOrEqual(10);
    expect(body.blocks[1].text.text).toContain('fiber (primary) DOWN');
  });

  it('escapes &, < and > in mrkdwn', () => {
    const body = render('slack', { ...started, data: { ...started.data, summary: 'a <b> & c' } });
    expect(body.blocks[1].text.text).toContain('a &lt;b&gt; &amp; c');
  });
});

describe('ServiceNow incident', () => {
  it('opens with state 1 and resolves with state 6, both with the same correlation_id', () => {
    const open = render('servicenow', opened);
    expect(open).toMatchObject({
      correlation_id: 'failover-store-12.1',
      correlation_display: 'failover',
      state: '1',
      urgency: '1',
      impact: '1',
      category: 'network',
      assignment_group: 'network-ops',
    });
    expect(open.short_description.length).toBeLessThanOrEqual(160);
    const update = render('servicenow', started);
    expect(update).toMatchObject({ correlation_id: 'failover-store-12.1', urgency: '1' });
    expect(update.state).toBeUndefined();
    expect(update.work_notes).toContain('Failover started');
    const close = render('servicenow', failback);
    expect(close).toMatchObject({
      correlation_id: 'failover-store-12.1',
      state: '6',
      close_code: 'Solution provided',
    });
    expect(close.close_notes).toContain('Failing back');
  });
});

describe('Jira issue', () => {
  it('is a create-issue body with an ADF description and the incident key as label and property', () => {
    for (const action of [started, failback]) {
      const body = render('jira', action);
      expect(body.fields.project).toEqual({ key: 'OPS' });
      expect(body.fields.issuetype).toEqual({ name: 'Task' });
      expect(body.fields.summary.length).toBeLessThanOrEqual(255);
      expect(body.fields.labels).toEqual(['failover', 'failover-store-12.1', 'Store_Ops']);
      for (const label of body.fields.labels) expect(label).not.toMatch(/\s/);
      expect(body.properties[0]).toMatchObject({ key: 'failover', value: { incidentKey: 'failover-store-12.1' } });
      assertAdf(body.fields.description);
    }
    expect(render('jira', started).properties[0].value.state).toBe('open');
    expect(render('jira', failback).properties[0].value.state).toBe('resolved');
  });
});

describe('Zendesk ticket', () => {
  it('is a {ticket} body whose external_id is the incident key, solved on the failback', () => {
    const open = render('zendesk', opened).ticket;
    expect(open).toMatchObject({
      external_id: 'failover-store-12.1',
      status: 'new',
      priority: 'urgent',
      type: 'incident',
      group_id: 360001,
      comment: { public: false },
    });
    expect(open.tags).toEqual(['failover', 'store-12', 'store_ops']);
    expect(render('zendesk', started).ticket).toMatchObject({ external_id: 'failover-store-12.1', status: 'open' });
    expect(render('zendesk', failback).ticket).toMatchObject({ external_id: 'failover-store-12.1', status: 'solved' });
    expect(render('zendesk', resolved).ticket.status).toBe('solved');
  });
});

describe('which formats carry which events', () => {
  it('sends maintenance notices to generic, Slack and Teams subscribers only', () => {
    const chat = ['generic', 'slack', 'teams'];
    for (const format of WEBHOOK_FORMATS)
      for (const type of WEBHOOK_EVENTS) {
        const notice = type.startsWith('maintenance.');
        expect(formatCarries(format, { type })).toBe(!notice || chat.includes(format));
      }
  });

  it('gives a maintenance window one key for its start and its end', () => {
    const window = (event: 'maintenance.started' | 'maintenance.ended'): WebhookAction => ({
      ...started,
      event,
      incidentId: null,
      data: { site: 'store-12', window: 'isp-upgrade' },
    });
    expect(incidentKeyOf(window('maintenance.started'))).toBe('failover-store-12-maintenance-isp-upgrade');
    expect(incidentKeyOf(window('maintenance.ended'))).toBe('failover-store-12-maintenance-isp-upgrade');
  });
});

describe('failoverCompletedFor', () => {
  it('derives a completed event of the same incident, with a stable id and what was applied', () => {
    const dns = {
      kind: 'dns' as const,
      id: 'store-12:1:6',
      site: 'store-12',
      seq: started.seq,
      at: started.at,
      zone: 'example.com',
      hostedZoneId: 'Z0123456789ABC',
      name: 'store-12.example.com',
      type: 'A' as const,
      ttl: 60,
      strategy: 'record-swap' as const,
      link: 'lte',
      values: ['198.51.100.20'],
    };
    const done = failoverCompletedFor(started, [dns], started.at + 2_000);
    expect(done).toMatchObject({
      kind: 'webhook',
      event: 'failover.completed',
      id: `${started.id}:completed`,
      incidentId: 'store-12.1',
      seq: started.seq,
    });
    expect(done.data.applied).toEqual(['DNS store-12.example.com A -> 198.51.100.20']);
    expect(render('pagerduty', done)).toMatchObject({ event_action: 'trigger', dedup_key: 'failover-store-12.1' });
  });
});

/** The rules of an Atlassian Document Format document that Jira enforces on descriptions. */
function assertAdf(doc: Record<string, unknown>): void {
  expect(doc).toMatchObject({ type: 'doc', version: 1 });
  const walk = (node: Record<string, unknown>, parent: string): void => {
    const type = node.type as string;
    const allowed: Record<string, string[]> = {
      doc: ['heading', 'paragraph', 'bulletList'],
      heading: ['text'],
      paragraph: ['text'],
      bulletList: ['listItem'],
      listItem: ['paragraph'],
    };
    if (parent !== '') expect(allowed[parent]).toContain(type);
    if (type === 'text') {
      expect(typeof node.text).toBe('string');
      expect((node.text as string).length).toBeGreaterThan(0);
      return;
    }
    if (type === 'heading') expect((node.attrs as { level: number }).level).toBeGreaterThanOrEqual(1);
    const content = node.content as Record<string, unknown>[];
    expect(Array.isArray(content) && content.length > 0).toBe(true);
    for (const child of content) walk(child, type);
  };
  walk(doc, '');
}
