import { createHash } from 'node:crypto';
import { PublishCommand, SNSClient, type MessageAttributeValue } from '@aws-sdk/client-sns';
import { alertIdOf } from '../../domain/alert-id.ts';
import { alertTexts, SMS_MAX_CHARS, type AlertTexts } from '../../domain/alert-text.ts';
import type { AlertAction, Severity } from '../../domain/model.ts';
import { isTransientAwsError, type AwsErrorShape } from './sdk-errors.ts';
import { FailoverError, TransientError } from '../../errors.ts';
import type { Notifier } from '../../ports/notifier.ts';

/** The largest SNS message (body and attributes together) on a topic with the default MaximumMessageSize. */
export const MAX_PUBLISH_BYTES = 256 * 1024;

/** SNS refused an alert for a reason a retry will not fix: permissions, a missing topic, a bad parameter, a KMS key. */
export class AlertRejectedError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALERT_REJECTED', message, options);
    this.name = 'AlertRejectedError';
  }
}

export interface SnsNotifierOptions {
  /** Topic ARNs by severity: critical (SMS and email subscribers), warning (email). */
  readonly topics: { readonly critical: string; readonly warning: string };
  /**
   * Used for every topic; make it with `maxAttempts: 1`, as the dispatcher retries with backoff.
   * @default one client per topic region, made once, with maxAttempts 1
   */
  readonly client?: SNSClient;
  /**
   * Longest SMS text. A topic with a display name gets "DISPLAYNAME> " before the text of every SMS: subtract its
   * length plus 2 to keep each alert to one message. Between 40 and 139.
   * @default 139
   */
  readonly smsMaxLength?: number;
  /** A Publish still unanswered after this long is abandoned as a TransientError. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * The Notifier on Amazon SNS: one Publish per alert with MessageStructure 'json' (a full plain-text story for email,
 * one GSM-7 line under 140 characters for SMS, a short summary for any other subscriber) to the topic of its
 * severity. Info alerts are recorded only, never published. SDK errors never leave this class: they become
 * TransientError (retry later) or AlertRejectedError (will not pass), with the SDK error as cause.
 *
 * Every message carries the alert's id (alertIdOf) as the `alertId` attribute. To a FIFO topic (`.fifo`) it is also
 * the MessageDeduplicationId, so that SNS drops a second publish of the same alert within its 5-minute window; the
 * site is the message group. Standard topics (the only kind SMS and email can subscribe to) deduplicate nothing:
 * docs/alerts.md says when a duplicate can still happen.
 */
export class SnsNotifier implements Notifier {
  readonly #topics: Readonly<Record<Exclude<Severity, 'info'>, string>>;
  readonly #clients: ReadonlyMap<string, SNSClient>;
  readonly #smsMaxLength: number | undefined;
  readonly #timeoutMs: number;

  constructor(options: SnsNotifierOptions) {
    if (options.smsMaxLength !== undefined && !(options.smsMaxLength >= 40 && options.smsMaxLength <= SMS_MAX_CHARS))
      throw new RangeError(`smsMaxLength must be between 40 and ${SMS_MAX_CHARS}, not ${options.smsMaxLength}`);
    this.#topics = { critical: options.topics.critical, warning: options.topics.warning };
    // Requests are signed for the client's region: it must be the topic's, not the function's.
    const byRegion = new Map<string | undefined, SNSClient>();
    const clientFor = (region: string | undefined): SNSClient => {
      if (options.client) return options.client;
      const client = byRegion.get(region) ?? new SNSClient({ region, maxAttempts: 1 });
      byRegion.set(region, client);
      return client;
    };
    this.#clients = new Map(Object.values(this.#topics).map((arn) => [arn, clientFor(regionOfTopicArn(arn))]));
    this.#smsMaxLength = options.smsMaxLength;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async notify(alert: AlertAction): Promise<{ detail: string; messageId?: string }> {
    if (alert.severity === 'info') return { detail: 'info alerts are recorded only' };
    if (alert.suppressed) return { detail: 'suppressed alerts are recorded only' };
    const topicArn = this.#topics[alert.severity];
    const topic = topicName(topicArn);
    const input = publishInput(alert, topicArn, { smsMaxLength: this.#smsMaxLength });
    let messageId: string | undefined;
    try {
      const output = await this.#clients
        .get(topicArn)!
        .send(new PublishCommand(input), { abortSignal: AbortSignal.timeout(this.#timeoutMs) });
      messageId = output.MessageId;
    } catch (error) {
      throw publishError(error, alert, topicArn);
    }
    return messageId
      ? { detail: `published to ${topic} as ${messageId}`, messageId }
      : { detail: `published to ${topic} (no message id returned)` };
  }
}

/** The Publish request of one alert: what the adapter sends, exposed for previews and tests. */
export function publishInput(
  alert: AlertAction,
  topicArn: string,
  options: { smsMaxLength?: number | undefined } = {},
): PublishCommand['input'] {
  const texts = alertTexts(alert, options.smsMaxLength === undefined ? {} : { smsMaxLength: options.smsMaxLength });
  const attributes = messageAttributes(alert);
  const message = fitMessage(texts, MAX_PUBLISH_BYTES - attributeBytes(attributes) - 1024);
  return {
    TopicArn: topicArn,
    MessageStructure: 'json',
    Subject: texts.subject,
    Message: JSON.stringify({ default: texts.default, email: message.email, sms: texts.sms }),
    MessageAttributes: attributes,
    ...(isFifoTopic(topicArn)
      ? { MessageGroupId: alert.site, MessageDeduplicationId: deduplicationId(alertIdOf(alert)) }
      : {}),
  };
}

/** Whether the topic is a FIFO topic, which deduplicates on MessageDeduplicationId for 5 minutes. */
export function isFifoTopic(arn: string): boolean {
  return arn.endsWith('.fifo');
}

/** SNS takes at most 128 characters (letters, digits, punctuation); a longer id is replaced by its SHA-256. */
function deduplicationId(alertId: string): string {
  return alertId.length <= 128 ? alertId : createHash('sha256').update(alertId).digest('hex');
}

/** String attributes subscribers can filter on; SNS refuses an empty value, so a missing incident is left out. */
function messageAttributes(alert: AlertAction): Record<string, MessageAttributeValue> {
  const values: Record<string, string | null> = {
    alertId: alertIdOf(alert),
    dedupKey: alert.dedupKey,
    site: alert.site,
    severity: alert.severity,
    event: alert.event,
    incidentId: alert.incidentId,
  };
  return Object.fromEntries(
    Object.entries(values)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length > 0)
      .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  return Object.entries(attributes).reduce(
    (sum, [name, a]) => sum + bytes(name) + bytes(a.DataType ?? '') + bytes(a.StringValue ?? ''),
    0,
  );
}

/** Shortens the email's story (never its header or footer) until the whole JSON message fits in `budget` bytes. */
function fitMessage(texts: AlertTexts, budget: number): AlertTexts {
  const size = (email: string) => bytes(JSON.stringify({ default: texts.default, email, sms: texts.sms }));
  if (size(texts.email) <= budget) return texts;
  const footerAt = texts.email.lastIndexOf('\n--\n');
  const story = texts.email.slice(0, footerAt);
  const footer = texts.email.slice(footerAt);
  let keep = story.length;
  let email = texts.email;
  while (keep > 0 && size(email) > budget) {
    keep = Math.max(0, keep - Math.max(1024, size(email) - budget));
    const cut = story.length - keep;
    email = `${story.slice(0, keep)}\n\n[${cut} more characters cut: SNS messages are limited to 256 KB]${footer}`;
  }
  return { ...texts, email };
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** `eu-west-1` from `arn:aws:sns:eu-west-1:123456789012:failover-critical`. */
export function regionOfTopicArn(arn: string): string | undefined {
  return /^arn:[^:]+:sns:([a-z0-9-]+):/.exec(arn)?.[1];
}

function topicName(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1) || arn;
}

/** Error names (without any "Exception" suffix) for which another try later may succeed. */
// SNS's own "try later" names, beside the common ones (sdk-errors.ts); credentials and the clock are refreshed before
// the next try, so those errors are worth one too.
const RETRY_LATER = [
  'Throttled',
  'ThrottledException',
  'KMSThrottling',
  'KMSThrottlingException',
  'InternalErrorException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'RequestTimeTooSkewed',
  'AbortError',
];

/** Why SNS refused, in words that say what to fix; keyed by error name without the "Exception" suffix. */
const REJECTIONS: Record<string, (topic: string) => string> = {
  AuthorizationError: (t) => `not allowed to publish to ${t} (check sns:Publish in the role and the topic policy)`,
  NotFound: (t) => `topic ${t} does not exist (check the configured topic ARN and its region)`,
  InvalidParameter: () => 'SNS refused a parameter of the message',
  InvalidParameterValue: () => 'SNS refused a parameter value of the message',
  Validation: () => 'SNS refused the request as invalid',
  InvalidSecurity: () => 'the request was not signed with SigV4 over HTTPS',
  KMSAccessDenied: (t) => `the topic ${t} is encrypted with a KMS key this role may not use`,
  KMSDisabled: (t) => `the KMS key of topic ${t} is disabled`,
  KMSInvalidState: (t) => `the KMS key of topic ${t} is not in a usable state`,
  KMSNotFound: (t) => `the KMS key of topic ${t} does not exist`,
  KMSOptInRequired: () => 'the account is not subscribed to AWS KMS',
};

function publishError(error: unknown, alert: AlertAction, topicArn: string): FailoverError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as AwsErrorShape;
  const name = typeof e.name === 'string' ? e.name.replace(/Exception$/, '') : '';
  const said = typeof e.message === 'string' && e.message ? e.message : String(error);
  const prefix = `alert ${alert.dedupKey} not published to ${topicName(topicArn)}`;
  const rejection = REJECTIONS[name];
  if (rejection) return new AlertRejectedError(`${prefix}: ${rejection(topicArn)}: ${said}`, { cause: error });
  const transient = isTransientAwsError(error, RETRY_LATER);
  const label = name ? `${name}: ${said}` : said;
  return transient
    ? new TransientError(`${prefix}: ${label}`, { cause: error })
    : new AlertRejectedError(`${prefix}: ${label}`, { cause: error });
}
