import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { formatDiagnostic } from '../../shared/config/load.ts';
import type { Transition } from '../../shared/domain/model.ts';
import { formatOffset, parseDuration } from '../../shared/simulator/duration.ts';
import { regionBatch } from '../../shared/simulator/observations.ts';
import type { SimTransition } from '../../shared/simulator/records.ts';
import { parseScenario, type Scenario } from '../../shared/simulator/scenario.ts';
import { judgeFailovers } from '../../shared/simulator/summary.ts';
import { Timeline } from '../../shared/simulator/timeline.ts';

const SITE = `regions: [us-east-1, us-west-2, eu-west-1]
controlChecks:
  - { id: public-dns, dns: { server: 1.1.1.1, name: example.com, type: A } }
site:
  id: hq
  links:
    - { id: fiber, role: primary, address: 203.0.113.10 }
    - { id: lte, role: backup, address: 198.51.100.20 }
  checks:
    - { id: web-fiber, link: fiber, http: { url: 'https://203.0.113.10/', latencyBudgetMs: 400 } }
    - { id: voice-fiber, link: fiber, voip: { host: 203.0.113.10, port: 7100, minMos: 3.8 } }
    - { id: web-lte, link: lte, http: { url: 'https://198.51.100.20/' } }
  policy: { intervalSeconds: 60 }
`;

async function scenario(text: string): Promise<Scenario> {
  const { scenario, problems } = await parseScenario(text, 'inline.yaml');
  expect(problems).toEqual([]);
  return scenario!;
}

/** 1-based line and column of the first occurrence of `needle`. */
function position(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`"${needle}" not in the text`);
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1.5m', 90_000],
    ['2m30s', 150_000],
    [45, 45_000],
    ['', undefined],
    ['10x', undefined],
    ['m', undefined],
  ] as const)('%s -> %s ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('formats offsets as +mm:ss, with hours from an hour on', () => {
    expect(formatOffset(260_000)).toBe('+04:20');
    expect(formatOffset(3_860_500)).toBe('+1:04:20');
  });
});

describe('parseScenario', () => {
  it('resolves an inline site, the policy overrides and the timeline', async () => {
    const s = await scenario(`name: x
${SITE}policy: { holdDownSeconds: 120, damping: { halfLifeSeconds: 60 } }
duration: 10m
timeline:
  - { from: 1m, to: 1m30s, every: 2m, link: fiber, outcome: down }
  - { at: 3m, command: { type: override, pin: backup, until: 5m } }
`);
    expect(s.site.policy).toMatchObject({ intervalSeconds: 60, holdDownSeconds: 120, quorum: 2 });
    expect(s.site.policy.damping).toMatchObject({ halfLifeSeconds: 60, suppressLimit: 2000 });
    expect(s.config.regions).toEqual({ probe: ['us-east-1', 'us-west-2', 'eu-west-1'], control: 'us-east-1' });
    expect(s.timeline[0]!.spans).toEqual([
      { fromMs: 60_000, toMs: 90_000 },
      { fromMs: 180_000, toMs: 210_000 },
      { fromMs: 300_000, toMs: 330_000 },
      { fromMs: 420_000, toMs: 450_000 },
      { fromMs: 540_000, toMs: 570_000 },
    ]);
    expect(s.timeline[1]).toMatchObject({
      kind: 'command',
      spans: [{ fromMs: 180_000, toMs: 180_000 }],
      command: { type: 'override', pin: 'backup', by: 'operator', reason: 'scenario', until: s.startMs + 300_000 },
    });
  });

  it('lists every problem with its path and line:column, those of the inline site included', async () => {
    const text = `name: broken
duration: 10x
colour: blue
regions: [us-east-1, us-west-2]
site:
  id: hq
  links:
    - { id: fiber, role: primary, address: 203.0.113.10 }
    - { id: lte, role: primry, address: 198.51.100.20 }
  checks:
    - { id: web-fiber, link: fiber, http: { url: 'https://203.0.113.10/' } }
    - { id: web-lte, link: lte, http: { url: 'https://198.51.100.20/' } }
policy: { failureThreshold: 0 }
timeline:
  - { from: 1m, outcome: sideways }
  - { at: 3m, command: { type: failback }, link: fiber }
  - { from: 1m, impaired: true, silent: true }
expect:
  finalMode: UP
`;
    const { scenario, problems } = await parseScenario(text, 'broken.yaml');
    expect(scenario).toBeUndefined();
    expect(problems.map((p) => p.file)).toEqual(['broken.yaml']);
    expect(problems[0]!.diagnostics.map(formatDiagnostic)).toEqual([
      `duration (line ${position(text, '10x')}): expected a duration such as 90s, 2m or 1h30m (a bare number is seconds)`,
      `colour (line ${position(text, 'colour')}): unknown field "colour"`,
      `site.links[1].role (line ${position(text, 'primry')}): expected one of "primary", "backup"`,
      `policy.failureThreshold (line ${position(text, '0 }\ntimeline')}): expected a number >= 1`,
      `timeline[0].outcome (line ${position(text, 'sideways')}): expected one of "up", "degraded", "down"`,
      `timeline[1].link (line ${position(text, 'link: fiber }')}): link applies to outcome entries only`,
      `timeline[2].silent (line ${position(text, 'silent')}): one thing per entry: found impaired and silent`,
      `expect.finalMode (line ${position(text, 'UP')}): expected one of "PRIMARY_ACTIVE", "BACKUP_ACTIVE", "BOTH_DOWN"`,
    ]);
  });

  it('checks what the timeline and the expectations refer to against the site', async () => {
    const text = `name: refs
${SITE}duration: 10m
timeline:
  - { from: 2m, to: 1m, link: fibre, outcome: down }
  - { from: 11m, regions: [eu-north-1], check: nope, outcome: down }
  - { from: 1m, dependency: zoom, outcome: down, vantages: [site] }
expect:
  finalLink: dsl
`;
    const { problems } = await parseScenario(text, 'refs.yaml');
    expect(problems[0]!.diagnostics.map((d) => `${formatDiagnostic(d).split(' (')[0]}: ${d.message}`)).toEqual([
      'timeline[0].to: expected to after from',
      'timeline[0].link: unknown link "fibre" (links: fiber, lte)',
      'timeline[1].from: at or after the end of the scenario (10m)',
      'timeline[1].regions[0]: unknown region "eu-north-1" (regions: us-east-1, us-west-2, eu-west-1)',
      'timeline[1].check: unknown check "nope" (checks: web-fiber, voice-fiber, web-lte; control checks: public-dns)',
      'timeline[2].dependency: "zoom" is not a dependency of site hq (dependencies: none)',
      'timeline[2].vantages: site hq has no agent: add agent: { publicKey } to the site to observe from inside',
      'expect.finalLink: unknown link "dsl" (links: fiber, lte)',
    ]);
  });

  it('reports the problems of a referenced sites.yaml against that file, and an unknown site', async () => {
    const dir = await mkdtemp(join(inject('scratchDir'), 'scenario-'));
    await writeFile(
      join(dir, 'sites.yaml'),
      'version: 1\nregions: { probe: [us-east-1], control: us-east-1 }\nsites: []\n',
    );
    const bad = await parseScenario('name: x\nconfig: sites.yaml\nduration: 5m\n', join(dir, 'scenario.yaml'));
    expect(bad.problems.map((p) => p.file)).toEqual([join(dir, 'sites.yaml')]);
    expect(bad.problems[0]!.diagnostics.map(formatDiagnostic)).toEqual(['sites (line 3:8): expected at least 1 item']);

    const text = 'name: x\nconfig: ../../examples/demo.yaml\nsite: nowhere\nduration: 5m\n';
    const unknown = await parseScenario(text, 'test/scenarios/x.yaml');
    expect(unknown.problems[0]!.diagnostics.map(formatDiagnostic)).toEqual([
      'site (line 3:7): unknown site "nowhere" (sites: demo)',
    ]);
  });

  it('refuses impaired regions when nothing could tell (no control checks)', async () => {
    const text = `name: x\n${SITE.replace(/controlChecks:\n.*\n/, '')}duration: 5m\ntimeline:\n  - { from: 1m, impaired: true }\n`;
    const { problems } = await parseScenario(text, 'x.yaml');
    expect(problems[0]!.diagnostics.map((d) => d.message)).toEqual([
      'a region is seen impaired only through control checks: the configuration has no controlChecks',
    ]);
  });
});

describe('the timeline', () => {
  it('lets later entries win, and answers per region and per check', async () => {
    const s = await scenario(`name: x
${SITE}duration: 10m
timeline:
  - { from: 1m, to: 5m, link: fiber, outcome: down }
  - { from: 2m, to: 3m, regions: [us-west-2], link: fiber, outcome: up }
  - { from: 1m, to: 5m, check: voice-fiber, outcome: degraded, mos: 3.1 }
  - { from: 2m, to: 3m, regions: [eu-west-1], silent: true }
`);
    const t = new Timeline(s);
    const [web, voice, lte] = s.site.checks;
    expect(t.condition(web!, { region: 'us-east-1' }, 150_000)?.outcome).toBe('down');
    expect(t.condition(web!, { region: 'us-west-2' }, 150_000)).toBeUndefined();
    expect(t.condition(voice!, { region: 'us-west-2' }, 150_000)?.outcome).toBe('degraded');
    expect(t.condition(lte!, { region: 'us-east-1' }, 150_000)).toBeUndefined();
    expect(t.condition(web!, { region: 'us-east-1' }, 300_000)).toBeUndefined();
    expect(t.regionStatus('eu-west-1', 150_000)).toEqual({ silent: true, impaired: false });
    expect(t.regionStatus('eu-west-1', 180_000)).toEqual({ silent: false, impaired: false });
    // The ground truth: a quorum (2) of reporting regions sees the fiber down, except while us-west-2 sees it up and
    // eu-west-1 is silent (a degraded voice check is no fault under failoverOn: [down]).
    expect(t.faultEpisodes()).toEqual([
      { fromMs: 60_000, toMs: 120_000 },
      { fromMs: 180_000, toMs: 300_000 },
    ]);
  });

  it('builds batches: control checks failing when impaired, none when silent, plausible numbers', async () => {
    const s = await scenario(`name: x
${SITE}duration: 10m
timeline:
  - { from: 0s, to: 1m, regions: [us-east-1], impaired: true }
  - { from: 0s, to: 1m, regions: [us-west-2], silent: true }
  - { from: 0s, to: 1m, check: voice-fiber, outcome: degraded, mos: 3.1 }
  - { from: 0s, to: 1m, check: web-lte, outcome: down, errorClass: timeout }
`);
    const t = new Timeline(s);
    const round = (region: string, regionIndex: number) => ({
      region,
      regionIndex,
      atMs: s.startMs,
      roundId: new Date(s.startMs).toISOString(),
      checks: [...s.config.controlChecks, ...s.site.checks],
    });
    const impaired = regionBatch(s, t, round('us-east-1', 0))!;
    expect(impaired.control).toMatchObject({ ok: false, passed: 0, total: 1 });
    expect(impaired.observations.map((o) => o.outcome)).toEqual(['down', 'down', 'down']);
    expect(regionBatch(s, t, round('us-west-2', 1))).toBeNull();
    const fine = regionBatch(s, t, round('eu-west-1', 2))!;
    expect(fine.control).toMatchObject({ ok: true });
    expect(fine.observations.map((o) => [o.check, o.outcome, o.errorClass])).toEqual([
      ['web-fiber', 'up', null],
      ['voice-fiber', 'degraded', null],
      ['web-lte', 'down', 'timeout'],
    ]);
    expect(fine.observations[1]!.fields).toMatchObject({ mos: 3.1 });
    expect(fine.observations[2]!.attempts).toHaveLength(2);
  });
});

describe('judgeFailovers', () => {
  const failover = (offsetMs: number, trigger: SimTransition['trigger'] = 'automatic'): SimTransition => ({
    transition: { kind: 'failover' } as Transition,
    offsetMs,
    trigger,
  });

  it('justifies a failover by a fault episode in force within the interval before it, and times its detection', () => {
    const episodes = [{ fromMs: 60_000, toMs: 74_000 }];
    const [early, justAfter, late, manual] = judgeFailovers(
      [failover(30_000), failover(80_000), failover(200_000), failover(200_000, 'operator')],
      episodes,
      10_000,
    );
    expect(early).toMatchObject({ falseFailover: true, detectionSeconds: null });
    expect(justAfter).toMatchObject({ falseFailover: false, detectionSeconds: 20 });
    expect(late).toMatchObject({ falseFailover: true });
    expect(manual).toMatchObject({ falseFailover: false, detectionSeconds: null });
  });
});
