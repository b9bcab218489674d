import { isIP } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import * as z from 'zod';
import type { ConfigError } from '../errors.ts';
import { type Diagnostic } from '../errors.ts';
import { Check, Id, probeSpecOf } from '../config/checks.ts';
import { formatDiagnostic } from '../errors.ts';
import { loadYamlFile, parseYamlWith, type Problem } from '../config/yaml-document.ts';
import type { PlannedCheck } from '../config/model.ts';
import { BUILTIN_PRESETS, type PresetDef } from '../config/presets.ts';
import { Preset } from '../config/schema.ts';

/** Placeholders an action's arguments may use; each is replaced by one whole argument value, never shell-parsed. */
export const PLACEHOLDERS = ['link', 'fromLink', 'site', 'commandId', 'action', 'interface', 'gateway'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const ActionName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected an action name such as switch-wan');
const IpAddress = z.string().refine((v) => isIP(v) !== 0, { message: 'expected an IPv4 or IPv6 address' });
const seconds = (min: number, max: number) => z.number().min(min).max(max);

export const AgentLink = z
  .object({
    id: Id,
    interface: z.string().min(1).optional().describe("Network interface; its first IPv4 address is the link's source."),
    sourceAddress: IpAddress.optional().describe('Source address of the link; wins over interface.'),
    gateway: IpAddress.optional().describe('Next hop of the link, for the {gateway} placeholder of actions.'),
  })
  .strict();

export const ActionConfig = z
  .object({
    command: z.string().min(1).describe('The program to run (an absolute path is best); never run through a shell.'),
    args: z.array(z.string()).default([]).describe('Arguments, with placeholders such as {link} substituted.'),
    timeoutSeconds: seconds(0.1, 3600).default(30).describe('SIGTERM after this long, SIGKILL 5 s later.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the program.'),
  })
  .strict();

export const ControlPlaneConfig = z
  .object({
    url: z.string().describe('WebSocket URL of the agent endpoint, wss://.../v1/agent/ws (ws:// only on loopback).'),
    pollUrl: z.string().optional().describe('Base of /challenge and /poll; default: url with https and without /ws.'),
    publicKey: z.string().describe("Base64 Ed25519 public key of the control plane's command signing key."),
    transport: z.enum(['auto', 'websocket', 'poll']).default('auto'),
    fallbackAfterFailures: z.number().int().min(1).max(100).default(3),
    retryWebSocketSeconds: seconds(1, 86_400).default(300).describe('auto: how often polling tries WebSocket again.'),
    pollIntervalSeconds: seconds(0.1, 3600).default(15),
    heartbeatSeconds: seconds(0.1, 3600).default(20),
    reconnect: z
      .object({ minSeconds: seconds(0.01, 3600).default(1), maxSeconds: seconds(0.01, 3600).default(60) })
      .strict()
      .default({ minSeconds: 1, maxSeconds: 60 }),
  })
  .strict();

export const InsideOutChecks = z
  .object({
    presets: z.array(Id).default([]).describe('Dependency presets, as in a site of sites.yaml.'),
    custom: z.array(Check).default([]).describe('Your own checks, sites.yaml format without link.'),
    intervalSeconds: seconds(1, 3600).default(60),
    concurrency: z.number().int().min(1).max(256).default(8),
    jitterMs: z.number().int().min(0).max(60_000).default(1000),
    confirmRetryMs: z.number().int().min(0).max(30_000).default(2000),
  })
  .strict();

export const AutonomyConfig = z
  .object({
    enabled: z.boolean().default(false),
    offlineAfterSeconds: seconds(0.1, 86_400)
      .default(60)
      .describe('Without contact with the control plane for this long, the agent may act alone.'),
    intervalSeconds: seconds(0.1, 3600).default(10),
    count: z.number().int().min(1).max(20).default(3).describe('Tries of each target per interval.'),
    reliability: z.number().int().min(1).max(100).default(1).describe('Targets that must answer for a good interval.'),
    down: z.number().int().min(1).max(100).default(3).describe('Failed intervals before a link is down.'),
    up: z.number().int().min(1).max(100).default(3).describe('Good intervals before a link is up.'),
    targets: z.array(Check).default([]),
    action: ActionName.default('switch-wan'),
  })
  .strict();

export const MetricsConfig = z
  .object({
    listen: z
      .string()
      .describe('host:port (or [v6]:port) of /metrics, /healthz and /readyz, e.g. 127.0.0.1:9464; no authentication.'),
  })
  .strict();

export const AgentConfigSchema = z
  .object({
    version: z.literal(1),
    site: Id,
    controlPlane: ControlPlaneConfig,
    privateKeyFile: z.string().min(1),
    stateDir: z.string().min(1),
    links: z.array(AgentLink).min(1),
    actions: z.record(ActionName, ActionConfig).default({}),
    dryRun: z.boolean().default(false),
    presets: z.record(Id, Preset).default({}).describe('Your own presets, as in sites.yaml.'),
    checks: InsideOutChecks.optional(),
    autonomy: AutonomyConfig.optional(),
    metrics: MetricsConfig.optional().describe('Off unless set: the metrics and health endpoint.'),
  })
  .strict();

export type AgentLinkConfig = z.output<typeof AgentLink>;
export type ActionSettings = z.output<typeof ActionConfig>;
type Parsed = z.output<typeof AgentConfigSchema>;

/** A validated agent.yaml with defaults applied, paths made absolute and checks planned. */
export interface AgentConfig {
  readonly file: string | undefined;
  readonly site: string;
  readonly controlPlane: Omit<Parsed['controlPlane'], 'pollUrl'> & { readonly pollUrl: string };
  readonly privateKeyFile: string;
  readonly stateDir: string;
  readonly links: readonly AgentLinkConfig[];
  readonly actions: Readonly<Record<string, ActionSettings>>;
  readonly dryRun: boolean;
  readonly checks: Omit<z.output<typeof InsideOutChecks>, 'presets' | 'custom'> & {
    /** The inside-out checks ready to run (link null: each round runs them through one link). */
    readonly planned: readonly PlannedCheck[];
  };
  readonly autonomy: Omit<z.output<typeof AutonomyConfig>, 'targets'> & { readonly targets: readonly PlannedCheck[] };
  /** Where /metrics, /healthz and /readyz are served; undefined: not served (the default). */
  readonly metrics: { readonly host: string; readonly port: number } | undefined;
}

export interface AgentParseResult {
  readonly config: AgentConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/** Reads and validates an agent.yaml; throws ConfigError listing every problem with its line and column. */
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return loadYamlFile(file, (text: string) => parseAgentConfig(text, file));
}

/**
 * Validates an agent.yaml document: YAML syntax, the schema, then cross-references, all problems at once. Relative
 * paths are taken from the directory of `file` (the working directory without one).
 */
export function parseAgentConfig(text: string, file?: string): AgentParseResult {
  return parseYamlWith(text, {
    schema: AgentConfigSchema,
    empty: 'the file is empty; expected version, site, controlPlane, ...',
    rules: crossReferences,
    resolve: (data) => resolveConfig(data, file),
  });
}

/** `agent.yaml: 2 problem(s)` followed by one located line per problem. */
export function describeConfigError(error: ConfigError): string {
  return [error.message, ...error.diagnostics.map((d) => `  ${formatDiagnostic(d)}`)].join('\n');
}

/** The placeholders `{name}` in an action argument, in order. */
export function placeholdersIn(arg: string): string[] {
  return [...arg.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
}

/** Whether `host` of a URL is a loopback address or name, where plain ws:// and http:// are allowed. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Checks as a site's dependencies and own checks are planned from sites.yaml: a preset's checks become
 * `<preset>/<check>` with `dependency` set to the preset (the ids the decision engine matches across vantages).
 */
export function planInsideOutChecks(
  site: string,
  custom: readonly Check[],
  presets: readonly string[],
  userPresets: Readonly<Record<string, PresetDef>>,
  confirmRetryMs: number,
): PlannedCheck[] {
  const all: Record<string, PresetDef> = { ...BUILTIN_PRESETS, ...userPresets };
  const planned = (check: Check, dependency: string | null): PlannedCheck => ({
    site,
    id: dependency ? `${dependency}/${check.id}` : check.id,
    name: check.name,
    link: null,
    dependency,
    timeoutMs: check.timeoutMs,
    confirmRetryMs,
    probe: probeSpecOf(check),
  });
  return [
    ...custom.map((c) => planned(c, null)),
    ...presets.flatMap((name) => all[name]!.checks.map((c) => planned(c, name))),
  ];
}

function resolveConfig(doc: Parsed, file: string | undefined): AgentConfig {
  const base = file ? dirname(resolvePath(file)) : process.cwd();
  const checks = doc.checks ?? InsideOutChecks.parse({});
  const autonomy = doc.autonomy ?? AutonomyConfig.parse({});
  const { presets, custom, ...schedule } = checks;
  return {
    file,
    site: doc.site,
    controlPlane: { ...doc.controlPlane, pollUrl: pollUrlOf(doc.controlPlane.url, doc.controlPlane.pollUrl)! },
    privateKeyFile: resolvePath(base, doc.privateKeyFile),
    stateDir: resolvePath(base, doc.stateDir),
    links: doc.links,
    actions: doc.actions,
    dryRun: doc.dryRun,
    checks: {
      ...schedule,
      planned: planInsideOutChecks(doc.site, custom, presets, doc.presets, schedule.confirmRetryMs),
    },
    metrics: doc.metrics ? parseListen(doc.metrics.listen) : undefined,
    autonomy: {
      ...autonomy,
      targets: autonomy.targets.map((c) => ({
        site: doc.site,
        id: c.id,
        name: c.name,
        link: null,
        dependency: null,
        timeoutMs: c.timeoutMs,
        confirmRetryMs: 0,
        probe: probeSpecOf(c),
      })),
    },
  };
}

/** The polling base URL: given, or the WebSocket URL with http(s) and without its last `/ws`. */
function pollUrlOf(url: string, pollUrl: string | undefined): string | undefined {
  if (pollUrl !== undefined) return pollUrl.replace(/\/+$/, '');
  const u = new URL(url);
  if (!/\/ws\/?$/.test(u.pathname)) return undefined;
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/ws\/?$/, '');
  u.search = '';
  return u.toString().replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-references, read from the raw document so that they are reported alongside schema problems.

type Path = (string | number)[];
type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function crossReferences(data: unknown): Problem[] {
  const out: Problem[] = [];
  const add = (path: Path, message: string) => out.push({ path, message });
  const root = obj(data);
  const cp = obj(root.controlPlane);

  const url = str(cp.url);
  if (url !== undefined) {
    const u = parseUrl(url);
    if (!u || (u.protocol !== 'ws:' && u.protocol !== 'wss:'))
      add(['controlPlane', 'url'], 'expected a wss:// URL such as wss://agents.example.com/v1/agent/ws');
    else if (u.protocol === 'ws:' && !isLoopbackHost(u.hostname))
      add(['controlPlane', 'url'], 'ws:// (unencrypted) is allowed only on loopback; use wss://');
    else if (cp.pollUrl === undefined && !/\/ws\/?$/.test(u.pathname))
      add(['controlPlane', 'url'], 'the URL does not end in /ws: set controlPlane.pollUrl as well');
  }
  const pollUrl = str(cp.pollUrl);
  if (pollUrl !== undefined) {
    const u = parseUrl(pollUrl);
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
      add(['controlPlane', 'pollUrl'], 'expected an https:// URL such as https://agents.example.com/v1/agent');
    else if (u.protocol === 'http:' && !isLoopbackHost(u.hostname))
      add(['controlPlane', 'pollUrl'], 'http:// (unencrypted) is allowed only on loopback; use https://');
  }
  const key = str(cp.publicKey);
  if (key !== undefined && !(/^[A-Za-z0-9+/]{43}=?$/.test(key) && Buffer.from(key, 'base64').length === 32))
    add(['controlPlane', 'publicKey'], 'expected an Ed25519 public key: base64 of 32 bytes');
  const reconnect = obj(cp.reconnect);
  if (typeof reconnect.minSeconds === 'number' && typeof reconnect.maxSeconds === 'number')
    if (reconnect.minSeconds > reconnect.maxSeconds)
      add(['controlPlane', 'reconnect', 'minSeconds'], 'expected minSeconds at most maxSeconds');

  const links = arr(root.links).map(obj);
  duplicates(
    links.map((l) => str(l.id)),
    (i, v) => add(['links', i, 'id'], `duplicate link id "${v}"`),
  );

  const actions = obj(root.actions);
  for (const [name, action] of Object.entries(actions)) {
    arr(obj(action).args).forEach((arg, i) => {
      if (typeof arg !== 'string') return;
      for (const p of placeholdersIn(arg)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(p))
          add(['actions', name, 'args', i], `unknown placeholder {${p}} (known: ${PLACEHOLDERS.join(', ')})`);
        else if (p === 'gateway' || p === 'interface') {
          const missing = links.filter((l) => l[p] === undefined).map((l) => str(l.id) ?? '?');
          if (missing.length > 0)
            add(['actions', name, 'args', i], `{${p}} is used but link(s) ${missing.join(', ')} have no ${p}`);
        }
      }
    });
  }

  const userPresets = obj(root.presets);
  for (const [name, preset] of Object.entries(userPresets)) {
    if (name in BUILTIN_PRESETS) add(['presets', name], `"${name}" is a built-in preset; choose another name`);
    arr(obj(preset).checks).forEach((c, j) => {
      if (obj(c).link !== undefined)
        add(['presets', name, 'checks', j, 'link'], 'preset checks are not tied to a link');
    });
  }
  const presetNames = new Set([...Object.keys(BUILTIN_PRESETS), ...Object.keys(userPresets)]);

  const checks = obj(root.checks);
  const presets = arr(checks.presets);
  presets.forEach((p, i) => {
    if (typeof p === 'string' && !presetNames.has(p))
      add(['checks', 'presets', i], `unknown preset "${p}" (known: ${[...presetNames].sort().join(', ')})`);
  });
  duplicates(
    presets.map((p) => str(p)),
    (i, v) => add(['checks', 'presets', i], `duplicate preset "${v}"`),
  );
  const custom = arr(checks.custom);
  custom.forEach((c, i) => {
    if (obj(c).link !== undefined)
      add(['checks', 'custom', i, 'link'], 'inside-out checks run through every link: remove link');
  });
  duplicates(
    custom.map((c) => str(obj(c).id)),
    (i, v) => add(['checks', 'custom', i, 'id'], `duplicate check id "${v}"`),
  );

  const listen = str(obj(root.metrics).listen);
  if (listen !== undefined && !parseListen(listen))
    add(['metrics', 'listen'], 'expected host:port such as 127.0.0.1:9464 (or [::1]:9464), port 0-65535');

  const autonomy = obj(root.autonomy);
  const targets = arr(autonomy.targets);
  targets.forEach((c, i) => {
    if (obj(c).link !== undefined)
      add(['autonomy', 'targets', i, 'link'], 'autonomy targets run through every link: remove link');
  });
  duplicates(
    targets.map((c) => str(obj(c).id)),
    (i, v) => add(['autonomy', 'targets', i, 'id'], `duplicate check id "${v}"`),
  );
  if (autonomy.enabled === true) {
    if (targets.length === 0)
      add(['autonomy', 'targets'], 'autonomy needs at least one target to judge the links (e.g. tcp to 1.1.1.1:443)');
    if (links.length < 2) add(['autonomy'], 'autonomy needs at least two links');
    const action = str(autonomy.action) ?? 'switch-wan';
    if (!(action in actions))
      add(['autonomy', autonomy.action === undefined ? 'enabled' : 'action'], `action "${action}" is not configured`);
    const offline = autonomy.offlineAfterSeconds ?? 60;
    const poll = cp.pollIntervalSeconds ?? 15;
    if (cp.transport !== 'websocket' && typeof offline === 'number' && typeof poll === 'number' && offline <= poll)
      add(
        ['autonomy', 'offlineAfterSeconds'],
        `expected offlineAfterSeconds (${offline}) above controlPlane.pollIntervalSeconds (${poll}): between two polls the control plane is not away`,
      );
    const reliability = autonomy.reliability;
    if (typeof reliability === 'number' && targets.length > 0 && reliability > targets.length)
      add(['autonomy', 'reliability'], `reliability ${reliability} is more than the ${targets.length} target(s)`);
  }
  return out;
}

/** `host:port` or `[v6]:port`, as `metrics.listen` in agent.yaml takes it. */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

function duplicates(values: (string | undefined)[], report: (index: number, value: string) => void): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (seen.has(v)) report(i, v);
    seen.add(v);
  });
}
