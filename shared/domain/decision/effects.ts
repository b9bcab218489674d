import type { DnsRecordConfig, SiteConfig } from '../../config/model.ts';
import { clipText, smsText, SUBJECT_MAX_CHARS } from '../alert-text.ts';
import { describePath, renderExplanation } from '../explain.ts';
import type { Action, Severity, Transition, WebhookEvent } from '../model.ts';

/** An action before the outbox gives it its id, site, sequence number and time. */
export type ActionDraft = DistributiveOmit<Action, 'id' | 'site' | 'seq' | 'at'>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An UPSERT of one DNS record to the values of `link`. */
export function dnsUpsert(r: DnsRecordConfig, link: string, values: readonly string[]): ActionDraft {
  return {
    kind: 'dns',
    zone: r.zone,
    hostedZoneId: r.hostedZoneId,
    name: r.name,
    type: r.type,
    ttl: r.ttl,
    strategy: r.strategy,
    link,
    values: [...values],
  };
}

/** What moves traffic to the transition's link: every DNS record, and the site's agent if it has one. */
export function switchTraffic(site: SiteConfig, t: Transition): ActionDraft[] {
  const to = t.toLink;
  const actions = site.dns.map((r) => dnsUpsert(r, to, r.values[to] ?? []));
  if (site.agent) {
    const expiresAt = t.at + Math.max(300, 5 * site.policy.intervalSeconds) * 1000;
    const command = to === site.primary.id ? 'restore-wan' : 'switch-wan';
    actions.push({ kind: 'agent-command', command, link: to, expiresAt });
  }
  return actions;
}

/**
 * The alert telling people of a transition; `actions` are the decision's so far, of which those of the transition
 * that move traffic are listed in the body.
 */
export function alertAction(
  site: SiteConfig,
  t: Transition,
  severity: Severity,
  tag: string,
  what: string,
  actions: readonly Action[],
): ActionDraft {
  const name = site.name;
  const time = new Date(t.at).toISOString().slice(11, 16);
  const subject = clipText(`[${tag}] ${name}: ${what}`, SUBJECT_MAX_CHARS);
  const short = smsText(`${site.id} ${tag}: ${what} (${time}Z)`);
  const effects = actions
    .filter((a) => a.seq === t.seq && (a.kind === 'dns' || a.kind === 'agent-command'))
    .map((a) =>
      a.kind === 'dns'
        ? `DNS ${a.name} ${a.type} -> ${a.values.join(', ')} (TTL ${a.ttl}, ${a.strategy})`
        : a.kind === 'agent-command'
          ? `agent: ${a.command} to ${a.link}`
          : '',
    );
  const body = [
    `${name} (${site.id}) at ${new Date(t.at).toISOString()}`,
    '',
    renderExplanation(t.explanation),
    ...(effects.length ? ['', 'Actions:', ...effects.map((e) => `  ${e}`)] : []),
    ...(t.incidentId ? ['', `Incident ${t.incidentId}`] : []),
    ...(t.suppressed ? ['', 'Recorded only: the site is in maintenance or pinned by an operator.'] : []),
  ].join('\n');
  return {
    kind: 'alert',
    severity,
    event: t.kind,
    dedupKey: `${site.id}:${t.seq}`,
    incidentId: t.incidentId,
    subject,
    short,
    body,
    suppressed: t.suppressed,
  };
}

export function webhookAction(
  site: SiteConfig,
  event: WebhookEvent,
  incidentId: string | null,
  data: Record<string, unknown>,
): ActionDraft {
  return { kind: 'webhook', event, incidentId, data: { site: site.id, ...data } };
}

/** The data of a webhook about a transition. */
export function transitionData(site: SiteConfig, t: Transition): Record<string, unknown> {
  return {
    siteName: site.name,
    kind: t.kind,
    from: t.from,
    to: t.to,
    fromLink: t.fromLink,
    toLink: t.toLink,
    at: new Date(t.at).toISOString(),
    summary: t.explanation.summary,
    paths: t.explanation.paths.map((p) => describePath(p, t.explanation.quorum)),
  };
}
