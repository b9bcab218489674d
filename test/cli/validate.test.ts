import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REPO_ROOT, runCli, STACK_FRAME } from '../support/cli.ts';

const BROKEN = `version: 1
regions:
  probe: [us-east-1, us-west-2]
  control: us-east-1
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - id: portal
        link: fibre
        http: { url: 'http://portal.example.com/' }
    dns:
      - zone: example.com
        hostedZoneId: Z0123456789EXAMPLE
        name: portal.example.com
        type: A
        values:
          fiber: [203.0.113.10]
  - id: hq
    links:
      - { id: cable, role: primary, address: 192.0.2.40 }
      - { id: lte, role: backup, address: 192.0.2.41 }
    checks:
      - id: pos
        link: cable
        timeoutMs: -5
        http:
          url: not a url
          colour: blue
`;

/** 1-based line and column of the `nth` (0-based) occurrence of `needle` in `text`. */
function position(text: string, needle: string, nth = 0): string {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`"${needle}" #${nth} not in the text`);
  }
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'failover-validate-'));
  await Promise.all([
    writeFile(file('broken.yaml'), BROKEN),
    writeFile(file('syntax.yaml'), 'version: 1\nregions:\n  probe: [us-east-1\n  control: us-east-1\n'),
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.concurrent('failover validate', () => {
  it.for(['examples/sites.yaml', 'examples/demo.yaml'])('%s is valid', async (example, { expect }) => {
    const r = await runCli(['validate', example]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${example.replace('.', '\\.')}: valid: \\d+ site\\(s\\), \\d+ check\\(s\\)`));
    expect(r.stderr).toBe('');
  });

  it('lists every problem with its path and line:column, cross-references included', async ({ expect }) => {
    const r = await runCli(['validate', file('broken.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`${file('broken.yaml')}: 9 problems`);
    expect(lines.slice(1)).toEqual([
      `  sites[0].links[0] (line ${position(BROKEN, '{ id: fiber')}): no check tests link "fiber": the decider could never tell whether it is up`,
      `  sites[0].links[1] (line ${position(BROKEN, '{ id: lte')}): no check tests link "lte": the decider could never tell whether it is up`,
      `  sites[0].checks[0].link (line ${position(BROKEN, 'fibre')}): unknown link "fibre" (links: fiber, lte)`,
      // The values map starts at its first entry; the problem is the link missing from it.
      `  sites[0].dns[0].values (line ${position(BROKEN, 'fiber: [')}): no values for link "lte"`,
      `  sites[1].id (line ${position(BROKEN, 'hq', 1)}): duplicate site id "hq"`,
      `  sites[1].links[1] (line ${position(BROKEN, '{ id: lte', 1)}): no check tests link "lte": the decider could never tell whether it is up`,
      `  sites[1].checks[0].timeoutMs (line ${position(BROKEN, '-5')}): expected a number > 0`,
      `  sites[1].checks[0].http.url (line ${position(BROKEN, 'not a url')}): expected an http:// or https:// URL`,
      `  sites[1].checks[0].http.colour (line ${position(BROKEN, 'colour')}): unknown field "colour"`,
    ]);
  });

  it('a YAML syntax error: exit 1 with its line', async ({ expect }) => {
    const r = await runCli(['validate', file('syntax.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^.*syntax\.yaml: 1 problem\n {2}\(line [34]:\d+\): \S.*/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a missing file: exit 1, says so', async ({ expect }) => {
    const r = await runCli(['validate', file('nope.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${file('nope.yaml')}: cannot read: no such file`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a directory: exit 1, no stack trace', async ({ expect }) => {
    const r = await runCli(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('failover schema', () => {
  it('prints the JSON Schema of sites.yaml, the same as docs/sites.schema.json', async ({ expect }) => {
    const r = await runCli(['schema']);
    expect(r.code, r.stderr).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties?: Record<string, unknown> };
    expect(schema.properties?.sites).toBeTypeOf('object');
    expect(schema.properties?.regions).toBeTypeOf('object');
    const committed = join(REPO_ROOT, 'docs/sites.schema.json');
    expect(JSON.parse(await readFile(committed, 'utf8'))).toEqual(schema);
  });
});
