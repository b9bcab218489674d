import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse } from 'aws-lambda';
import { CloudWatchLinkHealthSink } from '../../shared/adapters/aws/cloudwatch-link-health-sink.ts';
import { SqsObservationSink } from '../../shared/adapters/aws/sqs-observation-sink.ts';
import { ControlQueuesSink } from '../../shared/adapters/aws/control-queues-sink.ts';
import { dataPlaneLinksOf } from '../../shared/config/data-plane.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { bundledConfig, failStart, logger, requiredEnv } from '../shared/runtime.ts';
import {
  isQueueEvent,
  probeRegionOf,
  publishMetricsIfAny,
  roundReporter,
  runTickets,
  tick,
  type ProbeEvent,
  type TickResult,
} from './runtime.ts';
import { SqsRoundQueue } from '../../shared/adapters/aws/sqs-round-queue.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const config = bundledConfig();
const region = probeRegionOf(config, process.env.AWS_REGION);
const deps = {
  config,
  clock: systemClock,
  sink: controlQueuesSink(),
  queue: new SqsRoundQueue({ queueUrl: requiredEnv('ROUNDS_QUEUE_URL') }),
  // This region's own word on each data-plane link, put to CloudWatch here: DNS failover needs no control region.
  ...(dataPlaneLinksOf(config).length > 0 ? { health: new CloudWatchLinkHealthSink() } : {}),
  log: roundReporter(region),
};

/**
 * The control regions' observations queues: the primary's, and the standby's when there is one. Each queue's region
 * is the configuration's (requests are signed for it; an emulator's queue URL names no region). A round counts as
 * published when every batch reached at least one of them; a queue that missed some is a warning.
 */
function controlQueuesSink(): ControlQueuesSink {
  const standbyUrl = process.env.STANDBY_OBSERVATIONS_QUEUE_URL;
  if (standbyUrl && !config.regions.standby)
    throw failStart('STANDBY_OBSERVATIONS_QUEUE_URL is set, but the configuration names no standby control region');
  const queues = [
    { queueUrl: requiredEnv('OBSERVATIONS_QUEUE_URL'), region: config.regions.control },
    ...(standbyUrl && config.regions.standby ? [{ queueUrl: standbyUrl, region: config.regions.standby }] : []),
  ];
  return new ControlQueuesSink(
    queues.map((q) => ({ name: q.queueUrl, sink: new SqsObservationSink(q) })),
    (queueUrl, error) => logger.warn('observations missed one control region', { region, queueUrl, error }),
  );
}

/**
 * Two entry points, one function: the every-minute tick queues a delayed ticket per round of the next minute, and
 * each ticket, delivered by the round queue when its round is due, runs that round, hands its observations to
 * the decider's queue and puts its health of the data-plane links to CloudWatch in this region. No invocation waits
 * for a round.
 */
export const handler = middy<ProbeEvent, TickResult | SQSBatchResponse>()
  .use(injectLambdaContext(logger))
  .use(publishMetricsIfAny())
  .handler((event) => (isQueueEvent(event) ? runTickets(deps, region, event.Records) : tick(deps, region, event)));
