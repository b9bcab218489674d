import type { FailoverConfig, PlannedCheck, ResolvedPolicy, SiteConfig } from './model.ts';

// The configuration as the Lambda functions carry it: resolved and validated at synthesis, written as compact JSON.
// Reading it needs neither the YAML parser nor the schema, which keeps both out of the functions' bundles and cold
// starts.

/** Names the shape of the JSON; a function refuses any other, e.g. a bundle built by hand from a raw sites.yaml. */
export const BUNDLED_CONFIG_FORMAT = 'failover-config/resolved-2';

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

interface BundledDocument {
  readonly format: typeof BUNDLED_CONFIG_FORMAT;
  readonly config: Omit<FailoverConfig, 'sites'>;
  readonly policies: readonly ResolvedPolicy[];
  readonly contactLists: readonly SiteConfig['contacts'][];
  readonly sites: readonly CompactSite[];
}

/** `config` as the JSON text a function reads back with {@link readBundledConfig}. */
export function bundledConfigJson(config: FailoverConfig): string {
  const policies = new Pool<ResolvedPolicy>();
  const contactLists = new Pool<SiteConfig['contacts']>();
  const { sites, ...rest } = config;
  const document: BundledDocument = {
    format: BUNDLED_CONFIG_FORMAT,
    config: rest,
    sites: sites.map((site) => compactSite(site, policies, contactLists)),
    policies: policies.values,
    contactLists: contactLists.values,
  };
  return JSON.stringify(document, (key, value: unknown) => {
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

/** The configuration a function was bundled with, or why the text is not one. */
export function readBundledConfig(json: string): { config: FailoverConfig } | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  const document = (data ?? {}) as Partial<BundledDocument> & { config?: { version?: unknown } };
  if (document.format !== BUNDLED_CONFIG_FORMAT)
    return {
      problem: `format ${JSON.stringify(document.format)}, expected "${BUNDLED_CONFIG_FORMAT}" (build it at synth)`,
    };
  if (document.config?.version !== 1)
    return { problem: `version ${JSON.stringify(document.config?.version)}, expected 1` };
  const { policies, contactLists, sites } = document;
  if (!Array.isArray(policies) || !Array.isArray(contactLists) || !Array.isArray(sites))
    return { problem: 'policies, contactLists and sites must be lists' };
  const expanded: SiteConfig[] = [];
  for (const [i, site] of sites.entries()) {
    const policy = policies[site.policy];
    const contacts = contactLists[site.contacts];
    if (policy === undefined || contacts === undefined)
      return {
        problem: `sites[${i}] names policy ${site.policy} or contact list ${site.contacts}, which is not there`,
      };
    expanded.push(expandSite(site, policy, contacts));
  }
  return { config: { ...(document.config as Omit<FailoverConfig, 'sites'>), sites: expanded } };
}

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
