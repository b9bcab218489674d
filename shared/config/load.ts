import { isIPv4, isIPv6 } from 'node:net';
import type * as z from 'zod';
import { ConfigError, type Diagnostic } from '../errors.ts';

// Where they always were for their callers; they live in errors.ts so that printing one loads no YAML parser.
export { formatDiagnostic, formatPath } from '../errors.ts';
import { isTimeZone, zonedTimeToEpoch } from './zoned-time.ts';
import { bundledConfigJson } from './bundled.ts';
import { controlRegionProblems } from './control-regions.ts';
import { dataPlaneProblems } from './data-plane.ts';
import { probeSpecOf, type Check } from './checks.ts';
import {
  DEFAULT_BRAKE,
  DEFAULT_POLICY,
  resolveQuorum,
  type FailoverConfig,
  type PlannedCheck,
  type ResolvedPolicy,
} from './model.ts';
import { BUILTIN_PRESETS, type PresetDef } from './presets.ts';
import { SitesConfig, type Policy, type SitesConfigParsed } from './schema.ts';
import { loadYamlFile, parseYamlWith } from './yaml-document.ts';

type Path = (string | number)[];

/** The outcome of reading a configuration: the resolved config when there is no problem, and every problem found. */
export interface ParseResult {
  readonly config: FailoverConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and validates a sites.yaml; throws ConfigError listing every problem. */
export async function loadConfig(file: string): Promise<FailoverConfig> {
  return loadYamlFile(file, parseConfig);
}

/**
 * Validates a sites.yaml like {@link parseConfig} and returns it resolved, with the JSON text the Lambda functions
 * inline (see bundled.ts); throws ConfigError listing every problem.
 */
export function configJsonOf(text: string, file?: string): { config: FailoverConfig; json: string } {
  const { config, diagnostics } = parseConfig(text);
  if (!config) throw new ConfigError(diagnostics, file);
  return { config, json: bundledConfigJson(config) };
}

/** Validates a sites.yaml document: YAML syntax, the schema, then cross-references, all problems at once. */
export function parseConfig(text: string): ParseResult {
  return parseYamlWith(text, {
    schema: SitesConfig,
    empty: 'the file is empty; expected version, regions and sites',
    rules: crossReferences,
    resolve,
    // What the resolved policy decides: the data plane's limits (shared/config/data-plane.ts).
    check: (config) => [
      ...dataPlaneProblems(config).map((p) => ({ path: [...p.path], message: p.message })),
      ...ticketProblems(config),
    ],
  });
}

/** A round ticket runs whole sites and every control check: a set `probing.maxChecksPerTicket` must hold them. */
function ticketProblems(config: FailoverConfig): { path: Path; message: string }[] {
  const max = config.probing.maxChecksPerTicket;
  if (max === undefined) return [];
  const control = config.controlChecks.length;
  if (max <= control)
    return [
      {
        path: ['probing', 'maxChecksPerTicket'],
        message: `${max} leaves no room beside the ${control} control checks every ticket runs`,
      },
    ];
  return config.sites.flatMap((site, i) =>
    control + site.checks.length > max
      ? [
          {
            path: ['sites', i, 'checks'],
            message:
              `${site.checks.length} checks (dependencies included) and the ${control} control checks exceed ` +
              `probing.maxChecksPerTicket (${max}): a site's checks run in one ticket`,
          },
        ]
      : [],
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-references. They read the raw document defensively, so that they report alongside schema problems.

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function crossReferences(data: unknown): { path: Path; message: string }[] {
  const out: { path: Path; message: string }[] = [];
  const root = obj(data);
  const add = (path: Path, message: string) => out.push({ path, message });

  const regions = arr(obj(root.regions).probe).filter((r): r is string => typeof r === 'string');
  duplicates(regions, (i, v) => add(['regions', 'probe', i], `duplicate region "${v}"`));
  for (const p of controlRegionProblems(obj(root.regions).control, obj(root.regions).witness)) add(p.path, p.message);

  const userPresets = obj(root.presets);
  for (const [name, preset] of Object.entries(userPresets)) {
    if (name in BUILTIN_PRESETS) add(['presets', name], `"${name}" is a built-in preset; choose another name`);
    arr(obj(preset).checks).forEach((c, j) => {
      if (obj(c).link !== undefined)
        add(['presets', name, 'checks', j, 'link'], 'preset checks are not tied to a link');
    });
    checkIds(arr(obj(preset).checks), ['presets', name, 'checks'], add);
  }
  const presetNames = new Set([...Object.keys(BUILTIN_PRESETS), ...Object.keys(userPresets)]);

  const controlChecks = arr(root.controlChecks);
  checkIds(controlChecks, ['controlChecks'], add);
  controlChecks.forEach((c, j) => {
    if (obj(c).link !== undefined) add(['controlChecks', j, 'link'], 'control checks are not tied to a link');
  });

  const contacts = arr(root.contacts).map(obj);
  duplicates(
    contacts.map((c) => str(c.name)),
    (i, v) => add(['contacts', i, 'name'], `duplicate contact "${v}"`),
  );
  contacts.forEach((c, i) => {
    if (c.email === undefined && c.sms === undefined) add(['contacts', i], 'a contact needs an email or an sms number');
  });
  const contactNames = new Set(contacts.map((c) => str(c.name)).filter(Boolean));

  const defaultsPolicy = obj(obj(root.defaults).policy);
  policyProblems(defaultsPolicy, {}, regions.length, ['defaults', 'policy'], add);

  const sites = arr(root.sites).map(obj);
  duplicates(
    sites.map((s) => str(s.id)),
    (i, v) => add(['sites', i, 'id'], `duplicate site id "${v}"`),
  );
  const recordOwners = new Map<string, string>();

  sites.forEach((site, i) => {
    const at = (...rest: Path): Path => ['sites', i, ...rest];
    const links = arr(site.links).map(obj);
    const linkIds = links.map((l) => str(l.id)).filter((id): id is string => id !== undefined);
    duplicates(
      links.map((l) => str(l.id)),
      (j, v) => add(at('links', j, 'id'), `duplicate link id "${v}"`),
    );
    const primaries = links.flatMap((l, j) => (l.role === 'primary' ? [j] : []));
    if (links.length > 0 && primaries.length === 0) add(at('links'), 'expected one link with role primary');
    for (const j of primaries.slice(1)) add(at('links', j, 'role'), 'a site has exactly one primary link');
    if (links.length >= 2 && primaries.length === links.length) add(at('links'), 'expected at least one backup link');
    const knownLinks = `(links: ${linkIds.join(', ') || 'none'})`;

    const checks = arr(site.checks);
    checkIds(checks, at('checks'), add);
    const checkedLinks = new Set(checks.map((c) => str(obj(c).link)));
    links.forEach((l, j) => {
      const id = str(l.id);
      if (id && checks.length > 0 && !checkedLinks.has(id))
        add(at('links', j), `no check tests link "${id}": the decider could never tell whether it is up`);
    });
    checks.forEach((c, j) => {
      const link = obj(c).link;
      if (typeof link === 'string' && !linkIds.includes(link))
        add(at('checks', j, 'link'), `unknown link "${link}" ${knownLinks}`);
    });

    arr(site.dns).forEach((r, k) => {
      const rec = obj(r);
      const zone = str(rec.zone)?.replace(/\.$/, '').toLowerCase();
      const name = str(rec.name)?.replace(/\.$/, '').toLowerCase();
      if (zone && name && name !== zone && !name.endsWith(`.${zone}`))
        add(at('dns', k, 'name'), `"${rec.name}" is not inside zone "${rec.zone}"`);
      const type = str(rec.type);
      if (name && type) {
        const key = `${name}|${type}`;
        const owner = recordOwners.get(key);
        if (owner !== undefined) add(at('dns', k, 'name'), `${type} ${name} is already managed by site "${owner}"`);
        else recordOwners.set(key, str(site.id) ?? `#${i}`);
      }
      const values = obj(rec.values);
      for (const [link, list] of Object.entries(values)) {
        if (!linkIds.includes(link)) add(at('dns', k, 'values', link), `unknown link "${link}" ${knownLinks}`);
        arr(list).forEach((v, n) => {
          const problem = recordValueProblem(type, v, arr(list).length);
          if (problem) add(at('dns', k, 'values', link, n), problem);
        });
      }
      if (rec.values !== undefined)
        for (const link of linkIds) if (!(link in values)) add(at('dns', k, 'values'), `no values for link "${link}"`);
    });

    const deps = arr(site.dependencies);
    deps.forEach((d, j) => {
      if (typeof d === 'string' && !presetNames.has(d))
        add(at('dependencies', j), `unknown preset "${d}" (known: ${[...presetNames].sort().join(', ')})`);
    });
    duplicates(
      deps.map((d) => str(d)),
      (j, v) => add(at('dependencies', j), `duplicate dependency "${v}"`),
    );

    arr(site.contacts).forEach((c, j) => {
      if (typeof c === 'string' && !contactNames.has(c)) add(at('contacts', j), `unknown contact "${c}"`);
    });

    const windows = arr(site.maintenance).map(obj);
    duplicates(
      windows.map((w) => str(w.id)),
      (j, v) => add(at('maintenance', j, 'id'), `duplicate maintenance window "${v}"`),
    );
    windows.forEach((w, j) => {
      const tz = str(w.timezone) ?? 'UTC';
      if (!isTimeZone(tz)) {
        add(at('maintenance', j, 'timezone'), `unknown time zone "${tz}" (expected an IANA name such as Europe/Paris)`);
        return;
      }
      const start = str(w.start);
      const end = str(w.end);
      if (start && end) {
        const s = zonedTimeToEpoch(start, tz);
        const e = zonedTimeToEpoch(end, tz);
        if (Number.isFinite(s) && Number.isFinite(e) && e <= s)
          add(at('maintenance', j, 'end'), 'expected end after start');
      }
    });

    const key = str(obj(site.agent).publicKey);
    if (key !== undefined && !isEd25519PublicKey(key))
      add(at('agent', 'publicKey'), 'expected an Ed25519 public key: base64 of 32 bytes (see `failover agent keygen`)');

    policyProblems(obj(site.policy), defaultsPolicy, regions.length, at('policy'), add);
  });
  const siteIds = sites.map((s) => str(s.id)).filter((id): id is string => id !== undefined);
  integrationProblems(obj(root.integrations), siteIds, add);
  statusPageProblems(arr(root.statusPages).map(obj), siteIds, add);
  return out;
}

function integrationProblems(integrations: Raw, siteIds: string[], add: (path: Path, message: string) => void): void {
  const inbound = arr(integrations.inbound).map(obj);
  duplicates(
    inbound.map((s) => str(s.source)),
    (i, v) => add(['integrations', 'inbound', i, 'source'], `duplicate inbound source "${v}"`),
  );
  inbound.forEach((source, i) => {
    const at = (...rest: Path): Path => ['integrations', 'inbound', i, ...rest];
    const sites = arr(source.sites);
    sites.forEach((site, j) => {
      if (typeof site === 'string' && site !== '*' && !siteIds.includes(site))
        add(at('sites', j), `unknown site "${site}" (sites: ${siteIds.join(', ') || 'none'})`);
    });
    if (sites.includes('*') && sites.length > 1) add(at('sites'), '"*" already means every site; list nothing else');
    const allowed = arr(source.allow).filter((a): a is string => typeof a === 'string');
    duplicates(
      arr(source.allow).map((a) => str(a)),
      (j, v) => add(at('allow', j), `duplicate action "${v}"`),
    );
    for (const [value, action] of Object.entries(obj(source.values))) {
      if (typeof action === 'string' && !allowed.includes(action))
        add(at('values', value), `maps to "${action}", which allow does not list`);
    }
    if (source.signatureHeader !== undefined && source.scheme !== 'stripe')
      add(at('signatureHeader'), 'only the stripe scheme reads a signature header of your choice');
  });
}

function statusPageProblems(pages: Raw[], siteIds: string[], add: (path: Path, message: string) => void): void {
  duplicates(
    pages.map((p) => str(p.id)),
    (i, v) => add(['statusPages', i, 'id'], `duplicate status page "${v}"`),
  );
  pages.forEach((page, i) => {
    const entries = arr(page.sites);
    const ids = entries.map((e) => (typeof e === 'string' ? e : str(obj(e).site)));
    ids.forEach((id, j) => {
      const path: Path =
        typeof entries[j] === 'string' ? ['statusPages', i, 'sites', j] : ['statusPages', i, 'sites', j, 'site'];
      if (id !== undefined && !siteIds.includes(id))
        add(path, `unknown site "${id}" (sites: ${siteIds.join(', ') || 'none'})`);
    });
    duplicates(ids, (j, v) => add(['statusPages', i, 'sites', j], `site "${v}" is listed twice`));
  });
}

function checkIds(checks: unknown[], base: Path, add: (path: Path, message: string) => void): void {
  duplicates(
    checks.map((c) => str(obj(c).id)),
    (j, v) => add([...base, j, 'id'], `duplicate check id "${v}"`),
  );
}

function duplicates(values: (string | undefined)[], report: (index: number, value: string) => void): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (seen.has(v)) report(i, v);
    seen.add(v);
  });
}

function recordValueProblem(type: string | undefined, value: unknown, count: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (type === 'A' && !isIPv4(value)) return `expected an IPv4 address for an A record, found "${value}"`;
  if (type === 'AAAA' && !isIPv6(value)) return `expected an IPv6 address for an AAAA record, found "${value}"`;
  if (type === 'CNAME') {
    if (count > 1) return 'a CNAME record has exactly one value';
    if (isIPv4(value) || isIPv6(value) || !/^[a-z0-9_.-]+$/i.test(value))
      return `expected a host name for a CNAME record, found "${value}"`;
  }
  return undefined;
}

function isEd25519PublicKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{43}=?$/.test(key) && Buffer.from(key, 'base64').length === 32;
}

function policyProblems(
  policy: Raw,
  inherited: Raw,
  regionCount: number,
  at: Path,
  add: (path: Path, message: string) => void,
): void {
  const quorum = policy.quorum;
  if (typeof quorum === 'number' && Number.isInteger(quorum) && regionCount > 0) {
    if (quorum > regionCount)
      add([...at, 'quorum'], `quorum ${quorum} is more than the ${regionCount} probe region(s) configured`);
    else if (quorum < 2 && regionCount >= 2)
      add(
        [...at, 'quorum'],
        `quorum ${quorum} is below 2; with ${regionCount} probe regions one region alone may not decide`,
      );
  }
  const damping = { ...DEFAULT_POLICY.damping, ...obj(inherited.damping), ...obj(policy.damping) };
  if (policy.damping === undefined && at[0] !== 'defaults') return;
  const { reuseLimit, suppressLimit, maxPenalty } = damping as Record<string, unknown>;
  if (typeof reuseLimit === 'number' && typeof suppressLimit === 'number' && reuseLimit >= suppressLimit)
    add([...at, 'damping', 'reuseLimit'], `expected reuseLimit (${reuseLimit}) below suppressLimit (${suppressLimit})`);
  if (typeof suppressLimit === 'number' && typeof maxPenalty === 'number' && suppressLimit > maxPenalty)
    add(
      [...at, 'damping', 'suppressLimit'],
      `expected suppressLimit (${suppressLimit}) at most maxPenalty (${maxPenalty})`,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Resolution: the validated document becomes the model the rest of the system reads.

function resolve(doc: SitesConfigParsed): FailoverConfig {
  const presets: Record<string, PresetDef> = { ...BUILTIN_PRESETS, ...doc.presets };
  const regionCount = doc.regions.probe.length;
  const sites = doc.sites.map((site) => {
    const policy = resolvePolicy(doc.defaults?.policy, site.policy, regionCount);
    const planned = (check: Check, dependency: string | null): PlannedCheck => ({
      site: site.id,
      id: dependency ? `${dependency}/${check.id}` : check.id,
      name: check.name,
      link: check.link ?? null,
      dependency,
      timeoutMs: check.timeoutMs,
      confirmRetryMs: policy.confirmRetryMs,
      probe: probeSpecOf(check),
    });
    const contactNames = site.contacts;
    return {
      id: site.id,
      name: site.name ?? site.id,
      links: site.links,
      primary: site.links.find((l) => l.role === 'primary')!,
      backups: site.links.filter((l) => l.role === 'backup'),
      checks: [
        ...site.checks.map((c) => planned(c, null)),
        ...site.dependencies.flatMap((d) => presets[d]!.checks.map((c) => planned(c, d))),
      ],
      dns: site.dns,
      dependencies: site.dependencies,
      agent: site.agent,
      maintenance: site.maintenance.map((w) => ({
        ...w,
        ticket: w.ticket,
        startMs: zonedTimeToEpoch(w.start, w.timezone),
        endMs: zonedTimeToEpoch(w.end, w.timezone),
      })),
      policy,
      contacts: contactNames ? doc.contacts.filter((c) => contactNames.includes(c.name)) : doc.contacts,
    };
  });
  const shortestInterval = Math.min(...sites.map((s) => s.policy.intervalSeconds));
  const defaultPolicy = resolvePolicy(doc.defaults?.policy, undefined, regionCount);
  return {
    version: 1,
    regions: resolveRegions(doc.regions),
    probing: { ...doc.probing, roundBudgetMs: doc.probing.roundBudgetMs ?? Math.floor(shortestInterval * 800) },
    controlChecks: doc.controlChecks.map((check) => ({
      site: null,
      id: check.id,
      name: check.name,
      link: null,
      dependency: null,
      timeoutMs: check.timeoutMs,
      confirmRetryMs: defaultPolicy.confirmRetryMs,
      probe: probeSpecOf(check),
    })),
    contacts: doc.contacts,
    sites,
    integrations: { inbound: doc.integrations?.inbound ?? [] },
    statusPages: doc.statusPages.map((page) => ({
      id: page.id,
      title: page.title ?? page.id,
      incidents: page.incidents,
      sites: page.sites.map((entry) => {
        const ref = typeof entry === 'string' ? { site: entry } : entry;
        const site = sites.find((s) => s.id === ref.site)!;
        return { site: site.id, name: ref.name ?? site.name, group: ref.group ?? null };
      }),
    })),
    brake: { ...DEFAULT_BRAKE, ...doc.brake },
    local: { demoTargets: doc.local?.demoTargets ?? [] },
  };
}

type PolicyOut = z.output<typeof Policy>;

function resolveRegions(regions: SitesConfigParsed['regions']): FailoverConfig['regions'] {
  const [control, standby] = typeof regions.control === 'string' ? [regions.control] : regions.control;
  return {
    probe: regions.probe,
    control: control!,
    ...(standby ? { standby, ...(regions.witness ? { witness: regions.witness } : {}) } : {}),
  };
}

function resolvePolicy(defaults: PolicyOut | undefined, site: PolicyOut | undefined, regions: number): ResolvedPolicy {
  const merged = { ...DEFAULT_POLICY, ...defaults, ...site };
  const damping = { ...DEFAULT_POLICY.damping, ...defaults?.damping, ...site?.damping };
  return {
    ...merged,
    failoverOn: [...new Set(merged.failoverOn)],
    quorumSpec: merged.quorum,
    quorum: resolveQuorum(merged.quorum, regions),
    damping,
  };
}
