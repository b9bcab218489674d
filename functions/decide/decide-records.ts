import { Buffer } from 'node:buffer';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type * as z from 'zod/mini';
import { ObservationBatch } from '../../shared/contracts/observation.ts';
import { TransientError } from '../../shared/errors.ts';
import { decideSite, type DecideSiteDeps, type DecideSiteOutput } from '../../shared/usecases/decide-site.ts';
import { logger, metrics } from '../shared/runtime.ts';
import { publishProbeMetrics, regionsReporting } from './probe-metrics.ts';
import type { ReturnSoonResult } from './return-soon.ts';

/** Makes messages about to be returned visible again sooner than the queue's visibility timeout. */
export type ReturnSoon = (records: readonly SQSRecord[]) => Promise<ReturnSoonResult>;

/** How much of an invalid message's body is logged. */
export const MAX_LOGGED_BODY_BYTES = 1024;

/** A record's body as a batch of a configured site, or why it is not one. */
export type ReadRecord = { ok: true; batch: ObservationBatch } | { ok: false; reason: string };

interface SiteWork {
  readonly records: SQSRecord[];
  readonly batches: ObservationBatch[];
}

/** Parses and validates one SQS record's body: JSON, an ObservationBatch, of a site the configuration knows. */
export function readRecord(record: SQSRecord, knownSites: ReadonlySet<string>): ReadRecord {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const parsed = ObservationBatch.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not an ObservationBatch: ${summarize(parsed.error)}` };
  if (!knownSites.has(parsed.data.site)) return { ok: false, reason: `unknown site "${parsed.data.site}"` };
  return { ok: true, batch: parsed.data };
}

/**
 * Decides one SQS batch of observation messages: invalid messages are logged, counted and dropped; the valid ones
 * are grouped by site (arrival order kept) and each site is decided once, concurrently with the others. Returns the
 * partial batch response: every message of a site whose decision failed, so that SQS delivers them again. Those of
 * a site that failed on a TransientError (and the later ones of its FIFO group) go through `returnSoon` first.
 */
export async function decideRecords(
  deps: DecideSiteDeps,
  records: readonly SQSRecord[],
  returnSoon?: ReturnSoon,
): Promise<SQSBatchResponse> {
  const siteConfigs = new Map(deps.config.sites.map((s) => [s.id, s]));
  const knownSites = new Set(siteConfigs.keys());
  const bySite = new Map<string, SiteWork>();
  let invalid = 0;
  for (const record of records) {
    const read = readRecord(record, knownSites);
    if (!read.ok) {
      invalid++;
      logger.error('invalid message dropped', {
        messageId: record.messageId,
        messageGroupId: record.attributes.MessageGroupId,
        reason: read.reason,
        body: truncate(record.body, MAX_LOGGED_BODY_BYTES),
      });
      continue;
    }
    const work = bySite.get(read.batch.site) ?? { records: [], batches: [] };
    work.records.push(record);
    work.batches.push(read.batch);
    bySite.set(read.batch.site, work);
  }

  const sites = [...bySite];
  const settled = await Promise.allSettled(
    sites.map(async ([site, work]) => {
      const out = await decideSite(deps, { site, batches: work.batches });
      return { out, decidedAt: deps.clock.now() };
    }),
  );

  const failed = new Set<string>();
  const transient = new Set<string>();
  let decisions = 0;
  let transitions = 0;
  settled.forEach((result, i) => {
    const [site, work] = sites[i]!;
    const messageIds = work.records.map((r) => r.messageId);
    if (result.status === 'rejected') {
      for (const id of messageIds) failed.add(id);
      if (result.reason instanceof TransientError) for (const id of messageIds) transient.add(id);
      logger.error('decision failed; its messages return to the queue', { site, messageIds, error: result.reason });
      return;
    }
    const { out, decidedAt } = result.value;
    decisions++;
    transitions += out.transitions.length;
    const oldest = Math.min(...work.batches.map((b) => Date.parse(b.startedAt)));
    metrics.addMetric('DecisionLatency', MetricUnit.Milliseconds, Math.max(0, decidedAt - oldest));
    // One metric for every region's heartbeat: its Minimum drops below the region count when one goes silent.
    const siteConfig = siteConfigs.get(site);
    const reporting = siteConfig && regionsReporting(siteConfig, out.state, deps.config.regions.probe, decidedAt);
    if (reporting !== undefined) metrics.addMetric('RegionsReporting', MetricUnit.Count, reporting);
    logDecision(site, work, out, decidedAt - oldest);
  });

  // Counters only when not zero: CloudWatch bills a metric for every hour it is published in. DecisionLatency's
  // SampleCount is the number of decisions; the writes are in the `decided` debug line.
  const counters = { Transitions: transitions, InvalidMessages: invalid, FailedSites: sites.length - decisions };
  for (const [name, value] of Object.entries(counters)) if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
  publishProbeMetrics(sites.flatMap(([, work]) => work.batches));
  const batchItemFailures = failuresInFifoOrder(records, failed);
  if (returnSoon && transient.size > 0) await returnTransientSoon(returnSoon, records, batchItemFailures, transient);
  return { batchItemFailures };
}

async function returnTransientSoon(
  returnSoon: ReturnSoon,
  records: readonly SQSRecord[],
  failures: readonly SQSBatchItemFailure[],
  transient: ReadonlySet<string>,
): Promise<void> {
  const failing = new Set(failures.map((f) => f.itemIdentifier));
  const groups = new Set(records.filter((r) => transient.has(r.messageId)).map((r) => r.attributes.MessageGroupId));
  const soon = records.filter(
    (r) => failing.has(r.messageId) && (transient.has(r.messageId) || groups.has(r.attributes.MessageGroupId)),
  );
  const { changed, refused } = await returnSoon(soon);
  if (refused.length > 0)
    logger.warn('visibility not shortened: these messages wait out the queue visibility timeout', { changed, refused });
  else logger.info('transient failures return within seconds', { messages: changed });
}

/**
 * The failed messages and, in FIFO order, every later message of a message group that has a failed one: SQS must
 * not see a later message of a group deleted while an earlier one returns. The probe regions use the site as the
 * group, so this is the failed sites' messages again; the rule only matters for a sender that groups otherwise.
 */
export function failuresInFifoOrder(records: readonly SQSRecord[], failed: ReadonlySet<string>): SQSBatchItemFailure[] {
  const brokenGroups = new Set<string>();
  const failures: SQSBatchItemFailure[] = [];
  for (const record of records) {
    const group = record.attributes.MessageGroupId;
    if (failed.has(record.messageId) || (group !== undefined && brokenGroups.has(group))) {
      failures.push({ itemIdentifier: record.messageId });
      if (group !== undefined) brokenGroups.add(group);
    }
  }
  return failures;
}

function logDecision(site: string, work: SiteWork, out: DecideSiteOutput, latencyMs: number): void {
  for (const t of out.transitions) {
    logger.info('transition', {
      site,
      seq: t.seq,
      kind: t.kind,
      from: t.from,
      to: t.to,
      fromLink: t.fromLink,
      toLink: t.toLink,
      suppressed: t.suppressed,
      incidentId: t.incidentId,
      summary: t.explanation.summary,
    });
  }
  logger.debug('decided', {
    site,
    batches: work.batches.length,
    transitions: out.transitions.length,
    written: out.written,
    attempts: out.attempts,
    version: out.state.version,
    latencyMs,
  });
}

function summarize(error: z.core.$ZodError): string {
  const shown = error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

function truncate(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= maxBytes ? text : `${bytes.subarray(0, maxBytes).toString('utf8')}…`;
}
