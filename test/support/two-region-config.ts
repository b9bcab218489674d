/** A valid sites.yaml for infra tests: one site with two links and a check on each, probed from two regions. */
export const TWO_REGION_CONFIG = `version: 1
regions: { probe: [eu-central-1, eu-west-1], control: eu-west-1 }
sites:
  - id: shop
    links:
      - { id: dsl, role: primary, address: 192.0.2.1 }
      - { id: lte, role: backup, address: 192.0.2.2 }
    checks:
      - { id: web, link: dsl, tcp: { host: 192.0.2.1, port: 443 } }
      - { id: web-lte, link: lte, tcp: { host: 192.0.2.2, port: 443 } }
`;
