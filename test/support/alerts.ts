import type { AlertAction } from '../../shared/domain/model.ts';

/** The failover alert of `simulate test/scenarios/hard-down.yaml` (examples/demo.yaml), as the decider made it. */
export const FAILOVER_ALERT: AlertAction = {
  kind: 'alert',
  severity: 'critical',
  event: 'failover',
  dedupKey: 'demo:1',
  incidentId: 'demo.1',
  subject: '[FAILOVER] Demo office: failover fiber -> lte: fiber (primary) is down; lte (backup) is up',
  short: 'demo FAILOVER: failover fiber -> lte: fiber (primary) is down; lte (backup) is up (00:02Z)',
  body: [
    'Demo office (demo) at 2026-01-01T00:02:13.333Z',
    '',
    'Failing over from fiber (primary) to lte (backup): fiber (primary) is down; lte (backup) is up.',
    '  fiber (primary) DOWN: 2 down, 1 undecided of 3 vantages (quorum 2)',
    '    us-east-1: down - portal-fiber down x2 [connect] connect ECONNREFUSED',
    '    us-west-2: down - portal-fiber down x2 [connect] connect ECONNREFUSED',
    '    eu-west-1: undecided - portal-fiber down x1 [connect] connect ECONNREFUSED',
    '  lte (backup) UP: 3 up of 3 vantages (quorum 2)',
    '    us-east-1: up - portal-lte up x14',
    '    us-west-2: up - portal-lte up x14',
    '    eu-west-1: up - portal-lte up x13',
    '  flap damping: penalty 1000 (suppress above 2000, reuse below 750, reuse in 7 min)',
    '  thresholds: 2 failed / 2 good rounds per vantage',
    '',
    'Actions:',
    '  DNS portal.example.com A -> 198.51.100.20 (TTL 5, record-swap)',
    '',
    'Incident demo.1',
  ].join('\n'),
  suppressed: false,
  id: 'demo:1:5',
  site: 'demo',
  seq: 1,
  at: Date.UTC(2026, 0, 1, 0, 2, 13, 333),
};

/** A warning alert (degraded link) of the same site. */
export const DEGRADED_ALERT: AlertAction = {
  ...FAILOVER_ALERT,
  severity: 'warning',
  event: 'degraded',
  dedupKey: 'demo:3',
  incidentId: 'demo.3',
  subject: '[DEGRADED] Demo office: fiber (primary) is degraded (latency, loss or MOS over budget)',
  short: 'demo DEGRADED: fiber (primary) is degraded (latency, loss or MOS over budget) (00:09Z)',
  body: [
    'Demo office (demo) at 2026-01-01T00:09:00.000Z',
    '',
    'fiber (primary) is degraded (latency, loss or MOS over budget); not failing over (policy failoverOn: [down]).',
    '  fiber (primary) UP, degraded: 2 degraded, 1 up of 3 vantages (quorum 2)',
    '',
    'Incident demo.3',
  ].join('\n'),
  id: 'demo:3:2',
  seq: 3,
  at: Date.UTC(2026, 0, 1, 0, 9, 0),
};
