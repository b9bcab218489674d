import { Route53Client } from '@aws-sdk/client-route-53';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { DynamoDbRateBudget } from '../../shared/adapters/aws/dynamodb-rate-budget.ts';
import { DynamoDbReconcileCursorStore } from '../../shared/adapters/aws/dynamodb-reconcile-cursor.ts';
import { Route53ZoneWriter } from '../../shared/adapters/aws/route53-zone-writer.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { foldHistory } from '../../shared/usecases/history/fold-history.ts';
import {
  reconcileZones,
  STANDBY_DEFERS_MS,
  type ReconcileZonesDeps,
  type ReconcileZonesOutput,
} from '../../shared/usecases/reconcile-zones.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { reportReconciliation, type ScheduledReconcileEvent } from './report.ts';

// One try per page (each takes a token of the shared budget; SDK retries would not): a failed page ends the sweep,
// and the next one resumes there.
const ONE_BOUNDED_TRY = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
};
/** Time a sweep keeps for itself at the end of the invocation (the fold, the last commits). */
export const RECONCILE_RESERVE_MS = 20_000;

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const config = bundledConfig();
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
const history = new DynamoDbHistoryStore({ tableName, client });
// Only record-swap records are reconciled: Route 53 answers health-check-gated ones by health, not by our writes.
const deps: ReconcileZonesDeps = {
  config,
  store: new DynamoDbStateStore({ tableName, client }),
  clock: systemClock,
  zones: new Route53ZoneWriter({ client: new Route53Client({ region: 'us-east-1', ...ONE_BOUNDED_TRY }) }),
  budget: new DynamoDbRateBudget({ tableName, client }),
  cursor: new DynamoDbReconcileCursorStore({ tableName, client }),
};
// Two control regions: both reconcilers read the one global table (its cursor and Route 53 budget items); the
// standby's sweeps only while the primary's has not saved the cursor for STANDBY_DEFERS_MS (it is down or failing).
const standby = config.regions.standby !== undefined && process.env.AWS_REGION === config.regions.standby;

/**
 * Every five minutes (EventBridge Scheduler): pages the record-swap zones (reconcileZones), from where the last
 * sweep stopped, and compares each managed record with its site's state. A record answering something else gets a
 * `dns-drift` transition and a repair action through the outbox (the dispatcher hands it to the DNS writer).
 * Health-check-gated records are Route 53's to answer, by health: they are not swept.
 * Alongside, folds the sites' finished hours and days of history (foldHistory); a failed fold waits for the next run.
 */
export const handler = middy<ScheduledReconcileEvent, ReconcileZonesOutput>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    const fold = () =>
      foldHistory({ config, history, clock: systemClock }).then(
        (folded) => {
          for (const f of folded.failed)
            logger.error('history not folded; the next run tries again', { site: f.site, error: f.error });
          logger.info('history folded', { hours: folded.hours, days: folded.days, failed: folded.failed.length });
        },
        (error: unknown) => logger.error('history fold failed; the next run tries again', { error }),
      );
    // Folded whatever the reconciliation does: a failing DNS read must not stall the history. The standby folds
    // only in the sweeps it does not leave to the primary.
    let folding = standby ? undefined : fold();
    try {
      const deadline = Date.now() + context.getRemainingTimeInMillis() - RECONCILE_RESERVE_MS;
      const output = await reconcileZones(deps, {
        deadline,
        ...(standby ? { deferToSweepsWithinMs: STANDBY_DEFERS_MS } : {}),
      });
      if (output.deferred) {
        logger.info('reconcile left to the primary control region: it saved the cursor recently', {
          scheduledTime: event.scheduledTime,
        });
        return output;
      }
      folding ??= fold();
      reportReconciliation(output, event);
      return output;
    } catch (error) {
      logger.error('reconciliation failed; the next run tries again', { error });
      throw error;
    } finally {
      await folding;
    }
  });
