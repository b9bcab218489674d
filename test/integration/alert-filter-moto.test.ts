import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../shared/adapters/aws/sns-notifier.ts';
import type { BrakeEngagement } from '../../shared/domain/brake.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import { releaseAlert } from '../../shared/usecases/operator/brake.ts';
import { AlertTopics } from '../../infra/constructs/alert-topics.ts';
import { FAILOVER_ALERT } from '../support/alerts.ts';
import { peersRequired } from '../support/dynamodb-local.ts';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto.ts';

// The filter policies AlertTopics synthesizes, on a real SNS emulator (moto_server): a contact who serves hq only
// gets hq's failover and the fleet's brake alerts (carried by another site), not another site's failover.
const REGION = 'eu-west-1';
const LOCAL = { accessKeyId: 'local', secretAccessKey: 'local' };
const moto = await motoAvailable();
let server: MotoServer;
let sns: SNSClient;
let sqs: SQSClient;
let notifier: SnsNotifier;
const inboxes: Record<'everyone' | 'hqOnly', string> = { everyone: '', hqOnly: '' };

/** The critical topic's subscriptions' filter policies as CDK synthesizes them, by endpoint. */
function synthesizedPolicies(): Map<string, unknown> {
  const stack = new Stack(new App(), 'Alerts', { env: { region: REGION } });
  new AlertTopics(stack, 'Alerts', {
    contacts: [
      { name: 'noc', email: 'noc@example.com', severities: ['critical'] },
      { name: 'hq-lead', email: 'hq-lead@example.com', severities: ['critical'], sites: ['hq'] },
    ],
  });
  const subs = Object.values(Template.fromStack(stack).findResources('AWS::SNS::Subscription'));
  return new Map(subs.map((r) => [r.Properties.Endpoint as string, r.Properties.FilterPolicy]));
}

beforeAll(async () => {
  if (!moto) return;
  server = await startMoto();
  sns = new SNSClient({ endpoint: server.endpoint, region: REGION, credentials: LOCAL });
  sqs = new SQSClient({ endpoint: server.endpoint, region: REGION, credentials: LOCAL });
  const critical = (await sns.send(new CreateTopicCommand({ Name: 'failover-critical' }))).TopicArn!;
  const warning = (await sns.send(new CreateTopicCommand({ Name: 'failover-warning' }))).TopicArn!;
  const policies = synthesizedPolicies();
  expect(policies.get('noc@example.com')).toBeUndefined();
  for (const [name, endpoint] of [
    ['everyone', 'noc@example.com'],
    ['hqOnly', 'hq-lead@example.com'],
  ] as const) {
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: `inbox-${name}` }))).QueueUrl!;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const policy = policies.get(endpoint);
    await sns.send(
      new SubscribeCommand({
        TopicArn: critical,
        Protocol: 'sqs',
        Endpoint: Attributes!.QueueArn!,
        // Email cannot be read back here: an SQS queue stands in for the inbox, with the same filter policy.
        ...(policy ? { Attributes: { FilterPolicy: JSON.stringify(policy) } } : {}),
      }),
    );
    inboxes[name] = url;
  }
  notifier = new SnsNotifier({ topics: { critical, warning }, client: sns });
}, 120_000);
afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await server?.close();
});

/** The dedup keys of every message in the queue. */
async function received(url: string): Promise<string[]> {
  const keys: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return keys.sort();
    for (const m of Messages) {
      const envelope = JSON.parse(m.Body!) as { MessageAttributes: Record<string, { Value: string }> };
      keys.push(envelope.MessageAttributes.dedupKey!.Value);
    }
  }
}

describe.skipIf(!moto && !peersRequired)('alert filter policies on SNS (moto_server)', () => {
  it("delivers the brake alerts to a contact filtered on other sites, and not the other sites' failovers", async () => {
    const engagement: BrakeEngagement = { id: 'brake-2026-01-01T00:03:00.000Z', since: 0, announcer: 'store-7' };
    const brake: AlertAction = {
      ...FAILOVER_ALERT,
      id: 'store-7:4:2',
      site: 'store-7',
      event: 'failover-held',
      dedupKey: engagement.id,
      incidentId: null,
      subject: '[BRAKE] automatic failovers held: 2 of 10 sites in 15 min',
    };
    const release = releaseAlert(
      engagement,
      { engagement: engagement.id, by: 'alice', reason: 'checked', at: 60_000, until: 960_000 },
      2,
      10,
    );
    const hq: AlertAction = { ...FAILOVER_ALERT, id: 'hq:1:5', site: 'hq', dedupKey: 'hq:1' };
    const store7: AlertAction = { ...FAILOVER_ALERT, id: 'store-7:1:5', site: 'store-7', dedupKey: 'store-7:1' };
    for (const alert of [brake, release, hq, store7]) await notifier.notify(alert);

    expect(await received(inboxes.everyone)).toEqual([engagement.id, `${engagement.id}:released`, 'hq:1', 'store-7:1']);
    expect(await received(inboxes.hqOnly)).toEqual([engagement.id, `${engagement.id}:released`, 'hq:1']);
  });
});
