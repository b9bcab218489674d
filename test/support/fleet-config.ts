/** How a generated fleet looks; every field has the value `npm run bench:fleet` uses. */
export interface FleetOptions {
  /** @default 5000 */
  readonly sites?: number;
  /** Hosted zones the sites' records are spread over. @default 4 */
  readonly zones?: number;
  /** @default ['us-east-1', 'us-west-2', 'eu-west-1'] */
  readonly probeRegions?: readonly string[];
  /** @default 'us-east-2' */
  readonly controlRegion?: string;
  /** `probing.maxChecksPerTicket`, when set. */
  readonly maxChecksPerTicket?: number;
}

/**
 * A valid sites.yaml of a fleet of stores: each site has two links (fiber primary, LTE backup), an HTTPS check
 * through the fiber and a TCP check through the LTE link, and one record-swap A record in one of a few hosted
 * zones; three probe regions and three control checks. Addresses and names are unique per site.
 */
export function fleetConfigYaml(options: FleetOptions = {}): string {
  const count = options.sites ?? 5000;
  const zones = options.zones ?? 4;
  const probe = options.probeRegions ?? ['us-east-1', 'us-west-2', 'eu-west-1'];
  const lines = [
    'version: 1',
    `regions: { probe: [${probe.join(', ')}], control: ${options.controlRegion ?? 'us-east-2'} }`,
    `probing: { concurrency: 64, jitterMs: 2000${
      options.maxChecksPerTicket === undefined ? '' : `, maxChecksPerTicket: ${options.maxChecksPerTicket}`
    } }`,
    'controlChecks:',
    "  - { id: aws-checkip, http: { url: 'https://checkip.amazonaws.com/' } }",
    '  - { id: cloudflare-dns, dns: { server: 1.1.1.1, name: example.com, type: A } }',
    '  - { id: google-dns, dns: { server: 8.8.8.8, name: example.com, type: A } }',
    'defaults: { policy: { intervalSeconds: 60, failureThreshold: 2 } }',
    'contacts:',
    "  - { name: noc, email: noc@example.com, sms: '+15555550100' }",
    '  - { name: on-call, email: on-call@example.com, severities: [critical] }',
    'sites:',
  ];
  for (let i = 0; i < count; i++) {
    const id = `store-${String(i + 1).padStart(5, '0')}`;
    const zone = i % zones;
    // 10.x.y.z and 100.64-127.y.z: unique per site for up to 65,536 sites.
    const fiber = `10.${(i >> 8) & 255}.${i & 255}.1`;
    const lte = `100.${64 + ((i >> 10) & 63)}.${(i >> 2) & 255}.${1 + (i & 3)}`;
    lines.push(
      `  - id: ${id}`,
      '    links:',
      `      - { id: fiber, role: primary, address: ${fiber} }`,
      `      - { id: lte, role: backup, address: ${lte} }`,
      '    checks:',
      `      - { id: web-fiber, link: fiber, http: { url: 'https://${id}.zone${zone}.example.com/health', connectTo: ${fiber} } }`,
      `      - { id: vpn-lte, link: lte, tcp: { host: ${lte}, port: 443 } }`,
      '    dns:',
      `      - { zone: zone${zone}.example.com, hostedZoneId: Z0000FLEET${zone}, name: ${id}.zone${zone}.example.com, type: A, values: { fiber: [${fiber}], lte: [${lte}] } }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
