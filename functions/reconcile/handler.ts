import { Route53Client } from '@aws-sdk/client-route-53';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { DynamoDbHistoryStore } from '../../shared/adapters/aws/dynamodb-history-store.ts';
import { createDocumentClient, DynamoDbStateStore } from '../../shared/adapters/aws/dynamodb-state-store.ts';
import { Route53DnsRouter } from '../../shared/adapters/aws/route53-dns-router.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { foldHistory } from '../../shared/usecases/history/fold-history.ts';
import { reconcileDns, type ReconcileDnsDeps, type ReconcileDnsOutput } from '../../shared/usecases/reconcile-dns.ts';
import { bundledConfig, logger, metrics, requiredEnv } from '../shared/runtime.ts';
import { PacedDnsRouter, RECONCILE_READS_PER_SECOND } from './paced-dns-router.ts';
import { reportReconciliation, type ScheduledReconcileEvent } from './report.ts';

// A sweep is not on the failover path and nothing else retries it: the SDK's own retries (standard mode, which
// backs off on Throttling and PriorRequestNotComplete), with each request bounded.
const RETRYING_BOUNDED = {
  maxAttempts: 5,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
};

// The validated sites.yaml, as compact JSON in the bundle (failover-config.json; see bundledConfig).
const config = bundledConfig();
const tableName = requiredEnv('STATE_TABLE_NAME');
const client = createDocumentClient();
const history = new DynamoDbHistoryStore({ tableName, client });
const deps: ReconcileDnsDeps = {
  config,
  store: new DynamoDbStateStore({ tableName, client }),
  clock: systemClock,
  // Only record-swap records are reconciled: Route 53 answers health-check-gated ones by health, not by our writes.
  dns: new PacedDnsRouter(
    new Route53DnsRouter({ client: new Route53Client({ region: 'us-east-1', ...RETRYING_BOUNDED }) }),
    { minIntervalMs: 1000 / RECONCILE_READS_PER_SECOND },
  ),
};

/**
 * Every five minutes (EventBridge Scheduler): compares each managed DNS record with its site's state. A record-swap
 * record answering something else gets a `dns-drift` transition and a repair action through the outbox (the
 * dispatcher applies it). Health-check-gated records are Route 53's to answer, by health: they are not swept.
 * Alongside, folds the sites' finished hours and days of history (foldHistory); a failed fold waits for the next run.
 */
export const handler = middy<ScheduledReconcileEvent, ReconcileDnsOutput>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    // Folded whatever the reconciliation does: a failing DNS read must not stall the history.
    const folding = foldHistory({ config, history, clock: systemClock }).then(
      (folded) => {
        for (const f of folded.failed)
          logger.error('history not folded; the next run tries again', { site: f.site, error: f.error });
        logger.info('history folded', { hours: folded.hours, days: folded.days, failed: folded.failed.length });
      },
      (error: unknown) => logger.error('history fold failed; the next run tries again', { error }),
    );
    try {
      const output = await reconcileDns(deps, { strategies: ['record-swap'] });
      reportReconciliation(output, event);
      return output;
    } catch (error) {
      logger.error('reconciliation failed; the next run tries again', { error });
      throw error;
    } finally {
      await folding;
    }
  });
