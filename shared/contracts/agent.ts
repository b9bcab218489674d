import * as z from 'zod';
import { ObservationBatch } from './observation.ts';
import { SiteId } from './ids.ts';

/**
 * The agent protocol, version 1: what crosses between the control plane and a site's agent, over WebSocket (the
 * API Gateway WebSocket API in the cloud, the local runtime's endpoint locally) or the HTTPS polling fallback.
 */

const Iso = z.iso.datetime();
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'expected base64');
export { SiteId };

/** A fresh challenge from `GET /v1/agent/challenge?site=<id>`; `token` is the control plane's MAC over the rest. */
export const Challenge = z.object({
  v: z.literal(1),
  site: SiteId,
  nonce: Base64,
  expiresAt: Iso,
  token: Base64,
});
export type Challenge = z.infer<typeof Challenge>;

/**
 * The agent's proof: the challenge it was given, and its Ed25519 signature over agentAuthPayload(challenge). Sent as
 * the query string of the WebSocket connect, and in the body of every poll.
 */
export const AgentAuth = Challenge.omit({ v: true }).extend({ signature: Base64 });
export type AgentAuth = z.infer<typeof AgentAuth>;

/** What an agent may be asked to do; `args.link` is the WAN link to move the site's traffic to. */
export const CommandBody = z.object({
  id: z.string().min(1).max(128),
  site: SiteId,
  action: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected an action name such as switch-wan'),
  args: z.record(z.string(), z.string()),
  issuedAt: Iso,
  expiresAt: Iso,
  nonce: Base64,
});
export type CommandBody = z.infer<typeof CommandBody>;

/** A command as sent: its body signed by the control plane's Ed25519 key over commandPayload(body). */
export const SignedCommand = CommandBody.extend({ signature: Base64 });
export type SignedCommand = z.infer<typeof SignedCommand>;

export const REFUSALS = ['bad-signature', 'wrong-site', 'expired', 'replayed', 'unknown-action', 'malformed'] as const;

/** The agent's answer to a command: what it did, or why it refused. */
export const CommandAck = z.object({
  commandId: z.string().min(1).max(128),
  site: SiteId,
  status: z.enum(['succeeded', 'failed', 'refused']),
  reason: z.enum(REFUSALS).optional(),
  exitCode: z.number().int().nullable().optional(),
  /** The program's output, at most 4 KiB (the tail when longer). */
  output: z.string().max(4096).optional(),
  dryRun: z.boolean().optional(),
  startedAt: Iso.optional(),
  finishedAt: Iso,
});
export type CommandAck = z.infer<typeof CommandAck>;

/** What the agent did on its own while it could not reach the control plane (local autonomy). */
export const AutonomyReport = z.object({
  site: SiteId,
  at: Iso,
  fromLink: z.string(),
  toLink: z.string(),
  reason: z.string().max(1024),
  ack: CommandAck.optional(),
});
export type AutonomyReport = z.infer<typeof AutonomyReport>;

/** Messages from the control plane to an agent. */
export const ServerMessage = z.discriminatedUnion('type', [
  z.object({ v: z.literal(1), type: z.literal('welcome'), site: SiteId, serverTime: Iso }),
  z.object({ v: z.literal(1), type: z.literal('command'), command: SignedCommand }),
  z.object({ v: z.literal(1), type: z.literal('heartbeat-ack'), serverTime: Iso }),
  z.object({ v: z.literal(1), type: z.literal('error'), message: z.string().max(1024) }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** Messages from an agent to the control plane. */
export const AgentMessage = z.discriminatedUnion('type', [
  z.object({
    v: z.literal(1),
    type: z.literal('heartbeat'),
    sentAt: Iso,
    activeLink: z.string().optional(),
    version: z.string().max(64).optional(),
  }),
  z.object({ v: z.literal(1), type: z.literal('ack'), ack: CommandAck }),
  z.object({ v: z.literal(1), type: z.literal('observations'), batches: z.array(ObservationBatch).max(50) }),
  z.object({ v: z.literal(1), type: z.literal('autonomy'), report: AutonomyReport }),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

/** `POST /v1/agent/poll`: the polling fallback carries what the WebSocket would, both ways. */
export const PollRequest = z.object({
  v: z.literal(1),
  auth: AgentAuth,
  messages: z.array(AgentMessage).max(100).default([]),
});
export type PollRequest = z.infer<typeof PollRequest>;

export const PollResponse = z.object({
  v: z.literal(1),
  serverTime: Iso,
  commands: z.array(SignedCommand),
});
export type PollResponse = z.infer<typeof PollResponse>;
