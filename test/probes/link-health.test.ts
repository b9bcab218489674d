import { describe, expect, it } from 'vitest';
import {
  calculatedHealthThreshold,
  dataPlaneLinksOf,
  dataPlaneProblems,
  linkHealthAlarmSpec,
} from '../../shared/config/data-plane.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { Observation } from '../../shared/contracts/observation.ts';
import { linkHealthOfRound } from '../../shared/probes/link-health.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

function config(
  policy?: string,
  strategy: 'health-check-gated' | 'record-swap' = 'health-check-gated',
): FailoverConfig {
  const { config, diagnostics } = parseConfig(
    twoLinkConfigYaml({
      regions: ['eu-west-1', 'us-west-2', 'us-east-2'],
      control: 'eu-central-1',
      sites: [
        {
          id: 'hq',
          checks: [
            '{ id: web-fiber, link: fiber, tcp: { host: 203.0.113.10, port: 443 } }',
            '{ id: vpn-fiber, link: fiber, tcp: { host: 203.0.113.10, port: 1194 } }',
            '{ id: web-lte, link: lte, tcp: { host: 198.51.100.20, port: 443 } }',
          ],
          dependencies: ['microsoft-365'],
          dns: [{ name: 'vpn.example.com', hostedZoneId: 'Z0123456789EXAMPLE', strategy }],
          ...(policy ? { policy } : {}),
        },
        { id: 'shop', primary: 'cable', fiber: '192.0.2.1', lte: '192.0.2.2' },
      ],
    }),
  );
  expect(diagnostics).toEqual([]);
  return config!;
}

const AT = Date.UTC(2026, 11, 3, 12, 0, 0);

function obs(site: string, check: string, link: string | null, outcome: Observation['outcome'], dependency = null) {
  return { site, check, link, outcome, dependency } as unknown as Observation;
}

type Round = Pick<RoundResult, 'observations' | 'skipped' | 'control'>;
const round = (observations: Observation[], extra: Partial<Round> = {}): Round => ({
  observations,
  skipped: [],
  control: { ok: true, passed: 1, total: 1, detail: '' } as Round['control'],
  ...extra,
});

describe('dataPlaneLinksOf', () => {
  it('lists the primary and the checked first backup of sites with a health-check-gated record only', () => {
    expect(dataPlaneLinksOf(config())).toEqual([
      { site: 'hq', link: 'fiber', role: 'primary' },
      { site: 'hq', link: 'lte', role: 'backup' },
    ]);
    expect(dataPlaneLinksOf(config(undefined, 'record-swap'))).toEqual([]);
  });
});

describe('linkHealthOfRound: one region, one round', () => {
  const all = (fiber: Observation['outcome'], vpn: Observation['outcome'], lte: Observation['outcome']) => [
    obs('hq', 'web-fiber', 'fiber', fiber),
    obs('hq', 'vpn-fiber', 'fiber', vpn),
    obs('hq', 'web-lte', 'lte', lte),
    obs('shop', 'web-cable', 'cable', 'down'),
  ];
  const cases: [string, Round, FailoverConfig, [string, 0 | 1][]][] = [
    [
      'every check up: both links healthy',
      round(all('up', 'up', 'up')),
      config(),
      [
        ['fiber', 1],
        ['lte', 1],
      ],
    ],
    [
      'one check of a link down: that link down',
      round(all('up', 'down', 'up')),
      config(),
      [
        ['fiber', 0],
        ['lte', 1],
      ],
    ],
    [
      'degraded is healthy by default',
      round(all('degraded', 'up', 'up')),
      config(),
      [
        ['fiber', 1],
        ['lte', 1],
      ],
    ],
    [
      'degraded is down where the site fails over on degraded',
      round(all('degraded', 'up', 'up')),
      config('failoverOn: [down, degraded]'),
      [
        ['fiber', 0],
        ['lte', 1],
      ],
    ],
    [
      'a dependency check down says nothing of a link',
      round([...all('up', 'up', 'up'), obs('hq', 'microsoft-365/login', null, 'down', 'microsoft-365' as never)]),
      config(),
      [
        ['fiber', 1],
        ['lte', 1],
      ],
    ],
    [
      'a skipped check: the region abstains on that link',
      round(all('down', 'down', 'up'), {
        skipped: [{ site: 'hq', check: 'vpn-fiber', link: 'fiber', dependency: null, reason: 'budget' }],
      }),
      config(),
      [['lte', 1]],
    ],
    [
      'control checks failed: the region is the broken one and abstains on every link',
      round(all('down', 'down', 'down'), {
        control: { ok: false, passed: 0, total: 2, detail: '' } as Round['control'],
      }),
      config(),
      [],
    ],
    ['a link the round did not test: nothing', round([obs('hq', 'web-lte', 'lte', 'down')]), config(), [['lte', 0]]],
  ];
  it.each(cases)('%s', (_name, r, c, want) => {
    const samples = linkHealthOfRound(c, r, AT);
    expect(samples.map((s) => [s.link, s.value])).toEqual(want);
    for (const s of samples) expect(s).toMatchObject({ site: 'hq', atMs: AT });
  });
});

describe('calculatedHealthThreshold: healthy iff healthy regions >= regions - quorum + 1', () => {
  // Brute force over every split of R regions into healthy and down: the link must be unhealthy exactly when at
  // least Q regions say down.
  for (let regions = 1; regions <= 7; regions++) {
    for (let quorum = 1; quorum <= regions; quorum++) {
      it(`R=${regions} Q=${quorum}`, () => {
        const threshold = calculatedHealthThreshold(regions, quorum);
        for (let down = 0; down <= regions; down++) {
          const healthy = regions - down >= threshold;
          expect(healthy, `${down} down`).toBe(down < quorum);
        }
      });
    }
  }
  it('with 3 regions and the default majority of 2: unhealthy when 2 say down, healthy when 1 does', () => {
    expect(calculatedHealthThreshold(3, 2)).toBe(2);
  });
  it('refuses a quorum no region count can reach', () => {
    expect(() => calculatedHealthThreshold(3, 4)).toThrow('expected a quorum between 1 and 3, got 4');
    expect(() => calculatedHealthThreshold(0, 1)).toThrow('expected 1 or more regions, got 0');
  });
});

describe('linkHealthAlarmSpec', () => {
  const cases: [number, number, number, number][] = [
    // interval, failureThreshold -> period, evaluation periods
    [60, 1, 60, 1],
    [60, 3, 60, 3],
    [300, 2, 300, 2],
    // Route 53 reads standard-resolution alarms only: sub-minute rounds are judged a minute at a time.
    [30, 1, 60, 1],
    [30, 3, 60, 2],
    [10, 6, 60, 1],
    [10, 7, 60, 2],
  ];
  it.each(cases)(
    'interval %i s, threshold %i: period %i s, %i period(s)',
    (intervalSeconds, failureThreshold, p, n) => {
      expect(linkHealthAlarmSpec({ intervalSeconds, failureThreshold })).toEqual({
        periodSeconds: p,
        statistic: 'Maximum',
        evaluationPeriods: n,
        datapointsToAlarm: n,
        threshold: 1,
        comparisonOperator: 'LessThanThreshold',
        treatMissingData: 'notBreaching',
      });
    },
  );
});

describe('the configuration of health-check-gated records', () => {
  const yaml = (policy: string, checks: string) => `
version: 1
regions: { probe: [eu-west-1, us-west-2], control: eu-central-1 }
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
${checks}
    policy: ${policy}
    dns:
      - zone: example.com
        hostedZoneId: Z0123456789EXAMPLE
        name: vpn.example.com
        type: A
        strategy: health-check-gated
        values: { fiber: [203.0.113.10], lte: [198.51.100.20] }
`;
  it('refuses a gated record whose primary link no check tests, naming the line', () => {
    const { config, diagnostics } = parseConfig(yaml('{}', '    checks: []'));
    expect(config).toBeUndefined();
    expect(diagnostics).toEqual([
      expect.objectContaining({
        path: ['sites', 0, 'dns', 0, 'strategy'],
        message:
          'health-check-gated needs a check of the primary link "fiber": the probe regions\' health of that link gates the record',
        line: 16,
      }),
    ]);
  });
  it('refuses a failure window longer than a CloudWatch alarm can look back', () => {
    const checks =
      '    checks: [{ id: c, link: fiber, tcp: { host: 203.0.113.10, port: 443 } }, { id: d, link: lte, tcp: { host: 198.51.100.20, port: 443 } }]';
    const { diagnostics } = parseConfig(yaml('{ intervalSeconds: 3600, failureThreshold: 25 }', checks));
    expect(diagnostics.map((d) => d.message)).toEqual([
      'health-check-gated: failureThreshold 25 × intervalSeconds 3600 needs an alarm over 90000 s; a CloudWatch alarm looks back at most 86400 s',
    ]);
    const ok = parseConfig(yaml('{ intervalSeconds: 3600, failureThreshold: 24 }', checks));
    expect(ok.diagnostics).toEqual([]);
    expect(dataPlaneProblems(ok.config!)).toEqual([]);
  });
});
