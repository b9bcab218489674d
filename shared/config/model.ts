import type { z } from 'zod';
import type { ProbeSpec } from './checks.ts';
import type { Contact, DemoTarget, DnsRecord, InboundSource, Link, Policy, SecretRef, SitesConfig } from './schema.ts';

/** Built-in policy defaults; `defaults.policy` in sites.yaml and then each site's `policy` override them. */
export const DEFAULT_POLICY = {
  intervalSeconds: 60,
  failureThreshold: 1,
  recoveryThreshold: 3,
  quorum: 'majority',
  holdDownSeconds: 300,
  failback: 'auto',
  failoverOn: ['down'],
  staleAfterIntervals: 2.5,
  confirmRetryMs: 2000,
  remindEveryMinutes: 30,
  damping: {
    enabled: true,
    penalty: 1000,
    halfLifeSeconds: 900,
    suppressLimit: 2000,
    reuseLimit: 750,
    maxPenalty: 6000,
  },
} as const satisfies Required<z.input<typeof Policy>>;

type PolicyInput = z.output<typeof Policy>;

/** The mass-failover brake as configured (`brake:` in sites.yaml, every field resolved); docs/config.md. */
export interface BrakeConfig {
  readonly enabled: boolean;
  /** Share of the configured sites that may fail over automatically within one window. */
  readonly maxShare: number;
  /** The brake never holds while fewer than this many sites failed over in the window. */
  readonly minSites: number;
  readonly windowSeconds: number;
}

/** The built-in brake settings; `brake:` in sites.yaml overrides them field by field. */
export const DEFAULT_BRAKE = {
  enabled: true,
  maxShare: 0.2,
  minSites: 5,
  windowSeconds: 900,
} as const satisfies BrakeConfig;

/** A site's policy with every default applied and the quorum turned into a count of vantages. */
export interface ResolvedPolicy extends Omit<Required<PolicyInput>, 'damping' | 'quorum'> {
  readonly quorum: number;
  /** The quorum as written (`majority`, a count or a fraction), for explanations. */
  readonly quorumSpec: PolicyInput['quorum'] & {};
  readonly damping: Required<NonNullable<PolicyInput['damping']>>;
}

/** A check ready to run: where it belongs, what it tests, and the probe with its settings. */
export interface PlannedCheck {
  /** Site id; `null` for control checks, which judge the probe region itself. */
  readonly site: string | null;
  /** Unique within the site; dependency checks are `<preset>/<check>`. */
  readonly id: string;
  readonly name: string | undefined;
  readonly link: string | null;
  readonly dependency: string | null;
  readonly timeoutMs: number;
  /** Delay before the confirming retry of a failed attempt (the site policy's confirmRetryMs). */
  readonly confirmRetryMs: number;
  readonly probe: ProbeSpec;
}

export type LinkConfig = z.output<typeof Link>;
export type DnsRecordConfig = z.output<typeof DnsRecord>;
export type ContactConfig = z.output<typeof Contact>;

export interface MaintenanceConfig {
  readonly id: string;
  /** Epoch milliseconds, resolved from the window's time zone. */
  readonly startMs: number;
  readonly endMs: number;
  readonly start: string;
  readonly end: string;
  readonly timezone: string;
  readonly reason: string;
  readonly ticket: string | undefined;
}

export interface SiteConfig {
  readonly id: string;
  readonly name: string;
  readonly links: readonly LinkConfig[];
  readonly primary: LinkConfig;
  /** Backup links in order of preference. */
  readonly backups: readonly LinkConfig[];
  /** The site's own checks followed by its expanded dependency checks. */
  readonly checks: readonly PlannedCheck[];
  readonly dns: readonly DnsRecordConfig[];
  readonly dependencies: readonly string[];
  readonly agent: { readonly publicKey: string } | undefined;
  readonly maintenance: readonly MaintenanceConfig[];
  readonly policy: ResolvedPolicy;
  readonly contacts: readonly ContactConfig[];
}

/** A validated sites.yaml with every default and reference resolved: what the rest of the system reads. */
export interface FailoverConfig {
  readonly version: 1;
  readonly regions: {
    readonly probe: readonly string[];
    /** The (primary) control region. */
    readonly control: string;
    /** The second control region, which decides and dispatches too (docs/architecture.md, "Control regions"). */
    readonly standby?: string;
    /** With a standby: the third region of the strongly consistent state table, which holds no function. */
    readonly witness?: string;
  };
  readonly probing: z.output<typeof SitesConfig>['probing'] & { readonly roundBudgetMs: number };
  readonly controlChecks: readonly PlannedCheck[];
  readonly contacts: readonly ContactConfig[];
  readonly sites: readonly SiteConfig[];
  readonly integrations: IntegrationsConfig;
  /** Public status pages: what anyone may read without an API key. */
  readonly statusPages: readonly StatusPageConfigResolved[];
  /** The mass-failover brake (shared/domain/brake.ts). */
  readonly brake: BrakeConfig;
  readonly local: { readonly demoTargets: readonly z.output<typeof DemoTarget>[] };
}

export type SecretRefConfig = z.output<typeof SecretRef>;
export type InboundSourceConfig = z.output<typeof InboundSource>;

/** A public status page of sites.yaml, each site with its public name and group resolved. */
export interface StatusPageConfigResolved {
  readonly id: string;
  readonly title: string;
  readonly incidents: boolean;
  readonly sites: readonly { readonly site: string; readonly name: string; readonly group: string | null }[];
}

/** Tools the system talks with beyond alerts (docs/webhooks.md). */
export interface IntegrationsConfig {
  /** Sources allowed to call POST /v1/hooks/{source}. */
  readonly inbound: readonly InboundSourceConfig[];
}

/** The quorum count for `regions` probe regions: never less than 2 where 2 or more regions vote. */
export function resolveQuorum(spec: PolicyInput['quorum'] & {}, regions: number): number {
  const wanted =
    spec === 'majority' ? Math.floor(regions / 2) + 1 : spec >= 1 ? spec : Math.ceil(spec * regions - 1e-9);
  return Math.max(wanted, Math.min(2, regions));
}
