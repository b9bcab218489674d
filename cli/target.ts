import type { z } from 'zod';
import { DnsSpec, HttpSpec, SipSpec, TcpSpec, TlsSpec, VoipSpec, type ProbeSpec } from '../shared/config/checks.ts';
import { messageFor } from '../shared/config/messages.ts';
import { FailoverError } from '../shared/errors.ts';

/** A TARGET argument of `failover check` that cannot be understood. */
export class TargetError extends FailoverError {
  constructor(message: string) {
    super('BAD_TARGET', message);
    this.name = 'TargetError';
  }
}

export interface TargetOptions {
  readonly caFile?: string;
}

export const TARGET_FORMS = [
  'http(s)://host[:port]/path',
  'tcp://host:port',
  'tls://host[:port]',
  'dns://server[:port]/name?type=A&expect=1.2.3.4&exact=a,b&rcode=NOERROR&tcp=1',
  'sip:host[:port][;transport=udp|tcp|tls]',
  'voip://host:port',
];

/** Turns a `failover check` TARGET into a probe with default settings, or throws TargetError saying why not. */
export function parseTarget(target: string, options: TargetOptions = {}): ProbeSpec {
  const ca = options.caFile ? { caFile: options.caFile } : {};
  const scheme = /^([a-z]+):/i.exec(target)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https':
      return { kind: 'http', http: parse(HttpSpec, { url: target, ...(scheme === 'https' ? ca : {}) }, target) };
    case 'tcp': {
      const { host, port } = hostPort(target, undefined);
      return { kind: 'tcp', tcp: parse(TcpSpec, { host, port }, target) };
    }
    case 'tls': {
      const { host, port } = hostPort(target, 443);
      return { kind: 'tls', tls: parse(TlsSpec, { host, port, ...ca }, target) };
    }
    case 'dns':
      return { kind: 'dns', dns: parse(DnsSpec, dnsFields(target), target) };
    case 'sip':
    case 'sips':
      return { kind: 'sip', sip: parse(SipSpec, { ...sipFields(target, scheme), ...ca }, target) };
    case 'voip': {
      const { host, port } = hostPort(target, undefined);
      return { kind: 'voip', voip: parse(VoipSpec, { host, port }, target) };
    }
    default:
      throw new TargetError(`cannot tell the probe from "${target}"; expected one of:\n  ${TARGET_FORMS.join('\n  ')}`);
  }
}

function url(target: string): URL {
  try {
    return new URL(target);
  } catch {
    throw new TargetError(`"${target}" is not a valid URL`);
  }
}

function hostPort(target: string, defaultPort: number | undefined): { host: string; port: number | undefined } {
  const u = url(target);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new TargetError(`"${target}" has no host`);
  if (u.port === '' && defaultPort === undefined)
    throw new TargetError(`"${target}" needs a port (${u.protocol}//host:port)`);
  return { host, port: u.port === '' ? defaultPort : Number(u.port) };
}

function dnsFields(target: string): Record<string, unknown> {
  const u = url(target);
  const name = decodeURIComponent(u.pathname.replace(/^\/+/, ''));
  if (!name) throw new TargetError(`"${target}" names no record to ask for: dns://server/name`);
  const q = u.searchParams;
  const list = (key: string) =>
    q
      .get(key)
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  const known = new Set(['type', 'expect', 'exact', 'rcode', 'tcp']);
  for (const key of q.keys())
    if (!known.has(key)) throw new TargetError(`unknown DNS option "${key}" (known: ${[...known].join(', ')})`);
  return {
    server: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(u.port ? { port: Number(u.port) } : {}),
    name,
    ...(q.has('type') ? { type: q.get('type')!.toUpperCase() } : {}),
    ...(q.has('expect') ? { expect: list('expect') } : {}),
    ...(q.has('exact') ? { exact: list('exact') } : {}),
    ...(q.has('rcode') ? { expectRcode: q.get('rcode')!.toUpperCase() } : {}),
    ...(q.has('tcp') && q.get('tcp') !== '0' ? { protocol: 'tcp' } : {}),
  };
}

function sipFields(target: string, scheme: string): Record<string, unknown> {
  const [address = '', ...params] = target.slice(scheme.length + 1).split(';');
  const m = /^(?:[^@]+@)?(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(address);
  if (!m) throw new TargetError(`"${target}" is not a SIP URI: sip:host[:port][;transport=udp|tcp|tls]`);
  const fields: Record<string, unknown> = { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), requestUri: target.split(';')[0] };
  if (m[2]) fields.port = Number(m[2]);
  if (scheme === 'sips') fields.transport = 'tls';
  for (const param of params) {
    const [key, value] = param.split('=');
    if (key?.toLowerCase() === 'transport') fields.transport = value?.toLowerCase();
    else throw new TargetError(`unknown SIP URI parameter "${key}" (known: transport)`);
  }
  return fields;
}

function parse<T extends z.ZodType>(schema: T, input: Record<string, unknown>, target: string): z.output<T> {
  const result = schema.safeParse(input, { error: messageFor });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  throw new TargetError(`"${target}": ${field ? `${field}: ` : ''}${issue.message}`);
}
