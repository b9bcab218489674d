import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configJsonOf, formatDiagnostic, loadConfig, parseConfig } from '../../shared/config/load.ts';
import { resolveQuorum } from '../../shared/config/model.ts';
import { BUNDLED_CONFIG_FORMAT, bundledConfigJson, readBundledConfig, sliceSite } from '../../shared/config/bundled.ts';
import { ConfigError } from '../../shared/errors.ts';
import { fleetConfigYaml } from '../support/fleet-config.ts';

const base = `version: 1
regions:
  probe: [us-east-1, us-west-2, eu-west-1]
  control: us-east-1
contacts:
  - { name: noc, email: noc@example.com }
sites:
  - id: hq
    links:
      - { id: fiber, role: primary, address: 203.0.113.10 }
      - { id: lte, role: backup, address: 198.51.100.20 }
    checks:
      - id: web
        link: fiber
        http: { url: 'https://portal.example.com/' }
      - { id: web-lte, link: lte, tcp: { host: 198.51.100.20, port: 443 } }
`;

function problems(text: string): string[] {
  const { config, diagnostics } = parseConfig(text);
  expect(config).toBeUndefined();
  return diagnostics.map(formatDiagnostic);
}

describe('parseConfig', () => {
  it.each(['examples/sites.yaml', 'examples/demo.yaml'])('accepts %s', async (file) => {
    const config = await loadConfig(file);
    expect(config.sites.length).toBeGreaterThan(0);
  });

  it('applies the built-in defaults and resolves the model', () => {
    const { config, diagnostics } = parseConfig(base);
    expect(diagnostics).toEqual([]);
    const site = config!.sites[0]!;
    expect(site.primary.id).toBe('fiber');
    expect(site.backups.map((l) => l.id)).toEqual(['lte']);
    expect(site.policy).toMatchObject({
      intervalSeconds: 60,
      failureThreshold: 1,
      recoveryThreshold: 3,
      quorum: 2,
      quorumSpec: 'majority',
      failback: 'auto',
      failoverOn: ['down'],
      confirmRetryMs: 2000,
    });
    expect(site.policy.damping).toMatchObject({ enabled: true, halfLifeSeconds: 900 });
    const check = site.checks[0]!;
    expect(check).toMatchObject({ site: 'hq', id: 'web', link: 'fiber', dependency: null, timeoutMs: 5000 });
    expect(check.probe).toMatchObject({ kind: 'http', http: { method: 'GET', followRedirects: true } });
    expect(config!.probing.roundBudgetMs).toBe(48_000);
    expect(site.contacts.map((c) => c.name)).toEqual(['noc']);
  });

  it('lets a site override defaults.policy, which overrides the built-in defaults, field by field', () => {
    const text = base.replace(
      'contacts:',
      'defaults:\n  policy: { failureThreshold: 4, damping: { halfLifeSeconds: 60 } }\ncontacts:',
    );
    const withSite = `${text}    policy: { failureThreshold: 1, quorum: 3, damping: { penalty: 500 } }\n`;
    const site = parseConfig(withSite).config!.sites[0]!;
    expect(site.policy.failureThreshold).toBe(1);
    expect(site.policy.recoveryThreshold).toBe(3);
    expect(site.policy.quorum).toBe(3);
    expect(site.policy.damping).toMatchObject({ halfLifeSeconds: 60, penalty: 500, suppressLimit: 2000 });
  });

  it('expands dependency presets into checks named <preset>/<check>, built-in and user-defined', () => {
    const text = base.replace(
      'sites:',
      'presets:\n  crm:\n    checks:\n      - { id: api, tcp: { host: crm.example.net, port: 443 } }\nsites:',
    );
    const site = parseConfig(`${text}    dependencies: [slack, crm]\n`).config!.sites[0]!;
    const deps = site.checks.filter((c) => c.dependency !== null);
    expect(deps.map((c) => c.id)).toEqual(['slack/api', 'crm/api']);
    expect(deps.every((c) => c.link === null)).toBe(true);
  });

  it('converts maintenance windows from their time zone', () => {
    const text = `${base}    maintenance:
      - { id: w1, start: 2026-07-01T22:00, end: 2026-07-02T02:00, timezone: Europe/Paris, reason: isp }
      - { id: w2, start: '2026-12-01T10:00:00Z', end: '2026-12-01T11:00:00Z', reason: abs }
`;
    const [w1, w2] = parseConfig(text).config!.sites[0]!.maintenance;
    expect(new Date(w1!.startMs).toISOString()).toBe('2026-07-01T20:00:00.000Z');
    expect(new Date(w1!.endMs).toISOString()).toBe('2026-07-02T00:00:00.000Z');
    expect(w2!.endMs - w2!.startMs).toBe(3_600_000);
  });

  // Each case: a replacement applied to the base document, and the exact diagnostics expected.
  it.each([
    {
      name: 'a bad URL, with its path and position',
      edit: (t: string) => t.replace("url: 'https://portal.example.com/'", 'url: portal'),
      want: ['sites[0].checks[0].http.url (line 15:22): expected an http:// or https:// URL'],
    },
    {
      name: 'a check naming an unknown link',
      edit: (t: string) => t.replace('link: fiber', 'link: dsl'),
      want: [
        'sites[0].links[0] (line 10:9): no check tests link "fiber": the decider could never tell whether it is up',
        'sites[0].checks[0].link (line 14:15): unknown link "dsl" (links: fiber, lte)',
      ],
    },
    {
      name: 'two sites with one id',
      edit: (t: string) => t + t.slice(t.indexOf('  - id: hq')),
      want: ['sites[1].id (line 17:9): duplicate site id "hq"'],
    },
    {
      name: 'an unknown field',
      edit: (t: string) => t.replace('    checks:', '    treshold: 3\n    checks:'),
      want: ['sites[0].treshold (line 12:5): unknown field "treshold"'],
    },
    {
      name: 'a missing required field',
      edit: (t: string) => t.replace('  control: us-east-1\n', ''),
      want: ['regions.control (line 3:3): required'],
    },
    {
      name: 'no probe kind, or two',
      edit: (t: string) =>
        t.replace(
          "        http: { url: 'https://portal.example.com/' }\n",
          '        tcp: { host: a.example, port: 1 }\n        tls: { host: a.example }\n',
        ),
      want: ['sites[0].checks[0] (line 13:9): expected one probe kind, found tcp and tls'],
    },
    {
      name: 'a quorum larger than the regions',
      edit: (t: string) => `${t}    policy: { quorum: 4 }\n`,
      want: ['sites[0].policy.quorum (line 17:23): quorum 4 is more than the 3 probe region(s) configured'],
    },
    {
      name: 'a quorum of one region among three',
      edit: (t: string) => `${t}    policy: { quorum: 1 }\n`,
      want: [
        'sites[0].policy.quorum (line 17:23): quorum 1 is below 2; with 3 probe regions one region alone may not decide',
      ],
    },
    {
      name: 'an interval that does not divide a minute',
      edit: (t: string) => `${t}    policy: { intervalSeconds: 45 }\n`,
      want: [
        'sites[0].policy.intervalSeconds (line 17:32): expected an interval that divides 60 (10, 15, 20, 30) or a multiple of 60',
      ],
    },
    {
      name: 'no primary link',
      edit: (t: string) => t.replace('role: primary', 'role: backup'),
      want: ['sites[0].links (line 10:7): expected one link with role primary'],
    },
    {
      name: 'a contact nobody can reach',
      edit: (t: string) => t.replace('{ name: noc, email: noc@example.com }', '{ name: noc }'),
      want: ['contacts[0] (line 6:5): a contact needs an email or an sms number'],
    },
    {
      name: 'an unknown preset',
      edit: (t: string) => `${t}    dependencies: [office365]\n`,
      want: [
        'sites[0].dependencies[0] (line 17:20): unknown preset "office365" (known: google-workspace, microsoft-365, ringcentral, salesforce, slack, twilio, zoom)',
      ],
    },
    {
      name: 'a bad Ed25519 key',
      edit: (t: string) => `${t}    agent: { publicKey: c2hvcnQ= }\n`,
      want: [
        'sites[0].agent.publicKey (line 17:25): expected an Ed25519 public key: base64 of 32 bytes (see `failover agent keygen`)',
      ],
    },
  ])('reports $name', ({ edit, want }) => {
    expect(problems(edit(base))).toEqual(want);
  });

  it('checks DNS records against the links and the record type', () => {
    const text = `${base}    dns:
      - zone: example.com
        hostedZoneId: Z0123456789ABC
        name: portal.example.org
        type: A
        values: { fiber: [203.0.113.300], cable: [192.0.2.1] }
      - zone: example.com
        hostedZoneId: Z0123456789ABC
        name: www.example.com
        type: CNAME
        values: { fiber: [a.example.net, b.example.net], lte: [198.51.100.20] }
`;
    expect(problems(text)).toEqual([
      'sites[0].dns[0].name (line 20:15): "portal.example.org" is not inside zone "example.com"',
      'sites[0].dns[0].values (line 22:17): no values for link "lte"',
      'sites[0].dns[0].values.fiber[0] (line 22:27): expected an IPv4 address for an A record, found "203.0.113.300"',
      'sites[0].dns[0].values.cable (line 22:50): unknown link "cable" (links: fiber, lte)',
      'sites[0].dns[1].values.fiber[0] (line 27:27): a CNAME record has exactly one value',
      'sites[0].dns[1].values.fiber[1] (line 27:42): a CNAME record has exactly one value',
      'sites[0].dns[1].values.lte[0] (line 27:64): expected a host name for a CNAME record, found "198.51.100.20"',
    ]);
  });

  it('lists schema and cross-reference problems together, in document order', () => {
    const text = base
      .replace('[us-east-1, us-west-2, eu-west-1]', '[us-east-1, us-east-1, moon-base]')
      .replace('link: fiber', 'link: dsl')
      .replace("url: 'https://portal.example.com/'", 'url: 42');
    expect(problems(text)).toEqual([
      'regions.probe[1] (line 3:22): duplicate region "us-east-1"',
      'regions.probe[2] (line 3:33): expected an AWS region such as eu-west-1',
      'sites[0].links[0] (line 10:9): no check tests link "fiber": the decider could never tell whether it is up',
      'sites[0].checks[0].link (line 14:15): unknown link "dsl" (links: fiber, lte)',
      'sites[0].checks[0].http.url (line 15:22): expected an http:// or https:// URL',
    ]);
  });

  it('reports YAML syntax errors with their position, and an empty file', () => {
    expect(problems('version: 1\nsites: [\n  - a: b\n')[0]).toMatch(/^\(line \d+:\d+\): /);
    expect(problems('a: 1\na: 1\n')).toEqual(['(line 2:1): Map keys must be unique']);
    expect(problems('')).toEqual(['(line 1:1): the file is empty; expected version, regions and sites']);
    expect(problems('sites: *later\nx: &later []\n')).toEqual([
      '(line 1:1): Unresolved alias (the anchor must be set before the alias): later',
    ]);
  });

  it('refuses a probing.maxChecksPerTicket that cannot hold the control checks, or a site with them', () => {
    const withControls = base.replace(
      'contacts:',
      'controlChecks:\n  - { id: k1, tcp: { host: 192.0.2.9, port: 1 } }\n  - { id: k2, tcp: { host: 192.0.2.9, port: 2 } }\ncontacts:',
    );
    expect(problems(withControls.replace('version: 1\n', 'version: 1\nprobing: { maxChecksPerTicket: 2 }\n'))).toEqual([
      expect.stringMatching(
        /^probing\.maxChecksPerTicket \(line 2:\d+\): 2 leaves no room beside the 2 control checks every ticket runs$/,
      ),
    ]);
    expect(problems(withControls.replace('version: 1\n', 'version: 1\nprobing: { maxChecksPerTicket: 3 }\n'))).toEqual([
      expect.stringMatching(
        /^sites\[0\]\.checks \(line \d+:\d+\): 2 checks \(dependencies included\) and the 2 control checks exceed probing\.maxChecksPerTicket \(3\): a site's checks run in one ticket$/,
      ),
    ]);
    const fits = parseConfig(withControls.replace('version: 1\n', 'version: 1\nprobing: { maxChecksPerTicket: 4 }\n'));
    expect(fits.diagnostics).toEqual([]);
    expect(fits.config!.probing.maxChecksPerTicket).toBe(4);
  });

  it('throws ConfigError with every diagnostic from loadConfig, and names an unreadable file', async () => {
    await expect(loadConfig('test/config/does-not-exist.yaml')).rejects.toThrow(ConfigError);
    const error = await loadConfig('test/config/does-not-exist.yaml').then(
      () => undefined,
      (e: ConfigError) => e,
    );
    expect(error?.diagnostics[0]!.message).toBe('cannot read test/config/does-not-exist.yaml: no such file');
  });
});

/** The parts of a bundled configuration's text: its index line, and each site's line. */
function documentOf(json: string) {
  const [head, open, ...rest] = json.split('\n');
  return { head, open, sites: rest.slice(0, -2).map((line) => line.replace(/,$/, '')), tail: rest.slice(-2) };
}

/** The text back from its parts, with the index's lengths and SHA-256 made to fit the sites (a consistent edit). */
function rewritten(json: string, edit: (sites: string[]) => string[]): string {
  const { head, open, sites, tail } = documentOf(json);
  const edited = edit(sites);
  const body = `${edited.join(',\n')}\n${tail.join('\n')}`;
  const document = JSON.parse(`${head!.slice(0, -1)}}`) as { index: Record<string, unknown> };
  document.index.lengths = edited.map((line) => Buffer.byteLength(line));
  document.index.sha256 = createHash('sha256').update(body).digest('hex');
  return `${JSON.stringify(document).slice(0, -1)},\n${open}\n${body}`;
}

describe('configJsonOf and readBundledConfig (the configuration the functions carry)', () => {
  it.each(['examples/sites.yaml', 'examples/demo.yaml', 'examples/cost-1-site.yaml', 'examples/cost-20-sites.yaml'])(
    'turn %s into JSON that reads back as the same resolved configuration, site by site or at once',
    async (file) => {
      const text = await readFile(file, 'utf8');
      const { config, json } = configJsonOf(text, file);
      expect(config).toEqual(parseConfig(text).config);
      expect(readBundledConfig(json)).toEqual({ config });
      expect(readBundledConfig(json, { read: 'eager' })).toEqual({ config });
      expect(readBundledConfig(Buffer.from(json))).toEqual({ config });
      // One JSON document: the index first, then the sites.
      expect(JSON.parse(json)).toMatchObject({
        format: BUNDLED_CONFIG_FORMAT,
        index: { slice: 'all', config: { version: 1 }, ids: config.sites.map((s) => s.id) },
        sites: config.sites.map((s) => ({ id: s.id })),
      });
    },
  );

  it('write a fleet compactly: the policies and contact lists once, nothing resolve derives, a site a line', () => {
    const text = fleetConfigYaml({ sites: 200 })
      // Two sites of their own: another policy and one contact.
      .replace('  - id: store-00007\n', '  - id: store-00007\n    policy: { failback: manual }\n    contacts: [noc]\n')
      .replace('  - id: store-00009\n', '  - id: store-00009\n    name: Store 9, Denver\n');
    const { config, json } = configJsonOf(text);
    expect(readBundledConfig(json)).toEqual({ config });
    const document = JSON.parse(json) as {
      index: { policies: unknown[]; contactLists: unknown[] };
      sites: object[];
    };
    expect(document.index.policies).toHaveLength(2);
    expect(document.index.contactLists).toHaveLength(2);
    expect(document.sites[6]).toMatchObject({ policy: 1, contacts: 1 });
    expect(document.sites[8]).toMatchObject({ name: 'Store 9, Denver', policy: 0, contacts: 0 });
    for (const site of document.sites) expect(Object.keys(site)).not.toContain('primary');
    expect(documentOf(json).sites.map((line) => JSON.parse(line) as object)).toEqual(document.sites);
    // The resolved model written whole is twice as large.
    expect(json.length * 2).toBeLessThan(JSON.stringify(config).length);
  });

  it('read each site only when it is first used, and name the site whose line does not read back', () => {
    const { config, json } = configJsonOf(base);
    // A line that passes the cold start's checks (its lengths and SHA-256 made to fit) but names a missing policy.
    const broken = rewritten(json, ([hq]) => [hq!.replace('"policy":0', '"policy":3')]);
    const read = readBundledConfig(broken);
    if (!('config' in read)) throw new Error(read.problem);
    const [hq] = read.config.sites;
    expect(hq!.id).toBe('hq');
    expect(() => hq!.links).toThrow(
      'bundled configuration: sites[0] names policy 3 or contact list 0, which is not there',
    );
    expect(readBundledConfig(broken, { read: 'eager' })).toEqual({
      problem: 'sites[0] names policy 3 or contact list 0, which is not there',
    });
    // A site is read-only, and reads whole wherever it is used.
    const site = (readBundledConfig(json) as { config: typeof config }).config.sites[0]!;
    expect(() => Object.assign(site, { name: 'x' })).toThrow('the bundled configuration is read-only');
    expect({ ...site }).toEqual(config.sites[0]);
    expect(JSON.parse(JSON.stringify(site))).toEqual(JSON.parse(JSON.stringify(config.sites[0])));
    expect('checks' in site && Object.keys(site)).toEqual(Object.keys(config.sites[0]!));
  });

  it('refuse at cold start a text whose sites are not those synthesis wrote, or not where its index puts them', () => {
    const { json } = configJsonOf(fleetConfigYaml({ sites: 3 }));
    const { head, open, sites, tail } = documentOf(json);
    const edited = `${head}\n${open}\n${sites.join(',\n').replace('10.0.0.1', '10.0.0.9')}\n${tail.join('\n')}`;
    expect(readBundledConfig(edited)).toEqual({
      problem: 'the sites are not those synthesis wrote (their SHA-256 differs from the index)',
    });
    expect(readBundledConfig(json.slice(0, -40))).toEqual({
      problem: 'the sites are not those synthesis wrote (their SHA-256 differs from the index)',
    });
    const shifted = rewritten(json, (lines) => lines);
    const lengths = /"lengths":\[(\d+),(\d+)/.exec(shifted)!;
    const moved = shifted.replace(lengths[0], `"lengths":[${Number(lengths[1]) - 2},${Number(lengths[2]) + 2}`);
    expect(readBundledConfig(moved)).toEqual({ problem: 'site store-00001 (sites[0]) is not where the index puts it' });
    expect(readBundledConfig(rewritten(json, (lines) => [...lines, '{"id":"extra"}']))).toEqual({
      problem: 'the index names 3 sites but gives 4 lengths',
    });
    const { head: first } = documentOf(json);
    expect(readBundledConfig(`${json}\n`)).toEqual({
      problem: 'the sites are not those synthesis wrote (their SHA-256 differs from the index)',
    });
    expect(readBundledConfig(`${first}\n"sites":[\n]}\n`)).toEqual({
      problem: 'the sites are not those synthesis wrote (their SHA-256 differs from the index)',
    });
    expect(readBundledConfig(json.replace('"sites":[', '"sites": ['))).toEqual({
      problem: 'the second line is not "\\"sites\\":["',
    });
  });

  it('cut the probe slice at synthesis, and refuse a slice to a function that reads another', async () => {
    const text = await readFile('examples/sites.yaml', 'utf8');
    const { config, json: all } = configJsonOf(text);
    const probe = bundledConfigJson(config, 'probe');
    expect(probe.length).toBeLessThan(all.length);
    const sliced = readBundledConfig(probe, { slice: 'probe' });
    if (!('config' in sliced)) throw new Error(sliced.problem);
    // What the probe reads is as written; the control functions' part is left out.
    expect(sliced.config).toEqual({ ...config, sites: config.sites.map((s) => sliceSite(s, 'probe')) });
    for (const [i, site] of sliced.config.sites.entries()) {
      const whole = config.sites[i]!;
      expect(site).toMatchObject({ checks: whole.checks, policy: whole.policy, links: whole.links, agent: undefined });
      expect(site.dns).toEqual(whole.dns.filter((r) => r.strategy === 'health-check-gated'));
      expect(site.maintenance).toEqual([]);
    }
    expect(config.sites.some((s) => s.agent && s.maintenance.length > 0 && s.dns.length > 0)).toBe(true);
    expect(config.sites.flatMap((s) => s.dns).map((r) => r.strategy)).toEqual(
      expect.arrayContaining(['health-check-gated', 'record-swap']),
    );
    // The whole configuration (a test's) is cut on reading to the same slice, at once or site by site.
    expect(readBundledConfig(all, { slice: 'probe' })).toEqual(sliced);
    expect(readBundledConfig(all, { slice: 'probe', read: 'eager' })).toEqual(sliced);
    expect(readBundledConfig(probe)).toEqual({
      problem: 'the bundle carries the "probe" slice of the configuration; this function reads "all"',
    });
    expect(() => bundledConfigJson(config, 'decide' as never)).toThrow('no configuration slice "decide"');
  });

  it('resolve YAML anchors and hex numbers before the JSON is written', () => {
    const text = base
      .replace(
        'version: 1\n',
        'version: 1\nprobing: { concurrency: 0x10 }\ndefaults:\n  policy: &fast { intervalSeconds: 10, failureThreshold: 1 }\n',
      )
      .replace('  - id: hq\n', '  - id: hq\n    policy: *fast\n');
    const { config, json } = configJsonOf(text);
    expect(config.probing.concurrency).toBe(16);
    expect(config.sites[0]!.policy).toMatchObject({ intervalSeconds: 10, failureThreshold: 1 });
    expect(readBundledConfig(json)).toEqual({ config });
  });

  it('refuse an invalid sites.yaml at synthesis with its located diagnostics', () => {
    const error = (() => {
      try {
        configJsonOf(base.replace('control: us-east-1', 'control: nowhere'), 'sites.yaml');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toBe('sites.yaml: 1 problem(s)');
    expect(error!.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^regions\.control \(line 4:\d+\): expected an AWS region/),
    ]);
  });

  it('refuse to write what JSON would change, and to read what is not a bundled configuration', () => {
    const config = parseConfig(base).config!;
    expect(() => bundledConfigJson({ ...config, probing: { ...config.probing, roundBudgetMs: Infinity } })).toThrow(
      'the configuration cannot be written as JSON: roundBudgetMs is Infinity',
    );
    expect(() => bundledConfigJson({ ...config, regions: { ...config.regions, probe: [undefined!] } })).toThrow(
      'the configuration cannot be written as JSON: 0 is undefined',
    );
    expect(() => bundledConfigJson({ ...config, local: new Map() as never })).toThrow(/local is \[object Map\]/);
    expect(readBundledConfig('version: 1')).toEqual({
      problem: expect.stringMatching(/^not a bundled configuration: its first line is not JSON \(/),
    });
    expect(readBundledConfig(JSON.stringify(config))).toEqual({
      problem: `format undefined, expected "${BUNDLED_CONFIG_FORMAT}" (build it at synth)`,
    });
    // The format before this one: one line of JSON with the sites inside.
    expect(readBundledConfig(JSON.stringify({ format: 'failover-config/resolved-2', config, sites: [] }))).toEqual({
      problem: `format "failover-config/resolved-2", expected "${BUNDLED_CONFIG_FORMAT}" (build it at synth)`,
    });
    const json = configJsonOf(base).json;
    expect(readBundledConfig(json.replace('"version":1', '"version":2'))).toEqual({ problem: 'version 2, expected 1' });
    expect(readBundledConfig(json.replace(/"ids":\[[^\]]*\]/, '"ids":[]'))).toEqual({
      problem: 'the index names 0 sites but gives 1 lengths',
    });
  });
});

describe('resolveQuorum', () => {
  it.each([
    ['majority', 1, 1],
    ['majority', 2, 2],
    ['majority', 3, 2],
    ['majority', 4, 3],
    ['majority', 5, 3],
    [3, 5, 3],
    [0.5, 4, 2],
    [0.6, 5, 3],
    [0.1, 5, 2],
    [0.34, 3, 2],
  ] as const)('quorum %s of %i regions is %i', (spec, regions, want) => {
    expect(resolveQuorum(spec, regions)).toBe(want);
  });
});

describe('docs/sites.schema.json', () => {
  it('is the current output of `failover schema`', async () => {
    const { sitesJsonSchema } = await import('../../shared/config/json-schema.ts');
    const onDisk = JSON.parse(await readFile('docs/sites.schema.json', 'utf8'));
    expect(onDisk, 'run: npx failover schema > docs/sites.schema.json').toEqual(sitesJsonSchema());
  });
});

describe('docs/config.md', () => {
  it('documents every field of the schema', async () => {
    const { sitesJsonSchema } = await import('../../shared/config/json-schema.ts');
    const names = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      const { properties } = node as { properties?: Record<string, unknown> };
      if (properties) for (const key of Object.keys(properties)) names.add(key);
      Object.values(node).forEach(walk);
    };
    walk(sitesJsonSchema());
    const doc = await readFile('docs/config.md', 'utf8');
    expect([...names].filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });
});

describe('statusPages', () => {
  const twoSites = base.replace(
    'sites:\n',
    `sites:
  - id: branch
    name: Branch office
    links:
      - { id: fiber, role: primary, address: 203.0.113.11 }
      - { id: lte, role: backup, address: 198.51.100.21 }
`,
  );

  it('resolves each listed site with its public name (default the site name) and group', () => {
    const { config, diagnostics } = parseConfig(`${twoSites}statusPages:
  - id: public
    title: Example status
    sites: [branch, { site: hq, name: Head office, group: Offices }]
  - { id: internal, sites: [hq], incidents: false }
`);
    expect(diagnostics).toEqual([]);
    expect(config!.statusPages).toEqual([
      {
        id: 'public',
        title: 'Example status',
        incidents: true,
        sites: [
          { site: 'branch', name: 'Branch office', group: null },
          { site: 'hq', name: 'Head office', group: 'Offices' },
        ],
      },
      { id: 'internal', title: 'internal', incidents: false, sites: [{ site: 'hq', name: 'hq', group: null }] },
    ]);
    expect(parseConfig(base).config!.statusPages).toEqual([]);
  });

  it('lists every problem with its place: unknown and repeated sites, repeated pages, bad ids and fields', () => {
    expect(
      problems(`${twoSites}statusPages:
  - { id: public, sites: [hq, nowhere, { site: hq }] }
  - { id: public, sites: [{ site: elsewhere, name: X }] }
  - { id: 'bad id', sites: [], secret: true }
`),
    ).toEqual([
      expect.stringMatching(/statusPages\[0\]\.sites\[1\].*unknown site "nowhere" \(sites: branch, hq\)/),
      expect.stringMatching(/statusPages\[0\]\.sites\[2\].*site "hq" is listed twice/),
      expect.stringMatching(/statusPages\[1\]\.id.*duplicate status page "public"/),
      expect.stringMatching(/statusPages\[1\]\.sites\[0\]\.site.*unknown site "elsewhere"/),
      expect.stringMatching(/statusPages\[2\]\.id.*expected an id/),
      expect.stringMatching(/statusPages\[2\]\.sites.*expected at least one site/),
      expect.stringMatching(/statusPages\[2\]\.secret.*unknown field "secret"/),
    ]);
  });
});

describe('brake', () => {
  it('defaults to the built-in brake, and takes each field given over it', () => {
    expect(parseConfig(base).config!.brake).toEqual({
      enabled: true,
      maxShare: 0.2,
      minSites: 5,
      windowSeconds: 900,
    });
    const { config, diagnostics } = parseConfig(`${base}brake: { maxShare: 0.05, windowSeconds: 600 }\n`);
    expect(diagnostics).toEqual([]);
    expect(config!.brake).toEqual({ enabled: true, maxShare: 0.05, minSites: 5, windowSeconds: 600 });
    expect(parseConfig(`${base}brake: { enabled: false }\n`).config!.brake.enabled).toBe(false);
  });

  it.each([
    {
      brake: '{ maxShare: 0.8 }',
      problem:
        'brake.maxShare (line 17:20): expected a share of at most 0.5: a brake that lets half the fleet fail over first brakes nothing',
    },
    { brake: '{ maxShare: 0 }', problem: 'brake.maxShare (line 17:20): expected a number > 0' },
    {
      brake: '{ windowSeconds: 30 }',
      problem: 'brake.windowSeconds (line 17:25): expected a number >= 60',
    },
    { brake: '{ minSites: 0 }', problem: 'brake.minSites (line 17:20): expected a number >= 1' },
    { brake: '{ maxSites: 10 }', problem: 'brake.maxSites (line 17:10): unknown field "maxSites"' },
  ])('refuses brake: $brake, naming the field', ({ brake, problem }) => {
    expect(problems(`${base}brake: ${brake}\n`)).toEqual([problem]);
  });
});
