import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import { alertAction, switchTraffic, transitionData, webhookAction } from '../../shared/domain/decision/effects.ts';
import type { Action, Transition } from '../../shared/domain/model.ts';
import { TEST_ZONE_ID, twoLinkConfigYaml } from '../support/two-link-site.ts';

const AGENT_KEY = 'xB2O6o8kS5BGX6ZkoTtVxpUn91FghSmQXa9n1Z3kXD0=';
const yaml = twoLinkConfigYaml({
  sites: [{ id: 'demo', name: 'Demo', dns: [{ name: 'portal.example.com', ttl: 5 }], agentKey: AGENT_KEY }],
  policy: 'intervalSeconds: 10',
});
const parsed = parseConfig(yaml);
if (!parsed.config) throw new Error(`test config: ${JSON.stringify(parsed.diagnostics)}`);
const site = parsed.config.sites[0]!;
const AT = Date.UTC(2026, 0, 1, 12, 30);

function transition(over: Partial<Transition> = {}): Transition {
  return {
    site: site.id,
    seq: 7,
    at: AT,
    kind: 'failover',
    from: 'PRIMARY_ACTIVE',
    to: 'BACKUP_ACTIVE',
    fromLink: 'fiber',
    toLink: 'lte',
    suppressed: false,
    incidentId: 'demo.7',
    explanation: { summary: 'Failing over.', quorum: 2, failureThreshold: 1, recoveryThreshold: 2, paths: [] },
    ...over,
  };
}

const stamp = (seq: number, action: ReturnType<typeof switchTraffic>[number], n: number) =>
  ({ ...action, id: `demo:${seq}:${n}`, site: site.id, seq, at: AT }) as Action;

describe('decision effects', () => {
  it('moves every DNS record to the new link, then tells the agent, its command expiring after 300 s at least', () => {
    expect(switchTraffic(site, transition())).toEqual([
      {
        kind: 'dns',
        zone: 'example.com',
        hostedZoneId: TEST_ZONE_ID,
        name: 'portal.example.com',
        type: 'A',
        ttl: 5,
        strategy: site.dns[0]!.strategy,
        link: 'lte',
        values: ['198.51.100.20'],
      },
      { kind: 'agent-command', command: 'switch-wan', link: 'lte', expiresAt: AT + 300_000 },
    ]);
    const back = switchTraffic(site, transition({ kind: 'failback', toLink: 'fiber', to: 'PRIMARY_ACTIVE' }));
    expect(back.map((a) => (a.kind === 'agent-command' ? a.command : a.kind))).toEqual(['dns', 'restore-wan']);
    expect(switchTraffic({ ...site, agent: undefined }, transition()).map((a) => a.kind)).toEqual(['dns']);
  });

  it('lists in an alert the traffic actions of its own transition only, and says when it is recorded only', () => {
    const own = switchTraffic(site, transition()).map((a, i) => stamp(7, a, i + 1));
    const earlier = switchTraffic(site, transition({ seq: 6, toLink: 'fiber' })).map((a, i) => stamp(6, a, i + 1));
    const alert = alertAction(site, transition(), 'critical', 'FAILOVER', 'failover fiber -> lte', [
      ...earlier,
      ...own,
    ]);
    if (alert.kind !== 'alert') throw new Error(`expected an alert, got ${alert.kind}`);
    expect(alert).toMatchObject({ severity: 'critical', event: 'failover', dedupKey: 'demo:7', incidentId: 'demo.7' });
    expect(alert.subject).toBe(`[FAILOVER] ${site.name}: failover fiber -> lte`);
    expect(alert.short).toBe('demo FAILOVER: failover fiber -> lte (12:30Z)');
    expect(alert.body).toContain('Actions:\n  DNS portal.example.com A -> 198.51.100.20 (TTL 5,');
    expect(alert.body).toContain('  agent: switch-wan to lte');
    expect(alert.body).not.toContain('203.0.113.10');
    expect(alert.body).not.toContain('Recorded only');
    const quiet = alertAction(site, transition({ suppressed: true }), 'critical', 'FAILOVER', 'x', []);
    expect(quiet).toMatchObject({ suppressed: true });
    expect(quiet.kind === 'alert' && quiet.body).toContain('Recorded only: the site is in maintenance');
  });

  it('puts the site first in webhook data, and the transition in its ISO time', () => {
    const t = transition();
    const hook = webhookAction(site, 'failover.started', t.incidentId, transitionData(site, t));
    expect(hook).toMatchObject({ kind: 'webhook', event: 'failover.started', incidentId: 'demo.7' });
    const data = hook.kind === 'webhook' ? hook.data : {};
    expect(Object.keys(data)[0]).toBe('site');
    expect(data).toMatchObject({
      site: 'demo',
      kind: 'failover',
      fromLink: 'fiber',
      toLink: 'lte',
      at: new Date(AT).toISOString(),
    });
  });
});
