import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  waitForResourceRecordSetsChanged,
} from '@aws-sdk/client-route-53';
import type { DnsAction } from '../../domain/model.ts';
import { isTransientAwsError as isTransient, type AwsErrorShape } from './sdk-errors.ts';
import { normalizeDnsName, normalizeRecordValue, stripDot } from '../../domain/dns-values.ts';
import { FailoverError, TransientError } from '../../errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';

/** The provider refused a DNS change or read for good (bad change batch, unknown zone, no permission): do not retry. */
export class DnsChangeRejectedError extends FailoverError {
  /** The provider's error name, e.g. InvalidChangeBatch or AccessDenied. */
  readonly reason: string;

  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super('DNS_REJECTED', message, options);
    this.name = 'DnsChangeRejectedError';
    this.reason = reason;
  }
}

export interface Route53DnsRouterOptions {
  /** @default a Route53Client for us-east-1 with the SDK's retries off, made once */
  readonly client?: Route53Client;
  /** Poll GetChange after each change until Route 53 reports INSYNC (or waitTimeoutMs passes). @default false */
  readonly waitForSync?: boolean;
  /** How long to wait for INSYNC; past it the change is reported as still PENDING, not as an error. @default 60000 */
  readonly waitTimeoutMs?: number;
  /** Bounds of the SDK waiter's backoff between GetChange polls. @default { min: 5000, max: 15000 } */
  readonly pollDelayMs?: { readonly min: number; readonly max: number };
  /** Measures the wait reported in the result. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Record swap: each action is one ChangeResourceRecordSets UPSERT of the record to the active link's values, on
 * Route 53's control plane (us-east-1). read() finds the record with ListResourceRecordSets. SDK errors never leave
 * this class: retryable ones become TransientError, the rest DnsChangeRejectedError, the SDK error as cause.
 */
export class Route53DnsRouter implements DnsRouter {
  readonly #client: Route53Client;
  readonly #waitForSync: boolean;
  readonly #waitTimeoutMs: number;
  readonly #pollDelayMs: { readonly min: number; readonly max: number };
  readonly #clock: Clock;

  constructor(options: Route53DnsRouterOptions = {}) {
    // The dispatcher retries TransientError itself, with exponential backoff and full jitter: SDK retries on top
    // would multiply the attempts and hide throttling from it.
    this.#client = options.client ?? new Route53Client({ region: 'us-east-1', maxAttempts: 1 });
    this.#waitForSync = options.waitForSync ?? false;
    this.#waitTimeoutMs = Math.max(1, options.waitTimeoutMs ?? 60_000);
    this.#pollDelayMs = options.pollDelayMs ?? { min: 5_000, max: 15_000 };
    this.#clock = options.clock ?? systemClock;
  }

  async apply(action: DnsAction): Promise<DnsApplyResult> {
    const name = fqdn(action.name);
    const what = `${stripDot(action.name)} ${action.type}`;
    const values = action.values.map((v) => (action.type === 'CNAME' ? fqdn(v) : v));
    const comment = `failover ${action.id}: site ${action.site} to link ${action.link}`.slice(0, 256);
    let changeId: string;
    let status: string;
    try {
      const output = await this.#client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: action.hostedZoneId,
          ChangeBatch: {
            Comment: comment,
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: name,
                  Type: action.type,
                  TTL: action.ttl,
                  ResourceRecords: values.map((Value) => ({ Value })),
                },
              },
            ],
          },
        }),
      );
      changeId = (output.ChangeInfo?.Id ?? '').replace(/^\/change\//, '');
      status = output.ChangeInfo?.Status ?? 'PENDING';
    } catch (error) {
      throw mapAwsError(error, `Route 53 change of ${what} in hosted zone ${action.hostedZoneId}`, action.hostedZoneId);
    }
    const to = `${action.values.join(', ')} (link ${action.link}, TTL ${action.ttl} s)`;
    const detail = `${what} -> ${to} in hosted zone ${action.hostedZoneId}, change ${changeId}`;
    if (!this.#waitForSync || status === 'INSYNC' || changeId === '') {
      return { detail: `${detail} ${status}`, changeId, status };
    }
    const synced = await this.#waitUntilInSync(changeId);
    return { detail: `${detail} ${synced.text}`, changeId, status: synced.status };
  }

  async read(record: DnsRecordRef): Promise<{ values: string[]; ttl: number } | null> {
    try {
      const output = await this.#client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: record.hostedZoneId,
          StartRecordName: fqdn(record.name),
          StartRecordType: record.type,
          MaxItems: 1,
        }),
      );
      // Route 53 lists from the start name onwards: a missing record yields the next one in the zone.
      const found = output.ResourceRecordSets?.[0];
      if (
        !found ||
        found.Type !== record.type ||
        normalizeDnsName(found.Name ?? '') !== normalizeDnsName(record.name)
      ) {
        return null;
      }
      return {
        values: (found.ResourceRecords ?? []).map((r) => normalizeRecordValue(record.type, r.Value ?? '')),
        ttl: found.TTL ?? 0,
      };
    } catch (error) {
      const what = `${stripDot(record.name)} ${record.type}`;
      throw mapAwsError(error, `Route 53 read of ${what} in hosted zone ${record.hostedZoneId}`, record.hostedZoneId);
    }
  }

  async #waitUntilInSync(changeId: string): Promise<{ status: string; text: string }> {
    const started = this.#clock.now();
    const maxWaitTime = this.#waitTimeoutMs / 1000;
    const minDelay = Math.min(this.#pollDelayMs.min / 1000, maxWaitTime / 2);
    const maxDelay = Math.max(minDelay, this.#pollDelayMs.max / 1000);
    const result = await waitForResourceRecordSetsChanged(
      { client: this.#client, maxWaitTime, minDelay, maxDelay },
      { Id: changeId },
    );
    const seconds = Math.round((this.#clock.now() - started) / 1000);
    if (result.state === 'SUCCESS') return { status: 'INSYNC', text: `INSYNC after ${seconds} s` };
    // The waiter retries GetChange errors too (no permission, throttling): name them, they explain a long wait.
    const errors = Object.entries(result.observedResponses ?? {})
      .filter(([response]) => !response.startsWith('200'))
      .map(([response, count]) => `${response} x${count}`);
    const why = errors.length > 0 ? ` (GetChange: ${errors.join('; ').slice(0, 300)})` : '';
    return { status: 'PENDING', text: `still PENDING after ${seconds} s${why}` };
  }
}

const RETRY_LATER = ['PriorRequestNotComplete', 'InternalServiceFault'];
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'NotAuthorizedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/** Route 53's InvalidChangeBatch carries the reasons in `messages`. */
type Route53ErrorShape = AwsErrorShape & { messages?: unknown };

/** Whether retrying the same AWS request later may help: throttling, a change in progress, a 5xx, a network error. */
export function isTransientAwsError(error: unknown): boolean {
  return isTransient(error, RETRY_LATER);
}

/**
 * An AWS SDK error as a domain error: TransientError when a retry may help, else DnsChangeRejectedError with a
 * sentence a person can act on. `operation` says what was attempted ("Route 53 change of portal.example.com A ...").
 */
export function mapAwsError(error: unknown, operation: string, hostedZoneId?: string): FailoverError {
  if (error instanceof FailoverError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as Route53ErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const text = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  const code = typeof e.code === 'string' && e.code !== name ? ` ${e.code}` : '';
  if (isTransientAwsError(error)) {
    return new TransientError(`${operation} failed, retry later (${name}${code}: ${text})`, { cause: error });
  }
  let message: string;
  if (name === 'InvalidChangeBatch') {
    const messages = Array.isArray(e.messages) && e.messages.length > 0 ? e.messages.join('; ') : text;
    message = `${operation} was rejected as invalid: ${messages}`;
  } else if (name === 'NoSuchHostedZone') {
    const zone = hostedZoneId ? ` ${hostedZoneId}` : '';
    message = `${operation} failed: hosted zone${zone} does not exist; check hostedZoneId in the configuration`;
  } else if (DENIED.has(name)) {
    message = `${operation} is not allowed (${name}: ${text}); see the IAM permissions in docs/dns.md`;
  } else if (name === 'InvalidInput' || name === 'InvalidParameterValueException' || name === 'ValidationException') {
    message = `${operation} was refused as invalid input: ${text}`;
  } else {
    message = `${operation} was refused (${name}${code}: ${text})`;
  }
  return new DnsChangeRejectedError(name, message, { cause: error });
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
