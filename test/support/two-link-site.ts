/**
 * The test site most suites use: link `fiber` (primary) and link `lte` (backup), a check per link (`web-fiber`,
 * `web-lte`), and DNS records that point at one link or the other. As YAML, to go through parseConfig like a user's.
 */
export interface TwoLinkSite {
  readonly id: string;
  readonly name?: string;
  /** The primary link's id. @default 'fiber' */
  readonly primary?: string;
  /** The primary link's address. @default '203.0.113.10' */
  readonly fiber?: string;
  /** @default '198.51.100.20' */
  readonly lte?: string;
  /** How each link is checked: a TCP connect to port 443, or an HTTPS GET. @default 'tcp' */
  readonly probe?: 'tcp' | 'http';
  /** The site's checks as YAML flow mappings, instead of one `probe` check per link. */
  readonly checks?: readonly string[];
  /** Dependency presets of the site (`microsoft-365`). @default none */
  readonly dependencies?: readonly string[];
  /** Records that follow the site, in zone example.com. @default none */
  readonly dns?: readonly {
    readonly name: string;
    /** @default TEST_ZONE_ID */
    readonly hostedZoneId?: string;
    readonly strategy?: 'record-swap' | 'health-check-gated';
    readonly ttl?: number;
  }[];
  /** The site's own policy, as YAML flow mapping content: `holdDownSeconds: 0`. */
  readonly policy?: string;
  /** The agent's public key (raw, base64). */
  readonly agentKey?: string;
}

export const TEST_ZONE_ID = 'Z0123456789ABC';

/** One site as an item of a `sites:` list. */
export function twoLinkSiteYaml(site: TwoLinkSite): string {
  const primary = site.primary ?? 'fiber';
  const fiber = site.fiber ?? '203.0.113.10';
  const lte = site.lte ?? '198.51.100.20';
  const check = (link: string, address: string) =>
    site.probe === 'http'
      ? `{ id: web-${link}, link: ${link}, http: { url: 'https://${address}/' } }`
      : `{ id: web-${link}, link: ${link}, tcp: { host: ${address}, port: 443 } }`;
  const lines = [
    `  - id: ${site.id}`,
    ...(site.name ? [`    name: ${site.name}`] : []),
    ...(site.policy ? [`    policy: { ${site.policy} }`] : []),
    '    links:',
    `      - { id: ${primary}, role: primary, address: ${fiber} }`,
    `      - { id: lte, role: backup, address: ${lte} }`,
    '    checks:',
    ...(site.checks ?? [check(primary, fiber), check('lte', lte)]).map((c) => `      - ${c}`),
    ...(site.dependencies ? [`    dependencies: [${site.dependencies.join(', ')}]`] : []),
  ];
  if (site.dns && site.dns.length > 0) {
    lines.push('    dns:');
    for (const r of site.dns) {
      const extra = [r.strategy ? `strategy: ${r.strategy}` : '', r.ttl !== undefined ? `ttl: ${r.ttl}` : '']
        .filter(Boolean)
        .map((s) => `, ${s}`)
        .join('');
      lines.push(
        `      - { zone: example.com, hostedZoneId: ${r.hostedZoneId ?? TEST_ZONE_ID}, name: ${r.name}, type: A${extra}, ` +
          `values: { ${primary}: [${fiber}], lte: [${lte}] } }`,
      );
    }
  }
  if (site.agentKey) lines.push(`    agent: { publicKey: ${site.agentKey} }`);
  return lines.join('\n');
}

/** A whole sites.yaml of `sites`: three probe regions unless told, a policy of `defaults` and any `extra` top-level YAML. */
export function twoLinkConfigYaml(options: {
  readonly sites: readonly TwoLinkSite[];
  readonly regions?: readonly string[];
  /** @default 'us-east-1' */
  readonly control?: string;
  /** The defaults' policy, as YAML flow mapping content. */
  readonly policy?: string;
  readonly extra?: string;
}): string {
  const regions = options.regions ?? ['us-east-1', 'us-west-2', 'eu-west-1'];
  return [
    'version: 1',
    `regions: { probe: [${regions.join(', ')}], control: ${options.control ?? 'us-east-1'} }`,
    ...(options.policy ? [`defaults: { policy: { ${options.policy} } }`] : []),
    ...(options.extra ? [options.extra] : []),
    'sites:',
    ...options.sites.map(twoLinkSiteYaml),
    '',
  ].join('\n');
}
