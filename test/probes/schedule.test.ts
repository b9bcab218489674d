import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import { planRounds } from '../../shared/probes/schedule.ts';

function config(sites: { id: string; interval: number }[]) {
  const text = `version: 1
regions: { probe: [us-east-1, us-west-2, eu-west-1], control: us-east-1 }
controlChecks:
  - { id: k, tcp: { host: 127.0.0.1, port: 1 } }
sites:
${sites
  .map(
    (s) => `  - id: ${s.id}
    policy: { intervalSeconds: ${s.interval} }
    links:
      - { id: a, role: primary, address: 192.0.2.1 }
      - { id: b, role: backup, address: 192.0.2.2 }
    checks:
      - { id: c, link: a, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: d, link: b, tcp: { host: 192.0.2.2, port: 443 } }`,
  )
  .join('\n')}
`;
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

const minute = Date.UTC(2026, 10, 25, 18, 0, 0);
const offsets = (rounds: { atMs: number }[]) => rounds.map((r) => (r.atMs - minute) / 1000);

describe('planRounds', () => {
  it('staggers the regions by i/n of the interval', () => {
    const c = config([{ id: 'hq', interval: 60 }]);
    expect(offsets(planRounds(c, 'us-east-1', minute, minute + 60_000))).toEqual([0]);
    expect(offsets(planRounds(c, 'us-west-2', minute, minute + 60_000))).toEqual([20]);
    expect(offsets(planRounds(c, 'eu-west-1', minute, minute + 60_000))).toEqual([40]);
  });

  it('runs several rounds in a window for intervals under a minute', () => {
    const c = config([{ id: 'hq', interval: 15 }]);
    expect(offsets(planRounds(c, 'us-east-1', minute, minute + 60_000))).toEqual([0, 15, 30, 45]);
    expect(offsets(planRounds(c, 'eu-west-1', minute, minute + 60_000))).toEqual([10, 25, 40, 55]);
  });

  it('runs a site with a longer interval only in the windows it is due', () => {
    const c = config([{ id: 'hq', interval: 120 }]);
    const due = [0, 1, 2, 3].map(
      (m) => planRounds(c, 'us-east-1', minute + m * 60_000, minute + (m + 1) * 60_000).length,
    );
    expect(due.filter((n) => n === 1)).toHaveLength(2);
    expect(due.filter((n) => n === 0)).toHaveLength(2);
  });

  it('shares a round between sites due at the same instant and adds the control checks to every round', () => {
    const c = config([
      { id: 'a', interval: 30 },
      { id: 'b', interval: 60 },
    ]);
    const rounds = planRounds(c, 'us-east-1', minute, minute + 60_000);
    expect(offsets(rounds)).toEqual([0, 30]);
    expect(rounds[0]!.checks.map((k) => `${k.site}/${k.id}`)).toEqual(['null/k', 'a/c', 'a/d', 'b/c', 'b/d']);
    expect(rounds[1]!.checks.map((k) => `${k.site}/${k.id}`)).toEqual(['null/k', 'a/c', 'a/d']);
    expect(rounds[0]!.roundId).toBe('2026-11-25T18:00:00.000Z');
  });

  it('rejects a region that is not configured', () => {
    expect(() => planRounds(config([{ id: 'a', interval: 60 }]), 'ap-south-1', minute, minute + 60_000)).toThrow(
      /not a probe region/,
    );
  });
});
