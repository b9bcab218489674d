import { isIP } from 'node:net';
import * as z from 'zod';
import { PROBE_KINDS, type ProbeKind } from '../contracts/observation.ts';
import { idSchema } from '../contracts/ids.ts';

/** Ids of sites, links, checks and presets: short, safe in keys, URLs and metric dimensions. */
export const Id = idSchema();

const hostnameRe = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/i;

/** A hostname or an IPv4/IPv6 literal. */
export const Host = z
  .string()
  .refine((v) => isIP(v) !== 0 || hostnameRe.test(v), { message: 'expected a hostname or an IP address' });

export const Port = z.number().int().min(1).max(65535);
const Millis = z.number().int().positive();

const latencyBudgetMs = Millis.optional().describe('Over this latency the result is degraded.');
const certExpiryWarnDays = z
  .number()
  .int()
  .nonnegative()
  .default(14)
  .describe('Fewer days than this before the certificate expires makes the result degraded.');
const caFile = z
  .string()
  .min(1)
  .optional()
  .describe("PEM file of extra CA certificates to trust besides the system's.");

export const JsonAssertion = z
  .object({
    path: z.string().startsWith('$', 'expected a JSONPath starting with "$"').describe('JSONPath, e.g. $.status'),
    equals: z
      .union([z.string(), z.number(), z.boolean(), z.null()])
      .optional()
      .describe('The first match must equal this; without it the path must merely match.'),
  })
  .strict();

export const HttpSpec = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    expectStatus: z
      .array(z.number().int().min(100).max(599))
      .min(1)
      .optional()
      .describe('Status codes that count as up; default any 2xx.'),
    bodyContains: z.string().optional(),
    bodyMatches: z
      .string()
      .refine(isValidRegex, { message: 'expected a valid regular expression' })
      .optional()
      .describe('A JavaScript regular expression the body must match.'),
    json: JsonAssertion.optional(),
    followRedirects: z.boolean().default(true),
    maxRedirects: z.number().int().min(0).max(20).default(5),
    latencyBudgetMs,
    certExpiryWarnDays,
    caFile,
    connectTo: Host.optional().describe(
      "Connect to this address instead of the URL's host (Host header and TLS name stay the URL's), like curl --connect-to.",
    ),
  })
  .strict();
export type HttpSpec = z.output<typeof HttpSpec>;

export const TcpSpec = z.object({ host: Host, port: Port, latencyBudgetMs }).strict();
export type TcpSpec = z.output<typeof TcpSpec>;

export const TlsSpec = z
  .object({
    host: Host,
    port: Port.default(443),
    servername: z.string().optional().describe('Name sent as SNI and verified against the certificate; default host.'),
    latencyBudgetMs,
    certExpiryWarnDays,
    caFile,
  })
  .strict();
export type TlsSpec = z.output<typeof TlsSpec>;

export const DNS_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SOA', 'SRV', 'PTR', 'CAA'] as const;
export const DNS_RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

export const DnsSpec = z
  .object({
    server: Host.describe('The resolver or authoritative server to ask.'),
    port: Port.default(53),
    name: z.string().min(1),
    type: z.enum(DNS_TYPES).default('A'),
    protocol: z.enum(['udp', 'tcp']).default('udp').describe('UDP falls back to TCP when the answer is truncated.'),
    expectRcode: z.enum(DNS_RCODES).default('NOERROR'),
    expect: z.array(z.string()).min(1).optional().describe('These values must be among the answers.'),
    exact: z.array(z.string()).min(1).optional().describe('The answers must be exactly this set.'),
    latencyBudgetMs,
  })
  .strict();
export type DnsSpec = z.output<typeof DnsSpec>;

export const SipSpec = z
  .object({
    host: Host,
    port: Port.optional().describe('Default 5060, or 5061 over TLS.'),
    transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
    expectStatus: z
      .array(z.number().int().min(100).max(699))
      .min(1)
      .default([200])
      .describe('Final responses that prove the service alive; many PBXs answer 401, 403 or 404 to OPTIONS.'),
    requestUri: z.string().startsWith('sip', 'expected a sip: or sips: URI').optional(),
    fromUser: z.string().default('failover'),
    servername: z.string().optional(),
    caFile,
    latencyBudgetMs,
  })
  .strict();
export type SipSpec = z.output<typeof SipSpec>;

export const VoipSpec = z
  .object({
    host: Host,
    port: Port,
    packets: z.number().int().min(5).max(1000).default(50),
    intervalMs: z.number().int().min(5).max(200).default(20),
    payloadBytes: z.number().int().min(20).max(1400).default(160),
    minMos: z.number().min(1).max(4.5).default(3.6).describe('Below this MOS the result is degraded.'),
    latencyBudgetMs,
  })
  .strict();
export type VoipSpec = z.output<typeof VoipSpec>;

export const PROBE_SPECS = {
  http: HttpSpec,
  tcp: TcpSpec,
  tls: TlsSpec,
  dns: DnsSpec,
  sip: SipSpec,
  voip: VoipSpec,
} as const satisfies Record<ProbeKind, z.ZodType>;

/** A probe kind with its parsed settings. */
export type ProbeSpec =
  | { kind: 'http'; http: HttpSpec }
  | { kind: 'tcp'; tcp: TcpSpec }
  | { kind: 'tls'; tls: TlsSpec }
  | { kind: 'dns'; dns: DnsSpec }
  | { kind: 'sip'; sip: SipSpec }
  | { kind: 'voip'; voip: VoipSpec };

/**
 * A check as written in sites.yaml: an id, the link it tests, and exactly one probe kind key
 * (`http:`, `tcp:`, `tls:`, `dns:`, `sip:` or `voip:`) holding that probe's settings.
 */
export const Check = z
  .object({
    id: Id,
    name: z.string().optional(),
    link: Id.optional().describe('The WAN link this check tests (omit for dependencies seen from outside).'),
    timeoutMs: Millis.max(60_000).default(5000).describe('Deadline of one attempt.'),
    http: HttpSpec.optional(),
    tcp: TcpSpec.optional(),
    tls: TlsSpec.optional(),
    dns: DnsSpec.optional(),
    sip: SipSpec.optional(),
    voip: VoipSpec.optional(),
  })
  .strict()
  .superRefine((check, ctx) => {
    const kinds = PROBE_KINDS.filter((k) => check[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? `expected one probe kind: ${PROBE_KINDS.join(', ')}`
            : `expected one probe kind, found ${kinds.join(' and ')}`,
      });
    }
  });
export type Check = z.output<typeof Check>;

/** The probe kind of a validated check and its settings. */
export function probeSpecOf(check: Check): ProbeSpec {
  for (const kind of PROBE_KINDS) {
    const spec = check[kind];
    if (spec !== undefined) return { kind, [kind]: spec } as ProbeSpec;
  }
  throw new Error(`check ${check.id} has no probe kind`);
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
