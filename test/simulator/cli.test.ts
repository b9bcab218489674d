import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, inject, it } from 'vitest';
import { REPO_ROOT, runCli, STACK_FRAME } from '../support/cli.ts';

const DEMO = join(REPO_ROOT, 'examples/demo.yaml');

const UNMET = `name: Expects the impossible
config: ${DEMO}
duration: 4m
timeline:
  - { from: 1m, to: 3m, link: fiber, outcome: down }
expect:
  failovers: 0
  finalMode: PRIMARY_ACTIVE
`;

const BAD = `name: Broken
config: ${DEMO}
duration: 4m
timeline:
  - { from: 1m, link: fiber, outcome: sideways }
expect:
  failovers: many
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(inject('scratchDir'), 'simulate-'));
  await Promise.all([writeFile(join(dir, 'unmet.yaml'), UNMET), writeFile(join(dir, 'bad.yaml'), BAD)]);
});

describe.concurrent('failover simulate', () => {
  it('--json: exit 0 and one object with the transitions, effects, summary and expectations', async ({ expect }) => {
    const r = await runCli(['simulate', 'test/scenarios/hard-down.yaml', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual([
      'scenario',
      'transitions',
      'effects',
      'rejected',
      'releases',
      'summary',
      'expectations',
      'passed',
    ]);
    expect(out.scenario).toMatchObject({
      name: 'Hard down of the primary',
      site: 'demo',
      config: 'examples/demo.yaml',
    });
    const transitions = out.transitions as Record<string, unknown>[];
    expect(transitions.map((t) => t.kind)).toEqual(['failover', 'failback']);
    expect(transitions[0]).toMatchObject({
      title: 'FAILOVER fiber -> lte',
      fromLink: 'fiber',
      toLink: 'lte',
      trigger: 'automatic',
      falseFailover: false,
      offset: expect.stringMatching(/^\+02:\d\d$/),
      text: expect.stringContaining('fiber (primary) DOWN'),
    });
    const effects = (out.effects as { text: string }[]).map((e) => e.text);
    expect(effects).toContain('DNS portal.example.com A -> 198.51.100.20');
    expect(effects.some((e) => e.startsWith('alert [critical] [FAILOVER]'))).toBe(true);
    expect(out.summary).toMatchObject({ failovers: 1, failbacks: 1, falseFailovers: 0, finalMode: 'PRIMARY_ACTIVE' });
    expect(out.expectations).toContainEqual({ name: 'failovers', expected: 1, actual: 1, met: true });
    expect(out.passed).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('exit 1 when an expectation is not met, saying which', async ({ expect }) => {
    const r = await runCli(['simulate', join(dir, 'unmet.yaml')], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^\+01:\d\d FAILOVER fiber -> lte/m);
    expect(r.stdout).toMatch(/^ {4}=> DNS portal\.example\.com A -> 198\.51\.100\.20$/m);
    expect(r.stdout).toMatch(/^ {2}NOT MET {2}failovers: expected 0, actual 1$/m);
    expect(r.stdout).toMatch(/^ {2}met {6}finalMode: expected PRIMARY_ACTIVE, actual PRIMARY_ACTIVE$/m);
    expect(r.stdout).toMatch(/^FAIL: 1 of 2 expectations not met$/m);
  });

  it('exit 2 for a bad scenario, every problem located, no stack trace', async ({ expect }) => {
    const r = await runCli(['simulate', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${join(dir, 'bad.yaml')}: 2 problems`,
      '  timeline[0].outcome (line 5:39): expected one of "up", "degraded", "down"',
      '  expect.failovers (line 7:14): expected a count such as 2, or a range such as { min: 1, max: 3 }',
    ]);
  });

  it('exit 2 for a missing scenario file', async ({ expect }) => {
    const r = await runCli(['simulate', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml: 1 problem\n {2}cannot read: no such file/);
  });
});
