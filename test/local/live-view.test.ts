import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { Observation, Outcome } from '../../shared/contracts/observation.ts';
import type { RoundResult } from '../../shared/probes/round.ts';
import { LiveView, siteStatus, truncate } from '../../local/live-view.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

const { config } = parseConfig(
  twoLinkConfigYaml({
    sites: [
      {
        id: 'demo',
        checks: [
          '{ id: portal-fiber, link: fiber, tcp: { host: 127.0.0.1, port: 1 } }',
          '{ id: portal-lte, link: lte, tcp: { host: 127.0.0.1, port: 2 } }',
          '{ id: voice-fiber, link: fiber, voip: { host: 127.0.0.1, port: 3 } }',
        ],
      },
    ],
  }),
);

/** A stream that records what is written, like a terminal of `columns` columns (or a pipe). */
function stream(columns?: number) {
  let text = '';
  return { write: (t: string) => ((text += t), true), columns, text: () => text };
}

function observation(check: string, link: string, outcome: Outcome, fields: Observation['fields'] = {}): Observation {
  return {
    v: 1,
    site: 'demo',
    check,
    link,
    dependency: null,
    kind: check.startsWith('voice') ? 'voip' : 'tcp',
    vantage: 'region:x',
    roundId: '2026-11-25T12:00:00.000Z',
    outcome,
    latencyMs: outcome === 'down' ? null : 2,
    errorClass: outcome === 'down' ? 'connect' : null,
    detail: outcome,
    fields,
    at: '2026-11-25T12:00:01.000Z',
    attempts: [],
  };
}

function round(region: string, time: string, outcomes: [Outcome, Outcome, Outcome], controlOk = true): RoundResult {
  return {
    vantage: `region:${region}`,
    roundId: `2026-11-25T${time}.000Z`,
    startedAt: `2026-11-25T${time}.000Z`,
    finishedAt: `2026-11-25T${time}.500Z`,
    observations: [
      observation('voice-fiber', 'fiber', outcomes[2], { mos: 3.21 }),
      observation('portal-fiber', 'fiber', outcomes[0]),
      observation('portal-lte', 'lte', outcomes[1]),
    ],
    control: {
      ok: controlOk,
      passed: controlOk ? 1 : 0,
      total: 1,
      detail: controlOk ? '1/1 control checks passed' : '0/1 control checks passed',
      results: [],
    },
    skipped: [],
  };
}

describe('LiveView', () => {
  it('prints a line for the checks a round skipped, naming the first few', () => {
    const out = stream();
    const view = new LiveView({ config: config!, out, inPlace: false, color: false });
    const skipped = Array.from({ length: 7 }, (_, i) => ({
      site: i === 0 ? null : 'demo',
      check: `c${i}`,
      link: i === 0 ? null : 'fiber',
      dependency: null,
      reason: 'round budget exhausted before the check could run',
    }));
    view.round({ ...round('us-east-1', '12:00:00', ['up', 'up', 'up']), skipped });
    expect(out.text().split('\n')[0]).toBe(
      '12:00:00 us-east-1      7 check(s) skipped (round budget exhausted before the check could run): ' +
        'c0, demo/c1, demo/c2, demo/c3, demo/c4 and 2 more; the region abstains on their paths',
    );
  });

  it('on a terminal: one status line per site, re-rendered in place, events printed above it', () => {
    const out = stream(200);
    const view = new LiveView({ config: config!, out, inPlace: true, color: false });
    view.print('failover local: started');
    expect(out.text()).toBe(`failover local: started\n${view.lines()[0]}\n`);
    expect(view.lines()).toEqual([
      '--:--:-- demo  PRIMARY_ACTIVE on fiber  │ us-east-1 waiting │ us-west-2 waiting │ eu-west-1 waiting',
    ]);

    view.round(round('us-east-1', '12:00:00', ['down', 'up', 'degraded']));
    view.round(round('eu-west-1', '12:00:06', ['down', 'down', 'down'], false));
    view.site('demo', {
      ...siteStatus(null, 'fiber'),
      mode: 'BACKUP_ACTIVE',
      activeLink: 'lte',
      version: 3,
      incident: 'demo.1',
    });
    // An older state arriving late changes nothing.
    view.site('demo', siteStatus(null, 'fiber'));
    expect(view.lines()).toEqual([
      '12:00:06 demo  BACKUP_ACTIVE on lte (incident demo.1)  │ us-east-1 fiber DOWN lte UP MOS 3.2 │ us-west-2 waiting │ eu-west-1 IMPAIRED (abstains)',
    ]);
    // Each re-render goes back to the start of the status line and erases it before drawing it again.
    const redraws = out.text().split('\u001b[1F\u001b[J');
    expect(redraws).toHaveLength(4);
    expect(redraws.at(-1)).toBe(`${view.lines()[0]}\n`);

    view.print('12:00:07 demo FAILOVER fiber -> lte');
    expect(out.text().endsWith(`\u001b[1F\u001b[J12:00:07 demo FAILOVER fiber -> lte\n${view.lines()[0]}\n`)).toBe(
      true,
    );
    view.close();
    view.print('failover local: stopped');
    expect(out.text().endsWith(`${view.lines()[0]}\nfailover local: stopped\n`)).toBe(true);
  });

  it('on a narrow terminal: a site takes two lines, cut to the width, so that nothing wraps', () => {
    const out = stream(60);
    const view = new LiveView({ config: config!, out, inPlace: true, color: true });
    view.round(round('us-west-2', '12:00:03', ['up', 'up', 'up']));
    view.round(round('us-east-1', '12:00:06', ['up', 'up', 'up']));
    const [head, regions, ...rest] = out.text().split('\u001b[2F\u001b[J').at(-1)!.split('\n');
    expect(rest).toEqual(['']);
    expect(stripVTControlCharacters(head!)).toBe('12:00:06 demo  PRIMARY_ACTIVE on fiber');
    expect(stripVTControlCharacters(regions!)).toHaveLength(59);
    expect(stripVTControlCharacters(regions!)).toMatch(/^ {4}us-east-1 fiber UP lte UP │ us-west-2 .*…$/);
    expect(regions!.endsWith('\u001b[0m…')).toBe(true);
    expect(view.lines(60)).toHaveLength(2);
    expect(view.lines()).toHaveLength(1);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });

  it('without a terminal: each round is an appended line per site, with the state; no ANSI', () => {
    const out = stream();
    const view = new LiveView({ config: config!, out });
    view.round(round('us-west-2', '12:00:03', ['down', 'up', 'up']));
    view.print('an event');
    view.site('demo', { ...siteStatus(null, 'fiber'), mode: 'BACKUP_ACTIVE', activeLink: 'lte', version: 2 });
    view.round(round('eu-west-1', '12:00:06', ['down', 'up', 'up'], false));
    expect(out.text()).toBe(
      [
        '12:00:03 us-west-2      demo  portal-fiber DOWN - · portal-lte UP 2.0 ms · voice-fiber UP 2.0 ms MOS 3.21  | PRIMARY_ACTIVE on fiber',
        'an event',
        '12:00:06 eu-west-1      demo  portal-fiber DOWN - · portal-lte UP 2.0 ms · voice-fiber UP 2.0 ms MOS 3.21  0/1 control checks passed  | BACKUP_ACTIVE on lte',
        '',
      ].join('\n'),
    );
  });
});
