import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../config/load.ts';
import { readYamlDocument, validateData, type Problem } from '../config/yaml-document.ts';
import type { FailoverConfig, SiteConfig } from '../config/model.ts';
import type { ErrorClass, Outcome } from '../contracts/observation.ts';
import type { OperatorCommand } from '../domain/model.ts';
import { FailoverError, formatPath, type Diagnostic } from '../errors.ts';
import { formatDuration } from './duration.ts';
import { ScenarioDoc, type ExpectDoc, type TimelineEntryDoc } from './schema.ts';

/** A stretch of the scenario, in milliseconds from its start: [fromMs, toMs). A command's span is one instant. */
export interface Span {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Which checks an outcome entry sets. */
export type Target = { readonly by: 'site' } | { readonly by: 'link' | 'check' | 'dependency'; readonly id: string };

interface EntryBase {
  /** Position in the scenario's `timeline` (later entries win). */
  readonly index: number;
  readonly spans: readonly Span[];
}

export interface OutcomeEntry extends EntryBase {
  readonly kind: 'outcome';
  readonly outcome: Outcome;
  readonly errorClass: ErrorClass | undefined;
  readonly latencyMs: number | undefined;
  readonly mos: number | undefined;
  readonly lossPct: number | undefined;
  readonly detail: string | undefined;
  readonly target: Target;
  /** Null: every region. */
  readonly regions: readonly string[] | null;
  readonly vantages: { readonly regions: boolean; readonly site: boolean };
}

export interface RegionEntry extends EntryBase {
  readonly kind: 'impaired' | 'silent';
  readonly value: boolean;
  readonly regions: readonly string[] | null;
}

export interface MaintenanceEntry extends EntryBase {
  readonly kind: 'maintenance';
  readonly id: string;
  readonly reason: string;
  readonly ticket: string | undefined;
}

/** The operator's release of the mass-failover brake: a command to the fleet, not to a site. */
export interface BrakeReleaseCommand {
  readonly type: 'release-brake';
  readonly by: string;
  readonly reason: string;
}

export interface CommandEntry extends EntryBase {
  readonly kind: 'command';
  readonly command: OperatorCommand | BrakeReleaseCommand;
}

export type TimelineEntry = OutcomeEntry | RegionEntry | MaintenanceEntry | CommandEntry;

/** A validated scenario, ready to run. */
export interface Scenario {
  readonly name: string;
  readonly description: string | undefined;
  /** The scenario file, when it came from one. */
  readonly file: string | undefined;
  /** The sites.yaml it refers to, or undefined for an inline site. */
  readonly configFile: string | undefined;
  /**
   * The configuration reduced to the simulated site, with the scenario's policy and brake overrides applied; with
   * `fleet`, to its copies.
   */
  readonly config: FailoverConfig;
  /** The site as written (with `fleet`, the first copy). */
  readonly site: SiteConfig;
  /** Every simulated site: the site alone, or its `fleet` copies `<id>-1` ... `<id>-N`, under the same timeline. */
  readonly sites: readonly SiteConfig[];
  readonly startMs: number;
  readonly durationMs: number;
  readonly timeline: readonly TimelineEntry[];
  readonly expect: ExpectDoc;
}

/** The problems of one file. */
export interface FileDiagnostics {
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
}

/** A scenario that cannot be run: every problem, with the file it is in (the scenario or its sites.yaml). */
export class ScenarioError extends FailoverError {
  readonly files: readonly FileDiagnostics[];

  constructor(files: readonly FileDiagnostics[]) {
    const count = files.reduce((n, f) => n + f.diagnostics.length, 0);
    super('SCENARIO_INVALID', `${files.map((f) => f.file).join(', ')}: ${count} problem(s)`);
    this.name = 'ScenarioError';
    this.files = files;
  }
}

export const DEFAULT_START = '2026-01-01T00:00:00Z';
/** A bound on a run's length: each decision is a few DynamoDB requests. */
export const MAX_DECISIONS = 20_000;
const KINDS = ['outcome', 'impaired', 'silent', 'maintenance', 'command'] as const;
const TARGETS = ['link', 'check', 'dependency'] as const;
const OUTCOME_FIELDS = ['errorClass', 'latencyMs', 'mos', 'lossPct', 'detail', 'vantages'] as const;

/** Reads, validates and resolves a scenario file; throws ScenarioError listing every problem. */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError([{ file, diagnostics: [{ path: [], message: `cannot read: ${reason(error)}` }] }]);
  }
  const { scenario, problems } = await parseScenario(text, file);
  if (!scenario) throw new ScenarioError(problems);
  return scenario;
}

/**
 * Validates a scenario document: YAML syntax, its own schema and rules, its configuration (through parseConfig, with
 * problems of an inline site reported at their place in the scenario), and every reference of the timeline and the
 * expectations to the site. `file` names the document and anchors a relative `config:` path (default: the cwd).
 */
export async function parseScenario(
  text: string,
  file?: string,
): Promise<{ scenario: Scenario | undefined; problems: FileDiagnostics[] }> {
  const name = file ?? 'scenario';
  const shape = 'expected a scenario: name, duration, a config or an inline site, timeline and expect';
  const read = readYamlDocument(text, shape);
  if (!read.ok) return { scenario: undefined, problems: [{ file: name, diagnostics: read.diagnostics }] };
  const { data } = read;
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      scenario: undefined,
      problems: [{ file: name, diagnostics: [{ path: [], message: shape, line: 1, column: 1 }] }],
    };
  }
  const raw = data as Raw;
  const { parsed, problems } = validateData(ScenarioDoc, raw, () => entryRules(raw));

  const resolved = await resolveConfig(raw, file, problems);
  const other = resolved.configProblems ? [resolved.configProblems] : [];
  if (!parsed.success || !resolved.config || !resolved.site) {
    return { scenario: undefined, problems: located(name, read.locate, problems, other) };
  }
  const s = parsed.data;
  const startMs = Date.parse(s.start ?? DEFAULT_START);
  const timeline = s.timeline.map((e, i) => resolveEntry(e, i, s.duration, startMs));
  problems.push(...references(s, resolved.config, resolved.site));
  if (problems.length > 0) return { scenario: undefined, problems: located(name, read.locate, problems, other) };
  const fleet = fleetOf(resolved.config, resolved.site, s.fleet);
  return {
    scenario: {
      name: s.name,
      description: s.description,
      file,
      configFile: resolved.configFile,
      config: fleet.config,
      site: fleet.sites[0]!,
      sites: fleet.sites,
      startMs,
      durationMs: s.duration,
      timeline,
      expect: s.expect,
    },
    problems: [],
  };
}

function located(
  file: string,
  locate: (problems: readonly Problem[]) => Diagnostic[],
  problems: readonly Problem[],
  other: readonly FileDiagnostics[],
): FileDiagnostics[] {
  const own = problems.length > 0 ? [{ file, diagnostics: locate(problems) }] : [];
  return [...other, ...own];
}

// ---------------------------------------------------------------------------------------------------------------
// Rules the schema cannot say: what an entry may combine. They read the raw document, so they report alongside it.

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const has = (o: Raw, key: string) => o[key] !== undefined;

function entryRules(raw: Raw): Problem[] {
  const out: Problem[] = [];
  const timeline = Array.isArray(raw.timeline) ? raw.timeline : [];
  timeline.forEach((value, i) => {
    const e = obj(value);
    const at = (...rest: (string | number)[]) => ['timeline', i, ...rest];
    const kinds = KINDS.filter((k) => has(e, k));
    if (kinds.length === 0) {
      out.push({ path: at(), message: 'say what happens: outcome, impaired, silent, maintenance or command' });
      return;
    }
    if (kinds.length > 1) {
      out.push({ path: at(kinds[1]!), message: `one thing per entry: found ${kinds.join(' and ')}`, atKey: true });
      return;
    }
    const kind = kinds[0]!;
    if (kind === 'command') {
      if (!has(e, 'at'))
        out.push({ path: at('command'), message: 'a command happens at an instant: add at', atKey: true });
      for (const k of ['from', 'to'] as const)
        if (has(e, k)) out.push({ path: at(k), message: 'a command takes at, not from/to', atKey: true });
    } else if (has(e, 'at')) {
      out.push({ path: at('at'), message: 'at is for commands; give from and to', atKey: true });
    }
    if ((kind === 'command' || kind === 'maintenance') && has(e, 'regions'))
      out.push({ path: at('regions'), message: `${kind} applies to the whole site, not to regions`, atKey: true });
    const targets = TARGETS.filter((k) => has(e, k));
    if (kind !== 'outcome') {
      for (const k of [...targets, ...OUTCOME_FIELDS])
        if (has(e, k)) out.push({ path: at(k), message: `${k} applies to outcome entries only`, atKey: true });
    } else {
      if (targets.length > 1)
        out.push({
          path: at(targets[1]!),
          message: `give one of link, check or dependency, not ${targets.join(' and ')}`,
          atKey: true,
        });
      if (has(e, 'errorClass') && e.outcome !== 'down')
        out.push({ path: at('errorClass'), message: 'errorClass applies to outcome: down', atKey: true });
    }
    if (has(e, 'repeat') && !has(e, 'every'))
      out.push({ path: at('repeat'), message: 'repeat needs every (the period of the repetition)', atKey: true });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The configuration: a sites.yaml file, or an inline site validated as a one-site sites.yaml.

interface ResolvedConfig {
  config?: FailoverConfig;
  site?: SiteConfig;
  configFile?: string;
  /** Problems found in the referenced sites.yaml itself. */
  configProblems?: FileDiagnostics;
}

async function resolveConfig(raw: Raw, file: string | undefined, problems: Problem[]): Promise<ResolvedConfig> {
  const policy = raw.policy === undefined ? undefined : obj(raw.policy);
  if (raw.config !== undefined) {
    for (const key of ['regions', 'controlChecks', 'presets'])
      if (raw[key] !== undefined)
        problems.push({
          path: [key],
          message: `${key} belongs to an inline site; with config: it comes from the file`,
          atKey: true,
        });
    if (raw.site !== undefined && typeof raw.site !== 'string') {
      problems.push({ path: ['site'], message: 'with config:, site is the id of one of its sites' });
      return {};
    }
    if (typeof raw.config !== 'string') return {};
    const configFile = resolvePath(file ? dirname(file) : '.', raw.config);
    let text: string;
    try {
      text = await readFile(configFile, 'utf8');
    } catch (error) {
      problems.push({ path: ['config'], message: `cannot read ${configFile}: ${reason(error)}` });
      return {};
    }
    const { config, diagnostics } = parseConfig(text);
    if (!config) return { configFile, configProblems: { file: configFile, diagnostics } };
    const read = readYamlDocument(text, '');
    const data = obj(read.ok ? read.data : {});
    const sites = (data.sites as unknown[]).map(obj);
    const wanted = typeof raw.site === 'string' ? raw.site : config.sites[0]!.id;
    const index = sites.findIndex((s) => s.id === wanted);
    if (index < 0) {
      problems.push({
        path: ['site'],
        message: `unknown site "${wanted}" (sites: ${config.sites.map((s) => s.id).join(', ')})`,
      });
      return { configFile };
    }
    const document = { ...withBrake(data, raw.brake), sites: [withPolicy(sites[index]!, policy)] };
    return {
      configFile,
      ...oneSite(document, problems, (path) =>
        path[2] === 'policy' ? ['policy', ...path.slice(3)] : path[0] === 'brake' && raw.brake ? path : [],
      ),
    };
  }

  if (raw.site === undefined || typeof raw.site !== 'object' || Array.isArray(raw.site)) {
    problems.push({
      path: raw.site === undefined ? [] : ['site'],
      message:
        raw.site === undefined
          ? 'expected config: (a sites.yaml) or an inline site: with regions:'
          : 'without config:, site is a site in sites.yaml syntax (id, links, checks, ...)',
    });
    return {};
  }
  if (raw.regions === undefined) {
    problems.push({
      path: [],
      message: 'an inline site needs regions: (the probe regions, e.g. [us-east-1, us-west-2, eu-west-1])',
    });
    return {};
  }
  const regionList = Array.isArray(raw.regions);
  const document: Raw = {
    version: 1,
    regions: regionList ? { probe: raw.regions, control: (raw.regions as unknown[])[0] } : raw.regions,
    ...(raw.controlChecks === undefined ? {} : { controlChecks: raw.controlChecks }),
    ...(raw.presets === undefined ? {} : { presets: raw.presets }),
    ...(raw.brake === undefined ? {} : { brake: raw.brake }),
    sites: [withPolicy(obj(raw.site), policy)],
  };
  return oneSite(document, problems, (path) => {
    const [head, , field, key] = path;
    if (head === 'regions') return regionList ? ['regions', ...(path[1] === 'probe' ? path.slice(2) : [])] : path;
    if (head === 'sites' && path.length <= 2) return ['site', ...path.slice(2)];
    if (head === 'sites' && field === 'policy' && policy && typeof key === 'string' && key in policy)
      return ['policy', ...path.slice(3)];
    if (head === 'sites') return ['site', ...path.slice(2)];
    return head === 'controlChecks' || head === 'presets' || head === 'brake' ? path : [];
  });
}

/** The document with the scenario's `brake:` laid over its own, field by field. */
function withBrake(data: Raw, brake: unknown): Raw {
  return brake === undefined ? data : { ...data, brake: { ...obj(data.brake), ...obj(brake) } };
}

/**
 * The simulated sites: the site alone, or `count` copies of it (`<id>-1` ... `<id>-N`, named `<name> N`), each with
 * its checks, in one configuration, so that the mass-failover brake counts the fleet. A copy's DNS records and agent
 * are the site's: the simulation applies effects instantly and never to a real zone or agent.
 */
function fleetOf(
  config: FailoverConfig,
  site: SiteConfig,
  count: number | undefined,
): { config: FailoverConfig; sites: SiteConfig[] } {
  if (count === undefined) return { config, sites: [site] };
  const sites = Array.from({ length: count }, (_, i): SiteConfig => {
    const id = `${site.id}-${i + 1}`;
    return { ...site, id, name: `${site.name} ${i + 1}`, checks: site.checks.map((c) => ({ ...c, site: id })) };
  });
  return { config: { ...config, sites }, sites };
}

/** Validates a one-site sites.yaml document; its problems are reported at the scenario paths `mapPath` gives. */
function oneSite(
  document: Raw,
  problems: Problem[],
  mapPath: (path: readonly (string | number)[]) => readonly (string | number)[],
): { config?: FailoverConfig; site?: SiteConfig } {
  const { config, diagnostics } = parseConfig(stringify(document));
  for (const d of diagnostics) {
    const path = mapPath(d.path);
    const lost = path.length === 0 && d.path.length > 0;
    problems.push({
      path: [...path],
      message: lost ? `${formatPath(d.path)}: ${d.message}` : d.message,
      atKey: d.message.startsWith('unknown field'),
    });
  }
  return config ? { config, site: config.sites[0]! } : {};
}

/** The site with the scenario's policy laid over its own (damping merged field by field). */
function withPolicy(site: Raw, policy: Raw | undefined): Raw {
  if (!policy) return site;
  const own = obj(site.policy);
  const damping =
    own.damping !== undefined || policy.damping !== undefined
      ? { damping: { ...obj(own.damping), ...obj(policy.damping) } }
      : {};
  return { ...site, policy: { ...own, ...policy, ...damping } };
}

// ---------------------------------------------------------------------------------------------------------------
// References of the timeline and expectations to the site, and times inside the scenario.

function references(s: ScenarioDoc, config: FailoverConfig, site: SiteConfig): Problem[] {
  const out: Problem[] = [];
  const regions = config.regions.probe;
  const links = site.links.map((l) => l.id);
  // A control check may be named too: it fails in the regions given, and their rounds' control summary says so.
  const checkIds = [...site.checks, ...config.controlChecks].map((c) => c.id);
  const list = (xs: readonly string[]) => xs.join(', ') || 'none';
  const end = formatDuration(s.duration);
  s.timeline.forEach((e, i) => {
    const at = (...rest: (string | number)[]) => ['timeline', i, ...rest];
    e.regions?.forEach((r, j) => {
      if (!regions.includes(r))
        out.push({ path: at('regions', j), message: `unknown region "${r}" (regions: ${list(regions)})` });
    });
    if (e.link !== undefined && !links.includes(e.link))
      out.push({ path: at('link'), message: `unknown link "${e.link}" (links: ${list(links)})` });
    if (e.check !== undefined && !checkIds.includes(e.check)) {
      const controls = config.controlChecks.map((c) => c.id);
      const named = `checks: ${list(site.checks.map((c) => c.id))}${controls.length > 0 ? `; control checks: ${list(controls)}` : ''}`;
      out.push({ path: at('check'), message: `unknown check "${e.check}" (${named})` });
    }
    if (e.dependency !== undefined && !site.dependencies.includes(e.dependency))
      out.push({
        path: at('dependency'),
        message: `"${e.dependency}" is not a dependency of site ${site.id} (dependencies: ${list(site.dependencies)})`,
      });
    if (e.vantages) {
      const dependencyTarget =
        e.dependency !== undefined ||
        (e.check !== undefined && site.checks.find((c) => c.id === e.check)?.dependency != null);
      if (!dependencyTarget)
        out.push({
          path: at('vantages'),
          message: "vantages applies to dependency checks only (the site's agent observes dependencies)",
        });
      else if (e.vantages.includes('site') && !site.agent)
        out.push({
          path: at('vantages'),
          message: `site ${site.id} has no agent: add agent: { publicKey } to the site to observe from inside`,
        });
    }
    if (e.impaired === true && config.controlChecks.length === 0)
      out.push({
        path: at('impaired'),
        message: 'a region is seen impaired only through control checks: the configuration has no controlChecks',
      });
    if (e.command !== undefined) {
      if (e.at !== undefined && e.at > s.duration)
        out.push({ path: at('at'), message: `after the end of the scenario (${end})` });
    } else {
      const from = e.from ?? 0;
      if (from >= s.duration) out.push({ path: at('from'), message: `at or after the end of the scenario (${end})` });
      if (e.to !== undefined && e.to <= from) out.push({ path: at('to'), message: 'expected to after from' });
    }
    if (e.every !== undefined && e.every <= 0) out.push({ path: at('every'), message: 'expected a period above 0' });
  });
  const decisions =
    Math.ceil(s.duration / (site.policy.intervalSeconds * 1000)) *
    (regions.length + (site.agent ? links.length : 0)) *
    (s.fleet ?? 1);
  if (decisions > MAX_DECISIONS)
    out.push({
      path: ['duration'],
      message: `about ${decisions} decisions, more than ${MAX_DECISIONS}: shorten it or raise policy.intervalSeconds`,
    });
  if (s.expect.finalLink !== undefined && !links.includes(s.expect.finalLink))
    out.push({
      path: ['expect', 'finalLink'],
      message: `unknown link "${s.expect.finalLink}" (links: ${list(links)})`,
    });
  s.expect.when?.forEach((w, i) => {
    if (w.after !== undefined && w.before !== undefined && w.before < w.after)
      out.push({ path: ['expect', 'when', i, 'before'], message: 'expected before at or after after' });
  });
  return out;
}

function resolveEntry(e: TimelineEntryDoc, index: number, durationMs: number, startMs: number): TimelineEntry {
  const instant = e.command !== undefined;
  const from = instant ? (e.at ?? 0) : (e.from ?? 0);
  const to = instant ? from : (e.to ?? durationMs);
  const spans: Span[] = [];
  const times = e.every === undefined || e.every <= 0 ? 1 : (e.repeat ?? Number.POSITIVE_INFINITY);
  for (let k = 0; k < times; k++) {
    const shift = k * (e.every ?? 0);
    if (k > 0 && from + shift >= durationMs) break;
    spans.push({ fromMs: from + shift, toMs: Math.min(to + shift, durationMs) });
  }
  const base = { index, spans };
  if (e.command !== undefined) {
    const { until, ...rest } = e.command as ScenarioCommandWithUntil;
    return {
      ...base,
      kind: 'command',
      command: { ...rest, ...(until === undefined ? {} : { until: startMs + until }) } as CommandEntry['command'],
    };
  }
  if (e.maintenance !== undefined) return { ...base, kind: 'maintenance', ticket: undefined, ...e.maintenance };
  if (e.impaired !== undefined) return { ...base, kind: 'impaired', value: e.impaired, regions: e.regions ?? null };
  if (e.silent !== undefined) return { ...base, kind: 'silent', value: e.silent, regions: e.regions ?? null };
  const target: Target =
    e.link !== undefined
      ? { by: 'link', id: e.link }
      : e.check !== undefined
        ? { by: 'check', id: e.check }
        : e.dependency !== undefined
          ? { by: 'dependency', id: e.dependency }
          : { by: 'site' };
  const vantages = e.vantages ?? ['regions', 'site'];
  return {
    ...base,
    kind: 'outcome',
    outcome: e.outcome!,
    errorClass: e.errorClass,
    latencyMs: e.latencyMs,
    mos: e.mos,
    lossPct: e.lossPct,
    detail: e.detail,
    target,
    regions: e.regions ?? null,
    vantages: { regions: vantages.includes('regions'), site: vantages.includes('site') },
  };
}

type ScenarioCommandWithUntil = NonNullable<TimelineEntryDoc['command']> & { until?: number };

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
}
