import { createHash } from 'node:crypto';
import type { FailoverConfig, PlannedCheck, ResolvedPolicy, SiteConfig } from './model.ts';

// The configuration as the Lambda functions carry it: resolved and validated at synthesis, written as compact JSON.
// Reading it needs neither the YAML parser nor the schema, which keeps both out of the functions' bundles and cold
// starts. The file is one JSON document laid out so that a function can read a site without parsing the others: an
// index on the first line (everything but the sites, the site ids, each site's length in bytes and a SHA-256 of the
// sites), then one site a line. A function that reads one site per invocation parses only the index at cold start
// and each site when first read (`read: 'lazy'`); one that reads every site every time (the probe) parses the
// document in one go (`read: 'eager'`): one parse at cold start rather than 5,000 small ones in its first invocation.

/** Names the shape of the text; a function refuses any other, e.g. a bundle built by hand from a raw sites.yaml. */
export const BUNDLED_CONFIG_FORMAT = 'failover-config/resolved-3';

/**
 * What of the configuration a function's bundle carries. `all`: everything. `probe`: what the probe function reads,
 * every site's checks, policy, links and health-check-gated records (its data-plane links), without the record-swap
 * records, the agent keys and the maintenance windows, which only the control functions read.
 */
export type ConfigSlice = 'all' | 'probe';

export const CONFIG_SLICES: readonly ConfigSlice[] = ['all', 'probe'];

/** What a slice keeps of a site: the same site with the fields its functions never read left empty. */
export function sliceSite(site: SiteConfig, slice: ConfigSlice): SiteConfig {
  if (slice === 'all') return site;
  return {
    ...site,
    dns: site.dns.filter((r) => r.strategy === 'health-check-gated'),
    agent: undefined,
    maintenance: [],
  };
}

/**
 * A site as written: what `resolve` derives is left out (`primary` and `backups` from the links, each check's
 * `site` and `confirmRetryMs` from the site, a name equal to the id, empty lists), and the policy and contact list,
 * the same for most sites, are indexes into the shared pools.
 */
interface CompactSite {
  readonly id: string;
  readonly name?: string;
  readonly links: SiteConfig['links'];
  readonly checks: readonly CompactCheck[];
  readonly dns?: SiteConfig['dns'];
  readonly dependencies?: SiteConfig['dependencies'];
  readonly agent?: SiteConfig['agent'];
  readonly maintenance?: SiteConfig['maintenance'];
  /** Index into `policies`. */
  readonly policy: number;
  /** Index into `contactLists`. */
  readonly contacts: number;
}

interface CompactCheck {
  readonly id: string;
  readonly name?: string;
  readonly link?: string;
  readonly dependency?: string;
  readonly timeoutMs: number;
  readonly probe: PlannedCheck['probe'];
}

/** The first line of the document: everything a function needs before it reads a site. */
interface BundledIndex {
  readonly slice: ConfigSlice;
  readonly config: Omit<FailoverConfig, 'sites'>;
  readonly policies: readonly ResolvedPolicy[];
  readonly contactLists: readonly SiteConfig['contacts'][];
  /** The sites' ids, in order. */
  readonly ids: readonly string[];
  /** The length in bytes (UTF-8) of each site's JSON on its line. */
  readonly lengths: readonly number[];
  /** SHA-256 (hex) of the bytes from the first site's line to the end of the document. */
  readonly sha256: string;
}

interface BundledDocument {
  readonly format: typeof BUNDLED_CONFIG_FORMAT;
  readonly index: BundledIndex;
  readonly sites: readonly CompactSite[];
}

// The document's frame: `{"format":...,"index":{...},` NL `"sites":[` NL, a site a line (`,` between), `]}` NL.
const SITES_OPEN = '"sites":[\n';
const SITES_CLOSE = ']}\n';

/** `config` (the `slice` of it) as the text a function reads back with {@link readBundledConfig}. */
export function bundledConfigJson(config: FailoverConfig, slice: ConfigSlice = 'all'): string {
  if (!CONFIG_SLICES.includes(slice)) throw new Error(`no configuration slice "${String(slice)}"`);
  const policies = new Pool<ResolvedPolicy>();
  const contactLists = new Pool<SiteConfig['contacts']>();
  const { sites, ...rest } = config;
  const lines = sites.map((site) => plainJson(compactSite(sliceSite(site, slice), policies, contactLists)));
  const body = `${lines.join(',\n')}${lines.length > 0 ? '\n' : ''}${SITES_CLOSE}`;
  const index: BundledIndex = {
    slice,
    config: rest,
    policies: policies.values,
    contactLists: contactLists.values,
    ids: sites.map((s) => s.id),
    lengths: lines.map((line) => Buffer.byteLength(line)),
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  const head = plainJson({ format: BUNDLED_CONFIG_FORMAT, index } satisfies Omit<BundledDocument, 'sites'>);
  // The index line is the document's opening object without its closing brace, so that the whole stays one JSON.
  return `${head.slice(0, -1)},\n${SITES_OPEN}${body}`;
}

function plainJson(value: unknown): string {
  return JSON.stringify(value, (key, value: unknown) => {
    // JSON would turn these into something else (null, {}, or nothing); refuse rather than change the meaning.
    const plain =
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      Array.isArray(value) ||
      (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype);
    if (!plain && !(value === undefined && !/^\d+$/.test(key)))
      throw new Error(`the configuration cannot be written as JSON: ${key || 'the root'} is ${String(value)}`);
    return value;
  });
}

/** How a function reads the sites: each when first read (one site per invocation), or all at once (every site). */
export interface ReadOptions {
  /** The slice the function reads: the document must carry it, or everything (then it is cut here). @default 'all' */
  readonly slice?: ConfigSlice;
  /** @default 'lazy' */
  readonly read?: 'lazy' | 'eager';
}

/**
 * The configuration a function was bundled with, or why the text is not one. The frame, the index and the SHA-256
 * of the sites are checked here, so that a site read later is the one synthesis wrote; with `read: 'lazy'` each site
 * is parsed when first used for anything but its `id` (see {@link lazySite}).
 */
export function readBundledConfig(
  text: string | Uint8Array,
  options: ReadOptions = {},
): { config: FailoverConfig } | { problem: string } {
  const bytes =
    typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.length);
  const wanted = options.slice ?? 'all';
  const firstLine = bytes.indexOf(10);
  let index: BundledIndex;
  try {
    // The index line is the document's opening object up to its last member: closed here, it parses alone. Any
    // other text of one line (the format before this one, a configuration written whole) parses as it is.
    const line = bytes.toString('utf8', 0, firstLine < 0 ? bytes.length : firstLine);
    const head = JSON.parse(line.endsWith(',') ? `${line.slice(0, -1)}}` : line) as {
      format?: unknown;
      index?: BundledIndex;
    };
    if (head?.format !== BUNDLED_CONFIG_FORMAT)
      return {
        problem: `format ${JSON.stringify(head?.format)}, expected "${BUNDLED_CONFIG_FORMAT}" (build it at synth)`,
      };
    index = head.index!;
  } catch (error) {
    return { problem: `not a bundled configuration: its first line is not JSON (${(error as Error).message})` };
  }
  const problem = indexProblem(index, wanted);
  if (problem) return { problem };
  const bodyStart = firstLine + 1 + SITES_OPEN.length;
  if (bytes.toString('utf8', firstLine + 1, bodyStart) !== SITES_OPEN)
    return { problem: `the second line is not ${JSON.stringify(SITES_OPEN.trim())}` };
  const body = bytes.subarray(bodyStart);
  if (createHash('sha256').update(body).digest('hex') !== index.sha256)
    return { problem: 'the sites are not those synthesis wrote (their SHA-256 differs from the index)' };
  // Each site `{...}` where the lengths put it, then `,` NL between sites and NL after the last (compared as bytes:
  // this loop runs for every site at cold start).
  const { lengths } = index;
  const last = lengths.length - 1;
  const starts = new Array<number>(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = at + lengths[i]!;
    const framed =
      body[at] === 0x7b &&
      body[end - 1] === 0x7d &&
      (i < last ? body[end] === 0x2c && body[end + 1] === 0x0a : body[end] === 0x0a);
    if (!framed) return { problem: `site ${index.ids[i]} (sites[${i}]) is not where the index puts it` };
    starts[i] = at;
    at = end + (i < last ? 2 : 1);
  }
  if (body.length !== at + SITES_CLOSE.length || body.toString('utf8', at) !== SITES_CLOSE)
    return {
      problem: `the document does not end after its ${index.ids.length} sites with ${JSON.stringify(SITES_CLOSE)}`,
    };
  const source: SiteSource = { body, starts, index, slice: wanted };
  if (options.read === 'eager') {
    const sites = eagerSites(source, at);
    return typeof sites === 'string' ? { problem: sites } : { config: { ...index.config, sites } };
  }
  return { config: { ...index.config, sites: index.ids.map((_, i) => lazySite(source, i)) } };
}

/** What the sites of a document are read from. */
interface SiteSource {
  /** The document from the first site's line on. */
  readonly body: Buffer;
  /** Where each site's JSON starts in `body`. */
  readonly starts: readonly number[];
  readonly index: BundledIndex;
  /** The slice the function reads (cut here when the document carries everything). */
  readonly slice: ConfigSlice;
}

function indexProblem(index: BundledIndex | undefined, wanted: ConfigSlice): string | undefined {
  if (typeof index !== 'object' || index === null) return 'no index on the first line';
  if (index.config?.version !== 1) return `version ${JSON.stringify(index.config?.version)}, expected 1`;
  const { policies, contactLists, ids, lengths } = index;
  if (![policies, contactLists, ids, lengths].every(Array.isArray))
    return "the index's policies, contactLists, ids and lengths must be lists";
  if (ids.length !== lengths.length) return `the index names ${ids.length} sites but gives ${lengths.length} lengths`;
  if (!lengths.every((n) => Number.isInteger(n) && n > 1)) return "the index's lengths must be whole numbers above 1";
  if (typeof index.sha256 !== 'string') return 'the index has no sha256';
  if (!CONFIG_SLICES.includes(index.slice))
    return `slice ${JSON.stringify(index.slice)} is none of ${CONFIG_SLICES.join(', ')}`;
  if (index.slice !== 'all' && index.slice !== wanted)
    return `the bundle carries the "${index.slice}" slice of the configuration; this function reads "${wanted}"`;
  return undefined;
}

/** Every site, parsed in one go (the sites' lines are a JSON list once bracketed). */
function eagerSites(source: SiteSource, end: number): SiteConfig[] | string {
  let compact: CompactSite[];
  try {
    compact = JSON.parse(`[${source.body.toString('utf8', 0, end)}]`) as CompactSite[];
  } catch (error) {
    return `the sites are not JSON: ${(error as Error).message}`;
  }
  if (compact.length !== source.index.ids.length)
    return `the document has ${compact.length} sites; its index names ${source.index.ids.length}`;
  const sites = new Array<SiteConfig>(compact.length);
  for (let i = 0; i < compact.length; i++) {
    const read = expandedSite(compact[i]!, source, i);
    if (typeof read === 'string') return read;
    sites[i] = read;
  }
  return sites;
}

/** Site `i` of the document, expanded and cut to the function's slice; a string says why it cannot be. */
function expandedSite(site: CompactSite, source: SiteSource, i: number): SiteConfig | string {
  const { index, slice } = source;
  if (site?.id !== index.ids[i]) return `sites[${i}] is ${JSON.stringify(site?.id)}, the index says ${index.ids[i]}`;
  const policy = index.policies[site.policy];
  const contacts = index.contactLists[site.contacts];
  if (policy === undefined || contacts === undefined)
    return `sites[${i}] names policy ${site.policy} or contact list ${site.contacts}, which is not there`;
  const expanded = expandSite(site, policy, contacts);
  return index.slice === slice ? expanded : sliceSite(expanded, slice);
}

/**
 * Site `i`, read when first used: a proxy whose `id` is the index's and whose every other use (a field, `in`,
 * `Object.keys`, a spread, `JSON.stringify`) parses the site's line once. A line that does not read back throws,
 * naming the site; the SHA-256 checked at cold start makes that a bug, not bad input. The sites are read-only.
 */
function lazySite(source: SiteSource, i: number): SiteConfig {
  const target: LazyTarget = { id: source.index.ids[i]!, source, i, site: undefined };
  return new Proxy(target, LAZY_SITE) as unknown as SiteConfig;
}

interface LazyTarget {
  readonly id: string;
  readonly source: SiteSource;
  readonly i: number;
  site: SiteConfig | undefined;
}

function siteOf(target: LazyTarget): SiteConfig {
  if (target.site) return target.site;
  const { body, starts, index } = target.source;
  const start = starts[target.i]!;
  let compact: CompactSite;
  try {
    compact = JSON.parse(body.toString('utf8', start, start + index.lengths[target.i]!)) as CompactSite;
  } catch (error) {
    throw new Error(`bundled configuration: site ${target.id} is not JSON: ${(error as Error).message}`);
  }
  const site = expandedSite(compact, target.source, target.i);
  if (typeof site === 'string') throw new Error(`bundled configuration: ${site}`);
  return (target.site = site);
}

const readOnly = (): never => {
  throw new TypeError('the bundled configuration is read-only');
};

const LAZY_SITE: ProxyHandler<LazyTarget> = {
  get: (target, key) => (key === 'id' ? target.id : Reflect.get(siteOf(target), key)),
  has: (target, key) => key in siteOf(target),
  ownKeys: (target) => Reflect.ownKeys(siteOf(target)),
  getOwnPropertyDescriptor: (target, key) => Reflect.getOwnPropertyDescriptor(siteOf(target), key),
  set: readOnly,
  defineProperty: readOnly,
  deleteProperty: readOnly,
  setPrototypeOf: readOnly,
};

function compactSite(
  site: SiteConfig,
  policies: Pool<ResolvedPolicy>,
  contactLists: Pool<SiteConfig['contacts']>,
): CompactSite {
  const derived = expandSite(
    { id: site.id, links: site.links, checks: [], policy: 0, contacts: 0 },
    site.policy,
    site.contacts,
  );
  // What expandSite derives must be what resolve made, or the site is written whole where they differ.
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(derived.primary, site.primary) || !same(derived.backups, site.backups))
    throw new Error(`site ${site.id}: primary and backups are not those of its links`);
  return {
    id: site.id,
    ...(site.name !== site.id ? { name: site.name } : {}),
    links: site.links,
    checks: site.checks.map((check) => {
      if (check.site !== site.id || check.confirmRetryMs !== site.policy.confirmRetryMs)
        throw new Error(`site ${site.id}: check ${check.id} is not of this site or has another confirmRetryMs`);
      return {
        id: check.id,
        ...(check.name !== undefined ? { name: check.name } : {}),
        ...(check.link !== null ? { link: check.link } : {}),
        ...(check.dependency !== null ? { dependency: check.dependency } : {}),
        timeoutMs: check.timeoutMs,
        probe: check.probe,
      };
    }),
    ...(site.dns.length > 0 ? { dns: site.dns } : {}),
    ...(site.dependencies.length > 0 ? { dependencies: site.dependencies } : {}),
    ...(site.agent !== undefined ? { agent: site.agent } : {}),
    ...(site.maintenance.length > 0 ? { maintenance: site.maintenance } : {}),
    policy: policies.indexOf(site.policy),
    contacts: contactLists.indexOf(site.contacts),
  };
}

function expandSite(site: CompactSite, policy: ResolvedPolicy, contacts: SiteConfig['contacts']): SiteConfig {
  return {
    id: site.id,
    name: site.name ?? site.id,
    links: site.links,
    primary: site.links.find((l) => l.role === 'primary')!,
    backups: site.links.filter((l) => l.role === 'backup'),
    checks: site.checks.map((c) => ({
      site: site.id,
      id: c.id,
      name: c.name,
      link: c.link ?? null,
      dependency: c.dependency ?? null,
      timeoutMs: c.timeoutMs,
      confirmRetryMs: policy.confirmRetryMs,
      probe: c.probe,
    })),
    dns: site.dns ?? [],
    dependencies: site.dependencies ?? [],
    agent: site.agent,
    maintenance: site.maintenance ?? [],
    policy,
    contacts,
  };
}

/** Values written once and named by their index; equal values (as JSON) share one entry. */
class Pool<T> {
  readonly values: T[] = [];
  readonly #index = new Map<string, number>();

  indexOf(value: T): number {
    const key = JSON.stringify(value);
    let index = this.#index.get(key);
    if (index === undefined) this.#index.set(key, (index = this.values.push(value) - 1));
    return index;
  }
}
