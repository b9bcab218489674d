import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBBatchItemFailure, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { keys, TABLE } from '../../shared/adapters/aws/table.ts';
import type { Action } from '../../shared/domain/model.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { dispatchSite, type DispatchDeps, type DispatchEvent } from '../../shared/usecases/dispatch.ts';
import { dispatchExclusively, type DispatchExclusivelyDeps } from '../../shared/usecases/dispatch-exclusively.ts';
import { logger, metrics } from '../shared/runtime.ts';

const SITE_KEY_PREFIX = keys.site('');

/** The site of a stream record of the state table, from its `pk` key (`SITE#<id>`); undefined for anything else. */
export function siteOfRecord(record: DynamoDBRecord): string | undefined {
  const pk = record.dynamodb?.Keys?.[TABLE.partitionKey]?.S;
  if (pk === undefined || !pk.startsWith(SITE_KEY_PREFIX)) return undefined;
  const site = pk.slice(SITE_KEY_PREFIX.length);
  return site === '' ? undefined : site;
}

/**
 * Dispatches the sites named by one batch of state-table stream records: each record only says "this site has
 * pending actions", so every site is dispatched once, from its current state, concurrently with the others.
 * Returns the partial batch response: the records of sites whose dispatch failed (the store was unavailable, ...),
 * by sequence number, so that Lambda retries from the first of them. Actions given up are not failures here:
 * dispatchSite has recorded them as `action-failed` transitions.
 */
export async function dispatchRecords(
  deps: DispatchDeps | DispatchExclusivelyDeps,
  records: readonly DynamoDBRecord[],
): Promise<DynamoDBBatchResponse> {
  const knownSites = new Set(deps.config.sites.map((s) => s.id));
  const bySite = new Map<string, DynamoDBRecord[]>();
  for (const record of records) {
    const site = siteOfRecord(record);
    if (site === undefined || !knownSites.has(site)) {
      logger.warn('stream record ignored', {
        eventId: record.eventID,
        sequenceNumber: record.dynamodb?.SequenceNumber,
        key: record.dynamodb?.Keys?.[TABLE.partitionKey]?.S,
        reason: site === undefined ? 'not a site item' : `site "${site}" is not configured`,
      });
      continue;
    }
    bySite.set(site, [...(bySite.get(site) ?? []), record]);
  }

  const sites = [...bySite];
  // With two control regions both dispatchers get every record; the site's lease picks the one that applies it.
  const dispatch = (site: string) =>
    'lease' in deps
      ? dispatchExclusively(deps, { site }).then((out) => {
          if (out.heldElsewhere) logger.debug('site dispatched by the other control region', { site });
          return out;
        })
      : dispatchSite(deps, { site });
  const settled = await Promise.allSettled(sites.map(([site]) => dispatch(site)));

  const failed = new Set<DynamoDBRecord>();
  let applied = 0;
  let skipped = 0;
  let givenUp = 0;
  settled.forEach((result, i) => {
    const [site, siteRecords] = sites[i]!;
    if (result.status === 'rejected') {
      for (const record of siteRecords) failed.add(record);
      logger.error('dispatch failed; the stream retries its records', {
        site,
        sequenceNumbers: siteRecords.map((r) => r.dynamodb?.SequenceNumber),
        error: result.reason,
      });
      return;
    }
    applied += result.value.applied.length;
    skipped += result.value.skipped.length;
    givenUp += result.value.failed.length;
  });

  metrics.addMetric('ActionsApplied', MetricUnit.Count, applied);
  metrics.addMetric('ActionsSkipped', MetricUnit.Count, skipped);
  metrics.addMetric('ActionsFailed', MetricUnit.Count, givenUp);
  metrics.addMetric('FailedSites', MetricUnit.Count, settled.filter((r) => r.status === 'rejected').length);
  return { batchItemFailures: failuresInStreamOrder(records, failed) };
}

/**
 * The failed records, in stream order, by sequence number. Lambda retries a stream batch from the lowest sequence
 * number reported, so the later records of other sites are delivered again too: harmless, as dispatching is
 * idempotent and a drained site has nothing pending.
 */
export function failuresInStreamOrder(
  records: readonly DynamoDBRecord[],
  failed: ReadonlySet<DynamoDBRecord>,
): DynamoDBBatchItemFailure[] {
  return records
    .filter((r) => failed.has(r) && r.dynamodb?.SequenceNumber !== undefined)
    .map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! }));
}

/**
 * One structured log line per dispatch event (`action applied`, `action skipped`, `action retry`, `action given
 * up`) and, per applied action, its latency from the decision (`action.at`) in the `ActionLatency` metric.
 */
export function dispatchReporter(clock: Clock): (event: DispatchEvent) => void {
  return (event) => {
    const fields = { event: event.type, ...describeAction(event.action) };
    switch (event.type) {
      case 'applied': {
        const latencyMs = Math.max(0, clock.now() - event.action.at);
        metrics.addMetric('ActionLatency', MetricUnit.Milliseconds, latencyMs);
        logger.info('action applied', { ...fields, attempts: event.attempts, latencyMs, detail: event.detail });
        return;
      }
      case 'skipped':
        logger.info('action skipped', { ...fields, reason: event.reason });
        return;
      case 'retry':
        logger.warn('action retry', { ...fields, attempt: event.attempt, delayMs: event.delayMs, error: event.error });
        return;
      case 'dead-letter':
        logger.error('action given up', { ...fields, attempts: event.attempts, error: event.error });
        return;
    }
  };
}

/** The fields of an action worth a log line: never an alert's body or a webhook's payload. */
function describeAction(action: Action): Record<string, unknown> {
  const base = { site: action.site, actionId: action.id, kind: action.kind, seq: action.seq };
  switch (action.kind) {
    case 'dns':
      return { ...base, record: `${action.name} ${action.type}`, link: action.link, strategy: action.strategy };
    case 'alert':
      return { ...base, severity: action.severity, alertEvent: action.event, dedupKey: action.dedupKey };
    case 'agent-command':
      return { ...base, command: action.command, link: action.link };
    case 'webhook':
      return { ...base, webhookEvent: action.event, incidentId: action.incidentId };
    case 'history':
      return base;
  }
}
