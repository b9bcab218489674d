import * as z from 'zod';
import { FAILBACK_MODES, LINK_ROLES } from '../contracts/vocabulary.ts';
import { Check, Host, Id } from './checks.ts';
import { INBOUND_ACTIONS, InboundAction } from './names.ts';

/** An AWS region name such as eu-west-1 (also the label of a probe worker in the local runtime). */
export const Region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region such as eu-west-1');

function controlRegionsMessage(issue: { input?: unknown }): string {
  const { input } = issue;
  if (input === undefined) return 'required';
  if (!Array.isArray(input)) return 'expected an AWS region such as eu-west-1, or a list of two';
  if (input.length === 0 || input.length > 2) return `expected one or two control regions, got ${input.length}`;
  return 'expected AWS regions such as eu-west-1';
}

export const SEVERITIES = ['critical', 'warning'] as const;
export const Severity = z.enum(SEVERITIES);

const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

export const Damping = z
  .object({
    enabled: z.boolean(),
    penalty: z.number().positive().describe('Added to the site penalty at each failover.'),
    halfLifeSeconds: seconds(1, 86_400),
    suppressLimit: z.number().positive().describe('Above this, automatic failback waits.'),
    reuseLimit: z.number().positive().describe('Automatic failback resumes once the penalty decays below this.'),
    maxPenalty: z.number().positive(),
  })
  .strict()
  .partial();

/**
 * How a site's checks become decisions. Every field is optional here: a site's `policy` overrides `defaults.policy`,
 * which overrides the built-in defaults (DEFAULT_POLICY).
 */
export const Policy = z
  .object({
    intervalSeconds: seconds(10, 3600)
      .refine((v) => (v < 60 ? 60 % v === 0 : v % 60 === 0), {
        message: 'expected an interval that divides 60 (10, 15, 20, 30) or a multiple of 60',
      })
      .describe('Seconds between rounds: 10, 15, 20, 30, or a multiple of 60.'),
    failureThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe('Consecutive failed rounds before a vantage votes down.'),
    recoveryThreshold: z.number().int().min(1).max(100).describe('Consecutive good rounds before a vantage votes up.'),
    quorum: z
      .union([z.literal('majority'), z.number().int().min(1), z.number().gt(0).lt(1)], {
        error: 'expected "majority", a count of regions (2, 3, ...) or a fraction between 0 and 1',
      })
      .describe('Vantages that must agree: "majority", a count, or a fraction of the probe regions.'),
    holdDownSeconds: seconds(0, 86_400).describe('The primary must stay up this long before automatic failback.'),
    failback: z.enum(FAILBACK_MODES),
    failoverOn: z.array(z.enum(['down', 'degraded'])).min(1),
    staleAfterIntervals: z.number().min(1).max(10).describe('A vantage silent this many intervals abstains.'),
    confirmRetryMs: z
      .number()
      .int()
      .min(0)
      .max(30_000)
      .describe('A failed check is retried once after this delay in the same round before it counts.'),
    remindEveryMinutes: z.number().int().min(0).max(10_080).describe('Alert reminders while unresolved; 0 = never.'),
    damping: Damping,
  })
  .strict()
  .partial();
export type PolicyInput = z.input<typeof Policy>;

/** The mass-failover brake: every field optional, over DEFAULT_BRAKE (shared/config/model.ts). */
export const Brake = z
  .object({
    enabled: z.boolean().describe('Hold automatic failovers when too many sites fail over at once; default true.'),
    maxShare: z
      .number()
      .gt(0)
      .max(0.5, 'expected a share of at most 0.5: a brake that lets half the fleet fail over first brakes nothing')
      .describe('Share of the sites that may fail over automatically within one window; default 0.2.'),
    minSites: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .describe('The brake never holds before this many sites failed over in the window; default 5.'),
    windowSeconds: seconds(60, 86_400).describe('The sliding window failovers are counted in; default 900.'),
  })
  .strict()
  .partial();

export const Link = z
  .object({
    id: Id,
    role: z.enum(LINK_ROLES),
    address: Host.describe('Public address of the link (for DNS values and checks).'),
    interface: z.string().min(1).optional().describe('Network interface on the site agent (inside-out checks).'),
    sourceAddress: Host.optional().describe('Source address on the site agent, when not bound by interface.'),
  })
  .strict();

export const DnsRecord = z
  .object({
    zone: z.string().min(1).describe('The hosted zone, e.g. example.com.'),
    hostedZoneId: z.string().regex(/^Z[A-Z0-9]{1,32}$/, 'expected a Route 53 hosted zone id such as Z0123456789ABC'),
    name: z.string().min(1).describe('Fully qualified record name inside the zone.'),
    type: z.enum(['A', 'AAAA', 'CNAME']),
    ttl: z.number().int().min(0).max(86_400).default(60),
    values: z.record(Id, z.array(z.string().min(1)).min(1)).describe('Record values per link id.'),
    strategy: z
      .enum(['record-swap', 'health-check-gated'])
      .default('record-swap')
      .describe(
        "record-swap: the dispatcher UPSERTs the record (control plane); health-check-gated: Route 53 failover records on the probe regions' health checks (data plane).",
      ),
  })
  .strict();

export const MaintenanceWindow = z
  .object({
    id: Id,
    start: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-01T22:00' }),
    end: z.iso.datetime({ local: true, offset: true, error: 'expected a date-time such as 2026-12-02T02:00' }),
    timezone: z.string().default('UTC').describe('IANA time zone of start and end when they carry no offset.'),
    reason: z.string().min(1),
    ticket: z.string().optional().describe('External change ticket reference.'),
  })
  .strict();

export const Agent = z
  .object({
    publicKey: z.string().describe('Ed25519 public key of the site agent, base64 of the 32 raw bytes.'),
  })
  .strict();

export const Site = z
  .object({
    id: Id,
    name: z.string().optional(),
    links: z.array(Link).min(2, 'expected at least two links: one primary and a backup'),
    checks: z.array(Check).default([]),
    dns: z.array(DnsRecord).default([]),
    dependencies: z.array(Id).default([]).describe('SaaS/VoIP presets this site depends on.'),
    agent: Agent.optional(),
    maintenance: z.array(MaintenanceWindow).default([]),
    policy: Policy.optional(),
    contacts: z.array(z.string().min(1)).optional().describe('Contact names to alert; default all contacts.'),
  })
  .strict();

export const Contact = z
  .object({
    name: z.string().min(1),
    email: z.email({ error: 'expected an email address' }).optional(),
    sms: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'expected an E.164 phone number such as +15555550100')
      .optional(),
    severities: z.array(Severity).min(1).default(['critical', 'warning']),
  })
  .strict();

export const Preset = z
  .object({
    description: z.string().optional(),
    kind: z.enum(['saas', 'voip']).default('saas'),
    checks: z.array(Check).min(1),
  })
  .strict();

export const Probing = z
  .object({
    concurrency: z.number().int().min(1).max(2000).default(64).describe('Checks in flight at once in a round.'),
    jitterMs: z.number().int().min(0).max(60_000).default(1000).describe('Random start offset of each check.'),
    roundBudgetMs: z
      .number()
      .int()
      .min(1000)
      .max(900_000)
      .optional()
      .describe('Time a round may take; default 80% of the shortest interval.'),
    maxChecksPerTicket: z
      .number()
      .int()
      .min(2)
      .max(10_000)
      .optional()
      .describe(
        'Most checks one round ticket (one invocation) runs, its control checks included; a larger round is split into several. Default 768, the open-check cap.',
      ),
  })
  .strict();

export const DemoTarget = z
  .object({
    id: Id,
    kind: z
      .enum(['http', 'sip', 'echo'])
      .describe('http: answers 200 on every path; sip: answers OPTIONS; echo: UDP echo.'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535),
  })
  .strict();

/** Settings read only by the local runtime (`failover local`, `npm start`); the cloud ignores them. */
export const LocalSettings = z
  .object({
    demoTargets: z
      .array(DemoTarget)
      .default([])
      .describe('Targets the local runtime serves itself, so that a demo can break and heal them.'),
  })
  .strict();

export { INBOUND_ACTIONS, InboundAction };

/** The signature schemes inbound webhooks are verified with. */
export const INBOUND_SCHEMES = ['standard-webhooks', 'zendesk', 'stripe'] as const;

/**
 * Where a secret lives: never in sites.yaml itself. `env` names an environment variable (the local runtime);
 * `secretsManager` names a Secrets Manager secret (name or ARN), optionally one `field` of its JSON.
 */
export const SecretRef = z.union(
  [
    z
      .object({
        env: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as ZENDESK_HOOK_SECRET')
          .describe('Environment variable holding the secret.'),
      })
      .strict(),
    z
      .object({
        secretsManager: z.string().min(1).describe('Secrets Manager secret name or ARN.'),
        field: z.string().min(1).optional().describe("Field of the secret's JSON value; default the whole value."),
      })
      .strict(),
  ],
  { error: 'expected { env: NAME } or { secretsManager: name-or-arn }' },
);

const JsonPath = z.string().startsWith('$', 'expected a JSONPath starting with "$"');

/** Where each field of an inbound command is in the tool's payload, when the payload is not our own shape. */
export const InboundFields = z
  .object({
    action: JsonPath,
    site: JsonPath,
    incident: JsonPath,
    ticket: JsonPath,
    window: JsonPath,
    start: JsonPath,
    end: JsonPath,
    reason: JsonPath,
    by: JsonPath,
  })
  .strict()
  .partial();

export const InboundSource = z
  .object({
    source: Id.check(z.describe('The {source} of POST /v1/hooks/{source}.')),
    scheme: z.enum(INBOUND_SCHEMES).describe('How requests are signed.'),
    secret: SecretRef,
    allow: z.array(InboundAction).min(1).describe('The actions this source may take.'),
    sites: z
      .array(z.union([Id, z.literal('*')]))
      .min(1)
      .describe('Sites this source may act on; "*" for all.'),
    toleranceSeconds: z
      .number()
      .int()
      .min(30)
      .max(900)
      .default(300)
      .describe('Largest accepted distance between the signed timestamp and now.'),
    signatureHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'expected a header name')
      .optional()
      .describe('stripe scheme: the header carrying t=...,v1=...; default Stripe-Signature.'),
    fields: InboundFields.optional(),
    values: z
      .record(z.string().min(1), InboundAction)
      .optional()
      .describe('Maps values of the action field (e.g. "change.started") to actions.'),
  })
  .strict();

export const Integrations = z
  .object({
    inbound: z.array(InboundSource).default([]).describe('Tools that may call POST /v1/hooks/{source}.'),
  })
  .strict();

export const StatusPageSite = z.union([
  Id,
  z
    .object({
      site: Id,
      name: z.string().trim().min(1).max(100).optional().describe('The public name; default the site name.'),
      group: z.string().trim().min(1).max(100).optional().describe('A heading to show it under.'),
    })
    .strict(),
]);

export const StatusPageConfig = z
  .object({
    id: Id,
    title: z.string().trim().min(1).max(200).optional().describe('Default: the id.'),
    sites: z.array(StatusPageSite).min(1, 'expected at least one site'),
    incidents: z
      .boolean()
      .default(true)
      .describe('List incidents (their kind and times only, never their explanations).'),
  })
  .strict();

export const SitesConfig = z
  .object({
    version: z.literal(1),
    regions: z
      .object({
        probe: z.array(Region).min(1),
        control: z
          .union([Region, z.array(Region).min(1).max(2)], { error: controlRegionsMessage })
          .describe(
            'Where decisions happen: one region, or two ([primary, standby]) that both decide on a strongly consistent global table.',
          ),
        witness: Region.optional().describe(
          'With two control regions: the third region of the state table (an MRSC witness, no functions), in the same region set.',
        ),
      })
      .strict(),
    probing: Probing.default({ concurrency: 64, jitterMs: 1000 }),
    controlChecks: z
      .array(Check)
      .default([])
      .describe('Known-good targets: a region that fails most of them abstains for the round.'),
    defaults: z.object({ policy: Policy.optional() }).strict().optional(),
    brake: Brake.optional().describe(
      'The mass-failover brake: too many automatic failovers in one window hold the rest, unless control checks rule out the probes.',
    ),
    contacts: z.array(Contact).default([]),
    presets: z.record(Id, Preset).default({}).describe('Your own SaaS/VoIP bundles, used like the built-in presets.'),
    sites: z.array(Site).min(1),
    integrations: Integrations.optional(),
    statusPages: z
      .array(StatusPageConfig)
      .default([])
      .describe('Public status pages (GET /v1/status/<id>, no API key): only the sites they list.'),
    local: LocalSettings.optional(),
  })
  .strict();
export type SitesConfigInput = z.input<typeof SitesConfig>;
export type SitesConfigParsed = z.output<typeof SitesConfig>;
