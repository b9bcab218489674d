import { JSONPath } from 'jsonpath-plus';
import * as z from 'zod/mini';
import '../contracts/zod-english.ts';
import type { InboundSourceConfig } from '../config/model.ts';
import { Id, INBOUND_ACTIONS, InboundAction } from '../config/names.ts';
import {
  SignatureCheckError,
  verifyStandardWebhook,
  verifyStripeStyle,
  verifyZendesk,
  type HeaderMap,
  type VerifiedMessage,
} from './signing.ts';

/** Header names in lower case, multi-valued headers joined as Node does. */
export function normalizeHeaders(headers: Readonly<Record<string, string | readonly string[] | undefined>>): HeaderMap {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}

/** Verifies a request with its source's scheme; throws SignatureCheckError (reason `stale` for the clock). */
export function verifyWithScheme(
  source: InboundSourceConfig,
  secret: string,
  headers: HeaderMap,
  body: string,
  now: number,
): VerifiedMessage {
  const options = { now, toleranceSeconds: source.toleranceSeconds };
  switch (source.scheme) {
    case 'standard-webhooks':
      try {
        return verifyStandardWebhook(secret, headers, body, options);
      } catch (error) {
        // A secret that is no whsec_ secret is a configuration problem, not the caller's: say so plainly.
        if (error instanceof RangeError) throw new RangeError(`inbound source ${source.source}: ${error.message}`);
        throw error;
      }
    case 'zendesk':
      return verifyZendesk(secret, headers, body, options);
    case 'stripe':
      return verifyStripeStyle(secret, headers, body, {
        ...options,
        ...(source.signatureHeader ? { header: source.signatureHeader } : {}),
      });
  }
}

export { SignatureCheckError };

const isoTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time with an offset or Z' });

/** What an inbound webhook asks for, once mapped from the tool's payload. */
export const InboundCommand = z.object({
  action: InboundAction,
  site: z.optional(Id),
  /** incident.acknowledge: the incident id (`<site>.<seq>`); the site's open incident when absent. */
  incident: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
  /** maintenance.*: the change ticket; the window's identity. */
  ticket: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
  /** maintenance.close: the window id, instead of the ticket. */
  window: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
  start: z.optional(isoTime),
  end: z.optional(isoTime),
  reason: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(500))),
  by: z.optional(z.string().check(z.minLength(1)).check(z.maxLength(200))),
});
export type InboundCommand = z.output<typeof InboundCommand>;

const FIELDS = ['action', 'site', 'incident', 'ticket', 'window', 'start', 'end', 'reason', 'by'] as const;

/** The outcome of reading a payload: a command, a payload to ignore (an event no action maps), or a problem. */
export type ReadCommand =
  | { readonly type: 'command'; readonly command: InboundCommand }
  | { readonly type: 'ignored'; readonly detail: string }
  | { readonly type: 'invalid'; readonly detail: string };

/**
 * Reads the command of a payload: each field at its JSONPath in `source.fields`, or at the top level by its own
 * name; the action value through `source.values` (an action name passes as itself). A payload whose action value
 * maps to nothing is ignored rather than refused: tools send every event of a kind to one URL.
 */
export function readCommand(source: InboundSourceConfig, body: string): ReadCommand {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { type: 'invalid', detail: 'the body is not JSON' };
  }
  if (payload === null || typeof payload !== 'object')
    return { type: 'invalid', detail: 'expected a JSON object body' };
  const raw: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const path = source.fields?.[field];
    let value: unknown = path ? first(path, payload) : (payload as Record<string, unknown>)[field];
    if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
    if (value !== undefined && value !== null && value !== '') raw[field] = value;
  }
  const action = raw.action;
  if (typeof action !== 'string') return { type: 'invalid', detail: 'no action in the payload' };
  const mapped =
    source.values?.[action] ?? ((INBOUND_ACTIONS as readonly string[]).includes(action) ? action : undefined);
  if (mapped === undefined) return { type: 'ignored', detail: `"${action.slice(0, 80)}" maps to no action` };
  const parsed = InboundCommand.safeParse({ ...raw, action: mapped });
  if (!parsed.success)
    return {
      type: 'invalid',
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; '),
    };
  return { type: 'command', command: parsed.data };
}

function first(path: string, json: object): unknown {
  try {
    const matches = JSONPath({ path, json, wrap: true }) as unknown[];
    return Array.isArray(matches) ? matches[0] : undefined;
  } catch {
    return undefined;
  }
}
