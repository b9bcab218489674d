import type { DeliveryQueue, DeliveryTicket } from '../../ports/webhook-store.ts';
import { deliverWebhook, type DeliverDeps, type DeliverOutcome } from './deliver-webhook.ts';

export interface LocalWebhookDeliveryDeps extends Omit<DeliverDeps, 'queue'> {
  /** Told about a ticket that failed (the store unavailable...); it is tried again a minute later. */
  readonly onError?: (error: unknown, ticket: DeliveryTicket) => void;
  /** Told about every ticket handled. */
  readonly onOutcome?: (outcome: DeliverOutcome, ticket: DeliveryTicket) => void;
  /** Wait before a ticket that failed is tried again. @default 60 000 */
  readonly errorRetryMs?: number;
}

/** The local runtime's delivery scheduler. */
export interface LocalWebhookDelivery {
  /** The queue to give publishWebhookEvent (webhookHandler). */
  readonly queue: DeliveryQueue;
  /** Queues every delivery still pending in the store (left by an earlier run); returns how many. */
  resume(): Promise<number>;
  /** Resolves when no attempt is in flight (scheduled ones may still be waiting). */
  idle(): Promise<void>;
  /** Cancels waiting timers and waits for attempts in flight. Pending deliveries stay pending in the store. */
  close(): Promise<void>;
}

/**
 * In-process timers in place of the cloud's SQS queue, driving the same use case (deliverWebhook): each ticket
 * waits until its `notBefore`, then makes its attempt, which queues the next one when it fails. Timers do not keep
 * the process alive.
 */
export function startLocalWebhookDelivery(deps: LocalWebhookDeliveryDeps): LocalWebhookDelivery {
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const run = (ticket: DeliveryTicket): void => {
    const work = deliverWebhook({ ...deps, queue }, ticket)
      .then((outcome) => {
        deps.onOutcome?.(outcome, ticket);
        // Claimed by another attempt: look again once its lease is over (the ticket is likely stale by then).
        if (outcome.type === 'busy') schedule(ticket, outcome.retryAt - deps.clock.now() + 100);
      })
      .catch((error: unknown) => {
        deps.onError?.(error, ticket);
        schedule(ticket, deps.errorRetryMs ?? 60_000);
      });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const schedule = (ticket: DeliveryTicket, delayMs: number): void => {
    if (closed) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        run(ticket);
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    timers.add(timer);
  };
  const queue: DeliveryQueue = {
    enqueue: async (ticket) => schedule(ticket, ticket.notBefore - deps.clock.now()),
  };

  return {
    queue,
    async resume() {
      let count = 0;
      for (const subscription of await deps.store.listSubscriptions()) {
        let cursor: string | undefined;
        do {
          const page = await deps.store.listDeliveries(subscription.id, {
            status: 'pending',
            ...(cursor ? { cursor } : {}),
          });
          for (const d of page.items) {
            count++;
            await queue.enqueue({
              subscriptionId: d.subscriptionId,
              deliveryId: d.id,
              attempt: d.scheduledAttempts,
              notBefore: d.nextAttemptAt ?? deps.clock.now(),
            });
          }
          cursor = page.cursor;
        } while (cursor);
      }
      return count;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
