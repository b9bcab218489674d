import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { DeliveryTicket } from '../../shared/ports/webhook-store.ts';
import { deliverWebhook, type DeliverDeps } from '../../shared/usecases/webhooks/deliver-webhook.ts';
import { DeliveryTicketMessage } from '../../shared/adapters/aws/sqs-delivery-queue.ts';
import { logger, metrics } from '../shared/runtime.ts';

/** A ticket due within this is attempted now; a later one goes back on the queue with the remaining delay. */
export const EARLY_TOLERANCE_MS = 1_000;

/** The metric counting attempts of each outcome. */
export const ATTEMPT_METRIC = {
  ok: 'WebhookDelivered',
  retry: 'WebhookRetried',
  gone: 'WebhookGone',
  failed: 'WebhookGivenUp',
} as const;

/**
 * Handles one SQS batch of delivery tickets, concurrently. A ticket not yet due (a wait longer than SQS's 15-minute
 * delay) is sent on again with the remaining delay; a due one is one attempt (deliverWebhook), which queues the
 * next on failure. Answers with the messages to receive again: tickets whose attempt another worker holds, and
 * those that failed (the store unavailable...). An unreadable message is logged and dropped.
 */
export async function deliverRecords(deps: DeliverDeps, records: readonly SQSRecord[]): Promise<SQSBatchResponse> {
  const failures: SQSBatchItemFailure[] = [];
  await Promise.all(
    records.map(async (record) => {
      const parsed = DeliveryTicketMessage.safeParse(safeJson(record.body));
      if (!parsed.success) {
        logger.error('delivery ticket dropped: unreadable', { messageId: record.messageId });
        return;
      }
      const ticket: DeliveryTicket = parsed.data;
      try {
        if (ticket.notBefore - deps.clock.now() > EARLY_TOLERANCE_MS) {
          await deps.queue.enqueue(ticket);
          return;
        }
        const outcome = await deliverWebhook(deps, ticket);
        if (outcome.type === 'busy') failures.push({ itemIdentifier: record.messageId });
        if (outcome.type === 'attempted') {
          const { attempt, delivery } = outcome;
          metrics.addMetric(ATTEMPT_METRIC[attempt.outcome], MetricUnit.Count, 1);
          logger.info('webhook attempt', {
            delivery: delivery.id,
            subscription: delivery.subscriptionId,
            event: delivery.event,
            n: attempt.n,
            status: attempt.status,
            outcome: attempt.outcome,
            error: attempt.error,
            durationMs: attempt.durationMs,
            nextAttemptAt: delivery.nextAttemptAt,
          });
        } else {
          logger.info('delivery ticket handled without a request', { ...ticket, outcome });
        }
      } catch (error) {
        failures.push({ itemIdentifier: record.messageId });
        logger.error('delivery ticket failed; SQS delivers it again', { ...ticket, error });
      }
    }),
  );
  return { batchItemFailures: failures };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
