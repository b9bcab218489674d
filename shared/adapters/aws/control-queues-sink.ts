import type { ObservationBatch } from '../../contracts/observation.ts';
import type { ObservationSink } from '../../ports/observation-sink.ts';
import { ObservationsNotDeliveredError } from './errors.ts';

/** One control region's queue, as a sink, and the name its failures are reported under. */
export interface ControlQueue {
  readonly name: string;
  readonly sink: ObservationSink;
}

/**
 * Hands every round to the observations queue of each control region at once (two with a standby), so that either
 * decider can go on alone. A batch counts as delivered when at least one queue took it: only a batch no control
 * region took raises ObservationsNotDeliveredError (FailedPublishes). A queue that missed batches others took is
 * reported to `onMiss` and the round goes on; a batch both deciders get is decided once (the state's conditional
 * write on a strongly consistent table, docs/architecture.md "Control regions").
 */
export class ControlQueuesSink implements ObservationSink {
  readonly #queues: readonly ControlQueue[];
  readonly #onMiss: (queue: string, error: unknown) => void;

  constructor(queues: readonly ControlQueue[], onMiss: (queue: string, error: unknown) => void = () => {}) {
    if (queues.length === 0) throw new RangeError('ControlQueuesSink needs at least one queue');
    this.#queues = queues;
    this.#onMiss = onMiss;
  }

  async publish(batches: readonly ObservationBatch[]): Promise<void> {
    if (this.#queues.length === 1) return this.#queues[0]!.sink.publish(batches);
    const results = await Promise.allSettled(this.#queues.map((q) => q.sink.publish(batches)));
    const all = new Set(batches.map((_, i) => i));
    let lostEverywhere: Set<number> = all;
    const reasons: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        lostEverywhere = new Set();
        return;
      }
      const error: unknown = result.reason;
      const lost = error instanceof ObservationsNotDeliveredError && error.lostBatches ? error.lostBatches : all;
      lostEverywhere = new Set([...lostEverywhere].filter((b) => lost.has(b)));
      reasons.push(`${this.#queues[i]!.name}: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (lostEverywhere.size > 0)
      throw new ObservationsNotDeliveredError(lostEverywhere.size, batches.length, reasons.join('; '), {
        lostBatches: lostEverywhere,
        cause: results.find((r) => r.status === 'rejected')?.reason,
      });
    results.forEach((result, i) => {
      if (result.status === 'rejected') this.#onMiss(this.#queues[i]!.name, result.reason);
    });
  }
}
