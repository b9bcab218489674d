import type { ObservationBatch } from '../contracts/observation.ts';

/** Where a vantage hands its observations on: the decider's queue in the cloud, the decider itself locally. */
export interface ObservationSink {
  /** Delivers every batch or throws; delivering a batch twice is harmless (batches are keyed by vantage and round). */
  publish(batches: readonly ObservationBatch[]): Promise<void>;
}
