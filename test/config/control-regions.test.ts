import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfig } from '../../shared/config/load.ts';

const withRegions = (regions: string) => `version: 1
regions:
${regions}
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - { id: web, link: fiber, tcp: { host: 203.0.113.10, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 198.51.100.20, port: 443 } }
`;

const probe = '  probe: [us-east-1, us-west-2, eu-west-1]';

function problems(regions: string): string[] {
  const { config, diagnostics } = parseConfig(withRegions(regions));
  expect(config).toBeUndefined();
  return diagnostics.map(formatDiagnostic);
}

describe('regions.control', () => {
  it('keeps the one-region string form as it was', () => {
    const { config, diagnostics } = parseConfig(withRegions(`${probe}\n  control: eu-west-1`));
    expect(diagnostics).toEqual([]);
    expect(config!.regions).toEqual({ probe: ['us-east-1', 'us-west-2', 'eu-west-1'], control: 'eu-west-1' });
  });

  it('reads a one-element list as one control region', () => {
    const { config } = parseConfig(withRegions(`${probe}\n  control: [eu-west-1]`));
    expect(config!.regions).toEqual({ probe: ['us-east-1', 'us-west-2', 'eu-west-1'], control: 'eu-west-1' });
  });

  it('resolves two control regions into the primary, the standby and the witness', () => {
    const { config, diagnostics } = parseConfig(
      withRegions(`${probe}\n  control: [eu-west-1, eu-west-2]\n  witness: eu-west-3`),
    );
    expect(diagnostics).toEqual([]);
    expect(config!.regions).toEqual({
      probe: ['us-east-1', 'us-west-2', 'eu-west-1'],
      control: 'eu-west-1',
      standby: 'eu-west-2',
      witness: 'eu-west-3',
    });
  });

  it.each([
    {
      name: 'two control regions without a witness',
      regions: '  control: [us-west-2, us-east-2]',
      want: [
        /^regions \(line \d+:\d+\): two control regions need a witness region for the state table: one of us-east-1$/,
      ],
    },
    {
      name: 'the same region twice',
      regions: '  control: [eu-west-1, eu-west-1]\n  witness: eu-west-3',
      want: [/^regions\.control\[1\] .*duplicate region "eu-west-1": name two different control regions$/],
    },
    {
      name: 'regions of two region sets',
      regions: '  control: [eu-west-1, us-east-2]\n  witness: eu-west-3',
      want: [
        /^regions\.control\[1\] .*"us-east-2" is not in the EU region set of "eu-west-1" \(eu-west-1, eu-west-2, eu-west-3, eu-central-1\)$/,
      ],
    },
    {
      name: 'a region without strongly consistent global tables',
      regions: '  control: [sa-east-1, us-east-2]\n  witness: us-east-1',
      want: [
        /^regions\.control\[0\] .*"sa-east-1" cannot hold a strongly consistent global table; two control regions must be in one of \(US: us-east-1, us-east-2, us-west-2; EU: .*; AP: .*\)$/,
      ],
    },
    {
      name: 'a witness that is a control region',
      regions: '  control: [us-west-2, us-east-2]\n  witness: us-east-2',
      want: [/^regions\.witness .*the witness "us-east-2" must differ from both control regions$/],
    },
    {
      name: 'a witness of another region set',
      regions: '  control: [us-west-2, us-east-2]\n  witness: eu-west-1',
      want: [/^regions\.witness .*"eu-west-1" is not in the US region set of the control regions/],
    },
    {
      name: 'a witness with one control region',
      regions: '  control: us-west-2\n  witness: us-east-1',
      want: [/^regions\.witness .*a witness is only for two control regions/],
    },
    {
      name: 'three control regions',
      regions: '  control: [us-west-2, us-east-2, us-east-1]',
      want: [/^regions\.control .*expected one or two control regions, got 3$/],
    },
  ])('refuses $name, naming the field', ({ regions, want }) => {
    const got = problems(`${probe}\n${regions}`);
    expect(got).toHaveLength(want.length);
    want.forEach((pattern, i) => expect(got[i]).toMatch(pattern));
  });
});
