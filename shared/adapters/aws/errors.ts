import { FailoverError } from '../../errors.ts';

/** Some observation batches could not be handed to the decider's queue after the adapter's retries. */
export class ObservationsNotDeliveredError extends FailoverError {
  /** Batches (not messages) of which at least one part did not reach the queue. */
  readonly lost: number;
  readonly total: number;
  /** Which batches (their indexes in the published list) were lost, when the sink knows; otherwise any may be. */
  readonly lostBatches: ReadonlySet<number> | undefined;

  constructor(
    lost: number,
    total: number,
    detail: string,
    options?: { cause?: unknown; lostBatches?: ReadonlySet<number> },
  ) {
    super('OBSERVATIONS_NOT_DELIVERED', `${lost} of ${total} observation batch(es) not delivered: ${detail}`, options);
    this.name = 'ObservationsNotDeliveredError';
    this.lost = lost;
    this.total = total;
    this.lostBatches = options?.lostBatches;
  }
}

/** Some of a round's link health samples could not be put to CloudWatch in the probe region. */
export class LinkHealthNotPublishedError extends FailoverError {
  readonly lost: number;
  readonly total: number;

  constructor(lost: number, total: number, detail: string, options?: { cause?: unknown }) {
    super('LINK_HEALTH_NOT_PUBLISHED', `${lost} of ${total} link health sample(s) not published: ${detail}`, options);
    this.name = 'LinkHealthNotPublishedError';
    this.lost = lost;
    this.total = total;
  }
}
