import type { WebhookFormat } from '../contracts/vocabulary.ts';
import { type AttemptOutcome, type DeliveryStatus } from '../contracts/vocabulary.ts';
import type { WebhookEvent } from '../domain/model.ts';
import { FailoverError } from '../errors.ts';
import type { Page } from './state-store.ts';

export type { WebhookFormat };

/** Settings of a format that are no secret (the PagerDuty routing key and auth headers are sealed instead). */
export interface FormatOptions {
  /** PagerDuty `payload.source`, Opsgenie `source`, the Slack and Teams context line. @default the site id */
  readonly source?: string;
  /** Jira: the project key, e.g. `OPS` (required for the jira format). */
  readonly projectKey?: string;
  /** Jira: the issue type name. @default 'Task' */
  readonly issueType?: string;
  /** ServiceNow: `assignment_group` (sys_id or name). */
  readonly assignmentGroup?: string;
  /** ServiceNow: `caller_id`. */
  readonly callerId?: string;
  /** ServiceNow: `category`. @default 'network' */
  readonly category?: string;
  /** ServiceNow: `close_code` of a resolution. @default 'Solution provided' */
  readonly closeCode?: string;
  /** Zendesk: `group_id` of new tickets. */
  readonly groupId?: number;
  /** Extra tags (Zendesk, Opsgenie) or labels (Jira). */
  readonly tags?: readonly string[];
}

/** A subscription as stored: everything but its secrets in the clear. */
export interface WebhookSubscription {
  /** `sub_` and 24 hex characters. */
  readonly id: string;
  readonly url: string;
  readonly format: WebhookFormat;
  /** Events sent; empty means all. */
  readonly events: readonly WebhookEvent[];
  /** Sites whose events are sent; empty means all. */
  readonly sites: readonly string[];
  readonly description: string;
  readonly options: FormatOptions;
  /** False once the receiver answered 410 Gone (or an operator disabled it): nothing more is sent. */
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly disabledAt: number | null;
  readonly createdAt: number;
  /** SecretBox-sealed JSON of {@link SubscriptionSecrets}. */
  readonly sealed: string;
}

/** What a subscription keeps sealed. */
export interface SubscriptionSecrets {
  /** The `whsec_` signing secret. */
  readonly secret: string;
  /** Extra request headers, such as `authorization` for Jira, ServiceNow, Zendesk or Opsgenie (`GenieKey ...`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PagerDuty Events v2 `routing_key`. */
  readonly routingKey?: string;
}

export type { DeliveryStatus };

/** One try at a delivery, as the delivery log shows it. */
export interface DeliveryAttempt {
  /** 1 for the first attempt; redeliveries go on counting. */
  readonly n: number;
  readonly at: number;
  readonly durationMs: number;
  /** The receiver's HTTP status, or null when there was no answer (timeout, connection refused). */
  readonly status: number | null;
  /** ok: 2xx; retry: another attempt is scheduled; gone: 410, the subscription is disabled; failed: given up. */
  readonly outcome: AttemptOutcome;
  /** Why it failed: `HTTP 500`, `timeout after 15000 ms`, a network error. */
  readonly error: string | null;
  /** The first bytes of the receiver's answer. */
  readonly response: string | null;
  /** Asked for through redeliver rather than scheduled. */
  readonly redelivery: boolean;
}

/** One event on its way to one subscription, and its log of attempts. */
export interface WebhookDelivery {
  /** `<action id>:<subscription id>`: the `webhook-id` header, the same for every attempt and redelivery. */
  readonly id: string;
  readonly subscriptionId: string;
  readonly actionId: string;
  readonly event: WebhookEvent;
  readonly site: string;
  readonly incidentId: string | null;
  readonly createdAt: number;
  /** JSON of the generic envelope (shared/webhooks/events.ts); the other formats are rendered from it. */
  readonly envelope: string;
  readonly status: DeliveryStatus;
  /** Why it is failed or cancelled (`receiver answered 410 Gone`, `gave up after 10 attempts`...); else null. */
  readonly statusReason: string | null;
  /** Oldest first; the adapter keeps the latest MAX_ATTEMPTS_KEPT. */
  readonly attempts: readonly DeliveryAttempt[];
  /** Attempts made so far, redeliveries included (the log may have dropped the oldest). */
  readonly attemptCount: number;
  /** Scheduled attempts made so far (redeliveries excluded): the position in the retry schedule. */
  readonly scheduledAttempts: number;
  /** When the next scheduled attempt is due; null unless pending. */
  readonly nextAttemptAt: number | null;
  /** A worker claimed the next scheduled attempt until then (epoch ms): others leave it alone. Null when free. */
  readonly leaseUntil: number | null;
  /** Incremented by every write; the condition of the next one. */
  readonly version: number;
}

/** Attempts a delivery keeps in its log; older ones are dropped (attemptCount still counts them). */
export const MAX_ATTEMPTS_KEPT = 50;

/** The delivery changed since it was read (another worker recorded an attempt): read it again. */
export class DeliveryConflictError extends FailoverError {
  constructor(id: string, options?: { cause?: unknown }) {
    super('DELIVERY_CONFLICT', `delivery ${id} changed under this write`, options);
    this.name = 'DeliveryConflictError';
  }
}

/**
 * Where webhook subscriptions and their delivery logs live (DynamoDB in the cloud, dynalite locally: the same
 * adapter). Errors a retry may fix surface as StoreUnavailableError (shared/ports/state-store.ts).
 */
export interface WebhookStore {
  /** Stores a new subscription; its id must be new. */
  createSubscription(subscription: WebhookSubscription): Promise<void>;
  getSubscription(id: string): Promise<WebhookSubscription | null>;
  /** Every subscription, oldest first. */
  listSubscriptions(): Promise<WebhookSubscription[]>;
  /** Enables or disables a subscription; false when there is no such subscription. */
  setSubscriptionEnabled(id: string, enabled: boolean, reason: string | null, at: number): Promise<boolean>;
  /** Deletes a subscription (its delivery log expires on its own); false when there was none. */
  deleteSubscription(id: string): Promise<boolean>;
  /** Stores a new delivery (version 1); false, changing nothing, when one with its id exists already. */
  createDelivery(delivery: WebhookDelivery): Promise<boolean>;
  getDelivery(subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null>;
  /**
   * Replaces a delivery whose stored version is `delivery.version - 1`; throws DeliveryConflictError otherwise.
   * Keeps the latest MAX_ATTEMPTS_KEPT attempts.
   */
  updateDelivery(delivery: WebhookDelivery): Promise<void>;
  /** A subscription's deliveries, newest first, optionally of one status. */
  listDeliveries(
    subscriptionId: string,
    query?: { status?: DeliveryStatus; limit?: number; cursor?: string },
  ): Promise<Page<WebhookDelivery>>;
}

/** A message asking for the next attempt at a delivery. */
export interface DeliveryTicket {
  readonly subscriptionId: string;
  readonly deliveryId: string;
  /** Scheduled attempts made when the message was sent: a duplicate or stale message (another count) is ignored. */
  readonly attempt: number;
  /** Epoch ms before which the attempt must not be made. */
  readonly notBefore: number;
}

/** Schedules attempts: SQS with DelaySeconds in the cloud, timers in the local runtime. */
export interface DeliveryQueue {
  enqueue(ticket: DeliveryTicket): Promise<void>;
}
