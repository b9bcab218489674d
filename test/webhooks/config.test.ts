import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfig } from '../../shared/config/load.ts';

const BASE = `version: 1
regions: { probe: [us-east-1, us-west-2], control: us-east-1 }
sites:
  - id: store-12
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
`;

const problems = (yaml: string) => parseConfig(`${BASE}${yaml}`).diagnostics.map(formatDiagnostic);

describe('integrations in sites.yaml', () => {
  it('is optional, and empty when absent', () => {
    expect(parseConfig(BASE).config?.integrations).toEqual({ inbound: [] });
  });

  it('reads inbound sources with their defaults', () => {
    const { config, diagnostics } = parseConfig(`${BASE}integrations:
  inbound:
    - source: servicenow
      scheme: standard-webhooks
      secret: { secretsManager: failover/hooks/servicenow, field: secret }
      allow: [maintenance.open, maintenance.close]
      sites: ['*']
    - source: crm
      scheme: stripe
      secret: { env: CRM_HOOK_SECRET }
      signatureHeader: X-CRM-Signature
      allow: [failover, failback, incident.acknowledge]
      sites: [store-12]
      toleranceSeconds: 120
      fields: { action: $.event, site: $.data.store }
      values: { store.outage_confirmed: failover }
`);
    expect(diagnostics).toEqual([]);
    expect(config?.integrations.inbound).toEqual([
      {
        source: 'servicenow',
        scheme: 'standard-webhooks',
        secret: { secretsManager: 'failover/hooks/servicenow', field: 'secret' },
        allow: ['maintenance.open', 'maintenance.close'],
        sites: ['*'],
        toleranceSeconds: 300,
      },
      {
        source: 'crm',
        scheme: 'stripe',
        secret: { env: 'CRM_HOOK_SECRET' },
        signatureHeader: 'X-CRM-Signature',
        allow: ['failover', 'failback', 'incident.acknowledge'],
        sites: ['store-12'],
        toleranceSeconds: 120,
        fields: { action: '$.event', site: '$.data.store' },
        values: { 'store.outage_confirmed': 'failover' },
      },
    ]);
  });

  it('lists every problem with its position', () => {
    expect(
      problems(`integrations:
  inbound:
    - source: zendesk
      scheme: zendesk
      secret: inline-secret-value
      allow: [incident.acknowledge, incident.acknowledge]
      sites: [store-99, '*']
      signatureHeader: X-Sig
      values: { solved: failback }
    - source: zendesk
      scheme: hmac
      secret: { env: lower_case }
      allow: []
      sites: [store-12]
      fields: { action: event }
`),
    ).toEqual([
      'integrations.inbound[0].secret (line 12:15): expected { env: NAME } or { secretsManager: name-or-arn }',
      'integrations.inbound[0].allow[1] (line 13:37): duplicate action "incident.acknowledge"',
      'integrations.inbound[0].sites (line 14:14): "*" already means every site; list nothing else',
      'integrations.inbound[0].sites[0] (line 14:15): unknown site "store-99" (sites: store-12)',
      'integrations.inbound[0].signatureHeader (line 15:24): only the stripe scheme reads a signature header of your choice',
      'integrations.inbound[0].values.solved (line 16:25): maps to "failback", which allow does not list',
      'integrations.inbound[1].source (line 17:15): duplicate inbound source "zendesk"',
      'integrations.inbound[1].scheme (line 18:15): expected one of "standard-webhooks", "zendesk", "stripe"',
      'integrations.inbound[1].secret.env (line 19:22): expected an environment variable name such as ZENDESK_HOOK_SECRET',
      'integrations.inbound[1].allow (line 20:14): expected at least 1 item',
      'integrations.inbound[1].fields.action (line 22:25): expected a JSONPath starting with "$"',
    ]);
  });
});
