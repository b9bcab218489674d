import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { sweepCommands } from '../../shared/usecases/agent/expire-commands.ts';
import { bundledConfig, logger } from '../shared/runtime.ts';
import { cloudAgentDeps } from './runtime.ts';

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const deps = cloudAgentDeps(bundledConfig());

/** What one sweep did, for the log and the tests. */
export interface SweepOutput {
  readonly expired: number;
  readonly reported: number;
  readonly delivered: number;
  readonly failedSites: readonly string[];
}

/**
 * Every minute (EventBridge Scheduler): expires the commands past their expiry without an ack (critical alert and
 * `agent.command_failed` webhook, through the state's outbox and the dispatcher), and hands queued commands to
 * sites whose agent is connected (a delivery that failed earlier). One site's failure does not stop the others.
 */
export const handler = middy<unknown, SweepOutput>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const out = await sweepCommands(deps);
    for (const f of out.failed) logger.error('agent command sweep failed', { site: f.site, error: f.error as Error });
    const result = {
      expired: out.expired.length,
      reported: out.reported.length,
      delivered: out.delivered,
      failedSites: [...new Set(out.failed.map((f) => f.site))],
    };
    logger.info('agent command sweep', { ...result });
    return result;
  });
