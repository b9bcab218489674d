import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { SqsObservationSink } from '../../shared/adapters/aws/sqs-observation-sink.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { probeRegion, type ProbeRegionOutput } from '../../shared/usecases/probe-region.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { probeRegionOf, recordResult, roundReporter, windowStartOf, type ScheduledProbeEvent } from './runtime.ts';

// FAILOVER_CONFIG_YAML is replaced at bundle time by the sites.yaml text (esbuild define); it is not a runtime variable.
const config = bundledConfig(process.env.FAILOVER_CONFIG_YAML);
const region = probeRegionOf(config, process.env.AWS_REGION);
const deps = {
  config,
  clock: systemClock,
  sink: new SqsObservationSink({ queueUrl: requiredEnv('OBSERVATIONS_QUEUE_URL') }),
  log: roundReporter(region),
};

/** Runs this region's probe rounds of the scheduled minute and hands their observations to the decider's queue. */
export const handler = middy<ScheduledProbeEvent, ProbeRegionOutput>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(async (event) => {
    const result = await probeRegion(deps, { region, windowStartMs: windowStartOf(event), windowMs: 60_000 });
    recordResult(result);
    return result;
  });
