import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { DnsChangeMessage } from '../../shared/contracts/dns-change.ts';
import type { WantedDnsChange } from '../../shared/domain/dns-batch.ts';
import {
  writeDnsChanges,
  type DnsWriteEvent,
  type WriteDnsChangesDeps,
} from '../../shared/usecases/write-dns-changes.ts';
import type { ReturnSoon } from '../decide/decide-records.ts';
import { logger, metrics } from '../shared/runtime.ts';

/**
 * Writes one SQS FIFO batch of wanted DNS states (writeDnsChanges) and answers with the messages to receive again:
 * per message group (hosted zone), every message from the first one not yet written on, so that a zone's wanted
 * states keep their order; they go through `returnSoon` first, so that the zone waits seconds for its next try, not
 * the queue's visibility timeout. An unreadable message is logged, counted (`InvalidMessages`) and dropped.
 */
export async function writeDnsRecords(
  deps: WriteDnsChangesDeps,
  records: readonly SQSRecord[],
  deadline: number,
  returnSoon?: ReturnSoon,
): Promise<SQSBatchResponse> {
  const changes: { record: SQSRecord; change: WantedDnsChange }[] = [];
  let invalid = 0;
  for (const record of records) {
    const parsed = DnsChangeMessage.safeParse(safeJson(record.body));
    if (!parsed.success) {
      invalid++;
      logger.error('dns change dropped: unreadable', {
        messageId: record.messageId,
        issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 5),
      });
      continue;
    }
    const { v: _v, ...change } = parsed.data;
    changes.push({ record, change });
  }
  const output = await writeDnsChanges(deps, { changes: changes.map((c) => c.change), deadline });

  const pending = new Set(output.pending.map((c) => c.id));
  const stalledGroups = new Set<string>();
  const returned: SQSRecord[] = [];
  for (const { record, change } of changes) {
    const group = record.attributes.MessageGroupId ?? change.hostedZoneId;
    if (pending.has(change.id)) stalledGroups.add(group);
    if (stalledGroups.has(group)) returned.push(record);
  }
  if (returnSoon && returned.length > 0) {
    const soon = await returnSoon(returned);
    for (const r of soon.refused) logger.warn('visibility not shortened', { messageId: r.messageId, reason: r.reason });
  }
  const failures: SQSBatchItemFailure[] = returned.map((r) => ({ itemIdentifier: r.messageId }));
  const now = deps.clock.now();
  for (const change of output.applied) metrics.addMetric('DnsChangeLatency', MetricUnit.Milliseconds, now - change.at);
  metrics.addMetric('DnsChangesWritten', MetricUnit.Count, output.applied.length + output.superseded.length);
  metrics.addMetric('DnsWriteRequests', MetricUnit.Count, output.requests);
  if (output.pending.length > 0) metrics.addMetric('DnsChangesPending', MetricUnit.Count, output.pending.length);
  if (output.rejected.length > 0) metrics.addMetric('DnsChangesRejected', MetricUnit.Count, output.rejected.length);
  if (invalid > 0) metrics.addMetric('InvalidMessages', MetricUnit.Count, invalid);
  logger.info('dns changes written', {
    messages: records.length,
    applied: output.applied.length,
    superseded: output.superseded.length,
    pending: output.pending.length,
    rejected: output.rejected.length,
    invalid,
    requests: output.requests,
  });
  return { batchItemFailures: failures };
}

/** One log line per writer event: each request written, each retry, each change refused for good. */
export function dnsWriteReporter(event: DnsWriteEvent): void {
  switch (event.type) {
    case 'written':
      logger.info('dns batch written', {
        hostedZoneId: event.hostedZoneId,
        records: event.changes.map((c) => `${c.name} ${c.type} -> ${c.link}`),
        changeId: event.changeId,
        status: event.status,
        attempts: event.attempts,
      });
      return;
    case 'retry':
      logger.warn('dns batch retry', { hostedZoneId: event.hostedZoneId, size: event.size, error: event.error });
      return;
    case 'rejected':
      logger.error('dns change refused; recorded as action-failed', {
        site: event.change.site,
        actionId: event.change.id,
        record: `${event.change.name} ${event.change.type}`,
        error: event.error,
      });
      return;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
