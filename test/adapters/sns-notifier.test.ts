import {
  AuthorizationErrorException,
  InternalErrorException,
  InvalidParameterException,
  KMSDisabledException,
  KMSNotFoundException,
  KMSThrottlingException,
  NotFoundException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AlertRejectedError,
  MAX_PUBLISH_BYTES,
  publishInput,
  regionOfTopicArn,
  SnsNotifier,
} from '../../shared/adapters/aws/sns-notifier.ts';
import { isGsm7Basic, SMS_MAX_CHARS, SUBJECT_MAX_CHARS } from '../../shared/domain/alert-text.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import { FailoverError, TransientError } from '../../shared/errors.ts';
import { DEGRADED_ALERT, FAILOVER_ALERT } from '../support/alerts.ts';

const CRITICAL = 'arn:aws:sns:us-east-1:123456789012:failover-critical';
const WARNING = 'arn:aws:sns:us-east-1:123456789012:failover-warning';
const sns = mockClient(SNSClient);

afterEach(() => sns.reset());

const notifier = (options: { smsMaxLength?: number } = {}) =>
  new SnsNotifier({ topics: { critical: CRITICAL, warning: WARNING }, client: new SNSClient({}), ...options });
const published = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
const messageOf = (input: { Message?: string | undefined }) =>
  JSON.parse(input.Message!) as { default: string; email: string; sms: string };

/** Publishes one alert on a mock that accepts it, and returns the request SNS received. */
async function publish(alert: AlertAction, options: { smsMaxLength?: number } = {}) {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  await notifier(options).notify(alert);
  expect(published()).toHaveLength(1);
  return published()[0]!;
}

describe('SnsNotifier', () => {
  it('publishes a critical alert to the critical topic: json structure, email story, SMS line, attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: '5a1b2c3d-0000-4000-8000-000000000001' });
    const result = await notifier().notify(FAILOVER_ALERT);

    expect(result).toEqual({
      detail: 'published to failover-critical as 5a1b2c3d-0000-4000-8000-000000000001',
      messageId: '5a1b2c3d-0000-4000-8000-000000000001',
    });
    const input = published();
    expect(input).toHaveLength(1);
    expect(input[0]).toEqual({
      TopicArn: CRITICAL,
      MessageStructure: 'json',
      Subject: FAILOVER_ALERT.subject,
      Message: JSON.stringify({
        default: `${FAILOVER_ALERT.short}\nFailing over from fiber (primary) to lte (backup): fiber (primary) is down; lte (backup) is up.`,
        email: [
          'CRITICAL | failover | site demo | 2026-01-01T00:02:13.333Z',
          '',
          FAILOVER_ALERT.body,
          '',
          '--',
          'Dedup key: demo:1 (an email with the same key is a repeat of this alert, not a new event)',
          'Incident: demo.1',
        ].join('\n'),
        sms: FAILOVER_ALERT.short,
      }),
      MessageAttributes: {
        alertId: { DataType: 'String', StringValue: 'demo:1:5@2026-01-01T00:02:13.333Z' },
        dedupKey: { DataType: 'String', StringValue: 'demo:1' },
        site: { DataType: 'String', StringValue: 'demo' },
        severity: { DataType: 'String', StringValue: 'critical' },
        event: { DataType: 'String', StringValue: 'failover' },
        incidentId: { DataType: 'String', StringValue: 'demo.1' },
      },
    });
  });

  it('gives a FIFO topic the alert id as MessageDeduplicationId and the site as group; a standard topic neither', async () => {
    const fifo = 'arn:aws:sns:us-east-1:123456789012:failover-critical.fifo';
    sns.on(PublishCommand).resolves({ MessageId: 'm-1', SequenceNumber: '1' });
    const toFifo = new SnsNotifier({ topics: { critical: fifo, warning: WARNING }, client: new SNSClient({}) });
    await toFifo.notify(FAILOVER_ALERT);
    await toFifo.notify(FAILOVER_ALERT); // a dispatcher that ran again after a crash: SNS drops this one
    const [first, second] = published();
    expect(first).toMatchObject({
      TopicArn: fifo,
      MessageGroupId: 'demo',
      MessageDeduplicationId: 'demo:1:5@2026-01-01T00:02:13.333Z',
    });
    expect(second!.MessageDeduplicationId).toBe(first!.MessageDeduplicationId);
    const later = publishInput({ ...FAILOVER_ALERT, at: FAILOVER_ALERT.at + 1 }, fifo);
    expect(later.MessageDeduplicationId).not.toBe(first!.MessageDeduplicationId);
    const longSite = publishInput({ ...FAILOVER_ALERT, id: `${'s'.repeat(120)}:1:5` }, fifo);
    expect(longSite.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    const standard = publishInput(FAILOVER_ALERT, CRITICAL);
    expect(standard).not.toHaveProperty('MessageDeduplicationId');
    expect(standard).not.toHaveProperty('MessageGroupId');
  });

  it('publishes a warning alert to the warning topic', async () => {
    const input = await publish(DEGRADED_ALERT);
    expect(input.TopicArn).toBe(WARNING);
    expect(input.MessageStructure).toBe('json');
    expect(input.Subject).toBe(DEGRADED_ALERT.subject);
    const message = messageOf(input);
    expect(Object.keys(message)).toEqual(['default', 'email', 'sms']);
    expect(message.sms).toBe(DEGRADED_ALERT.short);
    expect(message.email).toContain(DEGRADED_ALERT.body);
    expect(message.email.split('\n')[0]).toBe('WARNING | degraded | site demo | 2026-01-01T00:09:00.000Z');
    expect(message.email).toMatch(/\n--\nDedup key: demo:3 .*\nIncident: demo\.3$/);
    expect(input.MessageAttributes?.severity?.StringValue).toBe('warning');
    expect(input.MessageAttributes?.event?.StringValue).toBe('degraded');
  });

  it('publishes nothing for info alerts, nor for suppressed ones', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'never' });
    const info = await notifier().notify({ ...DEGRADED_ALERT, severity: 'info', event: 'override' });
    const suppressed = await notifier().notify({ ...FAILOVER_ALERT, suppressed: true });
    expect(info).toEqual({ detail: 'info alerts are recorded only' });
    expect(suppressed).toEqual({ detail: 'suppressed alerts are recorded only' });
    expect(published()).toEqual([]);
  });

  it('leaves the incident attribute out when the alert has no incident (SNS refuses empty values)', async () => {
    const input = await publish({ ...DEGRADED_ALERT, incidentId: null });
    expect(Object.keys(input.MessageAttributes ?? {})).toEqual(['alertId', 'dedupKey', 'site', 'severity', 'event']);
    expect(messageOf(input).email).toMatch(/\nIncident: none$/);
  });

  describe('subject', () => {
    const subjectOf = async (subject: string) => (await publish({ ...FAILOVER_ALERT, subject })).Subject!;

    it.each([
      ['a newline and tabs', '[FAILOVER] Demo\noffice:\t\tfailover', '[FAILOVER] Demo office: failover'],
      ['control characters', '[FAILOVER]\u0000 Demo\u0007 office\r\n', '[FAILOVER] Demo office'],
      ['leading spaces', '   \n [ALL DOWN] hq', '[ALL DOWN] hq'],
      [
        'accents and arrows',
        '[FAILOVER] Zürich Süd: failover fiber → lte',
        '[FAILOVER] Zurich Sud: failover fiber -> lte',
      ],
      ['smart quotes and dashes', '[DEGRADED] “Büro” – Straße', '[DEGRADED] "Buro" - Strasse'],
      ['no ASCII spelling', '[FAILOVER] 東京オフィス: failover', '[FAILOVER] ?: failover'],
      ['emoji and zero-width characters', '🔥 [FAILOVER] h\u200bq', '[FAILOVER] hq'],
      ['nothing printable', '\u0000🔥\n', 'critical alert demo:1'],
    ])('is sanitized: %s', async (_, raw, expected) => {
      expect(await subjectOf(raw)).toBe(expected);
    });

    it('is cut to 99 characters with "..." at a word boundary, never mid-character', async () => {
      const subject = await subjectOf(`[FAILOVER] ${'Very long site name '.repeat(10)}: failover fiber -> lte`);
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_CHARS);
      expect(subject).toMatch(/^\[FAILOVER\] (Very long site name )+\w+\.\.\.$/);
      expect(['Very', 'long', 'site', 'name']).toContain(subject.slice(0, -3).split(' ').at(-1));

      const unbroken = await subjectOf('x'.repeat(150));
      expect(unbroken).toBe(`${'x'.repeat(96)}...`);
    });

    it.each([
      ['150 characters', `[FAILOVER] ${'a'.repeat(139)}`],
      ['newlines', 'line one\nline two\r\nline three'],
      ['non-ASCII', 'Ünïcödé ✓ 🚨 — “quotes” → arrows ½ ﬁ ™'],
      ['a mix', `\n\t  ${'é'.repeat(80)} → ${'日本'.repeat(40)}`],
    ])('always satisfies SNS: %s', async (_, raw) => {
      const subject = await subjectOf(raw);
      expect(subject.length).toBeGreaterThan(0);
      expect(subject.length).toBeLessThan(100);
      expect(subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
    });
  });

  describe('SMS', () => {
    it('stays under 140 characters with a very long site name, keeping the time at the end', async () => {
      const site = 'headquarters-and-main-distribution-centre-of-the-northern-region-building-7-floor-3'.repeat(2);
      const short = `${site} FAILOVER: failover fiber -> lte: fiber (primary) is down; lte (backup) is up (03:12Z)`;
      const { sms } = messageOf(await publish({ ...FAILOVER_ALERT, site, short }));
      expect(sms.length).toBeLessThanOrEqual(SMS_MAX_CHARS);
      expect(sms.startsWith(site.slice(0, 60))).toBe(true);
      expect(sms).toMatch(/\.\.\. \(03:12Z\)$/);
      expect(isGsm7Basic(sms)).toBe(true);
    });

    it('has no character that would force UCS-2: arrows, quotes, accents and backticks are replaced', async () => {
      const short = 'zürich FAILOVER: failover fiber → lte: “fiber” is down; `lte` {backup} [up] ~ok (03:12Z)';
      const { sms } = messageOf(await publish({ ...FAILOVER_ALERT, short }));
      expect(sms).toBe(`zurich FAILOVER: failover fiber -> lte: "fiber" is down; 'lte' (backup) (up) -ok (03:12Z)`);
      expect(isGsm7Basic(sms)).toBe(true);
    });

    it('is one line', async () => {
      const { sms } = messageOf(
        await publish({ ...FAILOVER_ALERT, short: 'demo ALL DOWN:\nno healthy link\r\n(03:12Z)' }),
      );
      expect(sms).toBe('demo ALL DOWN: no healthy link (03:12Z)');
    });

    it('leaves room for a topic display name when told to', async () => {
      const short = `demo FAILOVER: ${'failover fiber -> lte; '.repeat(8)}(03:12Z)`;
      const { sms } = messageOf(
        await publish({ ...FAILOVER_ALERT, short }, { smsMaxLength: 139 - 'FAILOVER> '.length }),
      );
      expect(sms.length).toBeLessThanOrEqual(129);
      expect(sms).toMatch(/\(03:12Z\)$/);
    });
  });

  it('refuses an SMS length that cannot hold an alert or would not fit one SMS', () => {
    expect(() => notifier({ smsMaxLength: 10 })).toThrow(/smsMaxLength must be between 40 and 139, not 10/);
    expect(() => notifier({ smsMaxLength: 160 })).toThrow(RangeError);
  });

  it('cuts an oversized story to fit the 256 KB limit, keeping the header and the footer', async () => {
    const body = `Demo office (demo) at 2026-01-01T00:02:13.333Z\n\nA summary.\n${'  vantage line with detail\n'.repeat(12_000)}`;
    const input = await publish({ ...FAILOVER_ALERT, body });
    expect(Buffer.byteLength(input.Message!, 'utf8')).toBeLessThanOrEqual(MAX_PUBLISH_BYTES - 1024);
    const { email } = messageOf(input);
    expect(email.startsWith('CRITICAL | failover | site demo |')).toBe(true);
    expect(email).toMatch(/\[\d+ more characters cut: SNS messages are limited to 256 KB\]\n--\nDedup key: demo:1 /);
    expect(email.endsWith('Incident: demo.1')).toBe(true);
  });

  it('publishInput() builds the same request without sending it', () => {
    const input = publishInput(FAILOVER_ALERT, CRITICAL);
    expect(input.TopicArn).toBe(CRITICAL);
    expect(messageOf(input).sms).toBe(FAILOVER_ALERT.short);
  });

  it('finds the region of a topic ARN', () => {
    expect(regionOfTopicArn('arn:aws:sns:eu-west-1:123456789012:failover-critical')).toBe('eu-west-1');
    expect(regionOfTopicArn('arn:aws-cn:sns:cn-north-1:123456789012:t')).toBe('cn-north-1');
    expect(regionOfTopicArn('not-an-arn')).toBeUndefined();
  });

  it('makes its own clients with one attempt each, in the region of each topic', async () => {
    const own = new SnsNotifier({
      topics: { critical: 'arn:aws:sns:eu-west-1:1:c', warning: 'arn:aws:sns:us-west-2:1:w' },
    });
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    await own.notify(FAILOVER_ALERT);
    await own.notify(DEGRADED_ALERT);
    const clients = sns.commandCalls(PublishCommand).map((c) => c.thisValue as SNSClient);
    expect(await clients[0]!.config.region()).toBe('eu-west-1');
    expect(await clients[1]!.config.region()).toBe('us-west-2');
    expect(await clients[0]!.config.maxAttempts()).toBe(1);
  });

  describe('errors', () => {
    const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
    const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
      Object.assign(new Error(message), { name, ...extra });

    it.each([
      [
        'Throttled',
        new ThrottledException({ message: 'Rate exceeded', ...meta(429) }),
        TransientError,
        /Rate exceeded/,
      ],
      ['ThrottlingException', named('ThrottlingException', 'slow down', meta(400)), TransientError, /slow down/],
      [
        'KMSThrottling',
        new KMSThrottlingException({ message: 'KMS throttled', ...meta(400) }),
        TransientError,
        /KMS throttled/,
      ],
      ['InternalError', new InternalErrorException({ message: 'oops', ...meta(500) }), TransientError, /oops/],
      ['an unknown 503', named('ServiceUnavailable', 'try later', meta(503)), TransientError, /try later/],
      ['an unknown 5xx', named('Weird', 'bad gateway', { $fault: 'server', ...meta(502) }), TransientError, /Weird/],
      [
        'a refused connection',
        named('Error', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' }),
        TransientError,
        /ECONNREFUSED/,
      ],
      [
        'a DNS failure',
        named('Error', 'getaddrinfo EAI_AGAIN sns', { code: 'EAI_AGAIN' }),
        TransientError,
        /EAI_AGAIN/,
      ],
      ['a timeout', named('TimeoutError', 'socket hang up'), TransientError, /TimeoutError/],
      ['an aborted request', named('AbortError', 'Request aborted'), TransientError, /AbortError/],
      [
        'AuthorizationError',
        new AuthorizationErrorException({ message: 'User is not authorized', ...meta(403) }),
        AlertRejectedError,
        /not allowed to publish to arn:aws:sns:us-east-1:123456789012:failover-critical \(check sns:Publish/,
      ],
      [
        'NotFound',
        new NotFoundException({ message: 'Topic does not exist', ...meta(404) }),
        AlertRejectedError,
        /topic arn:aws:sns:us-east-1:123456789012:failover-critical does not exist/,
      ],
      [
        'InvalidParameter',
        new InvalidParameterException({ message: 'Invalid parameter: Subject', ...meta(400) }),
        AlertRejectedError,
        /refused a parameter of the message: Invalid parameter: Subject/,
      ],
      [
        'KMSDisabled',
        new KMSDisabledException({ message: 'key disabled', ...meta(400) }),
        AlertRejectedError,
        /KMS key of topic .* is disabled/,
      ],
      [
        'KMSNotFound',
        new KMSNotFoundException({ message: 'no key', ...meta(400) }),
        AlertRejectedError,
        /KMS key of topic .* does not exist/,
      ],
      [
        'an unknown 4xx',
        named('SomethingNew', 'nope', { $fault: 'client', ...meta(400) }),
        AlertRejectedError,
        /SomethingNew: nope/,
      ],
      ['a bug', new TypeError('x is not a function'), AlertRejectedError, /x is not a function/],
    ])('%s becomes %O', async (_, error, type, message) => {
      sns.on(PublishCommand).rejects(error);
      const failure = await notifier()
        .notify(FAILOVER_ALERT)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(failure).toBeInstanceOf(type);
      expect(failure).toBeInstanceOf(FailoverError);
      const e = failure as FailoverError;
      expect(e.code).toBe(type === TransientError ? 'TRANSIENT' : 'ALERT_REJECTED');
      expect(e.message).toMatch(/^alert demo:1 not published to failover-critical: /);
      expect(e.message).toMatch(message);
      expect(e.cause).toBe(error);
      if (type === AlertRejectedError) expect(e).not.toBeInstanceOf(TransientError);
    });
  });
});
