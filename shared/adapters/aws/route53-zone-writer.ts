import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { valueText, type WantedDnsChange } from '../../domain/dns-batch.ts';
import { normalizeRecordValue } from '../../domain/dns-values.ts';
import type { DnsZoneWriter, ListingPosition, ZonePage } from '../../ports/dns-writer.ts';
import { mapAwsError } from './route53-dns-router.ts';

/** ListResourceRecordSets returns at most 300 record sets a call. */
export const ROUTE53_LIST_PAGE_SIZE = 300;

/**
 * Route 53 as a DnsZoneWriter: one ChangeResourceRecordSets of UPSERTs per batch (transactional: all or none), and
 * ListResourceRecordSets pages of up to 300. SDK errors become TransientError or DnsChangeRejectedError
 * (mapAwsError), the SDK error as cause.
 */
export class Route53ZoneWriter implements DnsZoneWriter {
  readonly #client: Route53Client;

  /** @param client made once; the writer retries itself, so give it `maxAttempts: 1`. */
  constructor(options: { readonly client?: Route53Client } = {}) {
    this.#client = options.client ?? new Route53Client({ region: 'us-east-1', maxAttempts: 1 });
  }

  async upsert(
    hostedZoneId: string,
    changes: readonly WantedDnsChange[],
  ): Promise<{ changeId: string; status: string }> {
    const sites = [...new Set(changes.map((c) => c.site))];
    const comment = `failover: ${changes.length} record(s) of site(s) ${sites.join(', ')}`.slice(0, 256);
    try {
      const output = await this.#client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: hostedZoneId,
          ChangeBatch: {
            Comment: comment,
            Changes: changes.map((c) => ({
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: c.name.endsWith('.') ? c.name : `${c.name}.`,
                Type: c.type,
                TTL: c.ttl,
                ResourceRecords: c.values.map((v) => ({ Value: valueText(c.type, v) })),
              },
            })),
          },
        }),
      );
      return {
        changeId: (output.ChangeInfo?.Id ?? '').replace(/^\/change\//, ''),
        status: output.ChangeInfo?.Status ?? 'PENDING',
      };
    } catch (error) {
      throw mapAwsError(
        error,
        `Route 53 change of ${changes.length} record(s) in hosted zone ${hostedZoneId}`,
        hostedZoneId,
      );
    }
  }

  async listPage(hostedZoneId: string, start?: ListingPosition, maxItems = ROUTE53_LIST_PAGE_SIZE): Promise<ZonePage> {
    try {
      const output = await this.#client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: hostedZoneId,
          MaxItems: Math.min(maxItems, ROUTE53_LIST_PAGE_SIZE),
          ...(start ? { StartRecordName: start.name, StartRecordType: start.type as 'A' } : {}),
        }),
      );
      const records = (output.ResourceRecordSets ?? []).map((r) => {
        const type = r.Type ?? '';
        const normal = type === 'A' || type === 'AAAA' || type === 'CNAME';
        return {
          name: r.Name ?? '',
          type,
          ttl: r.TTL ?? 0,
          values: (r.ResourceRecords ?? []).map((v) =>
            normal ? normalizeRecordValue(type, v.Value ?? '') : (v.Value ?? ''),
          ),
        };
      });
      const next =
        output.IsTruncated && output.NextRecordName
          ? { name: output.NextRecordName, type: output.NextRecordType ?? '' }
          : undefined;
      return next ? { records, next } : { records };
    } catch (error) {
      throw mapAwsError(error, `Route 53 listing of hosted zone ${hostedZoneId}`, hostedZoneId);
    }
  }
}
