import type { ReplayGuard } from '../../shared/ports/replay-guard.ts';
import type { DeliveryAttempt, WebhookDelivery, WebhookStore } from '../../shared/ports/webhook-store.ts';
import type { SecretBox } from '../../shared/webhooks/secret-box.ts';
import type { SecretResolver } from '../../shared/webhooks/secrets.ts';

/** What the webhook subscription routes need beyond the API's own dependencies. */
export interface WebhookApiDeps {
  readonly store: WebhookStore;
  readonly secretBox: SecretBox;
  /**
   * Accept http:// URLs and private or loopback hosts: the local runtime and tests only.
   * @default false
   */
  readonly allowPrivateUrls?: boolean;
  /** Bound of a redelivery's request. @default the delivery worker's */
  readonly timeoutMs?: number;
  /** Told about every redelivery attempt. */
  readonly onAttempt?: (delivery: WebhookDelivery, attempt: DeliveryAttempt) => void;
}

/** What `POST /v1/hooks/{source}` needs beyond the API's own dependencies. */
export interface HookDeps {
  /** Reads the sources' signing secrets named in sites.yaml `integrations.inbound`. */
  readonly secrets: SecretResolver;
  /** Refuses a message id seen before. */
  readonly replay: ReplayGuard;
}
