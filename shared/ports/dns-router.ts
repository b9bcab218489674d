import type { DnsAction } from '../domain/model.ts';

/** A DNS record the system manages, without its values. */
export interface DnsRecordRef {
  readonly zone: string;
  readonly hostedZoneId: string;
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME';
  readonly ttl: number;
  readonly strategy: 'record-swap' | 'health-check-gated';
}

/** What applying a DNS action did, for the audit trail. */
export interface DnsApplyResult {
  /** One line: what changed, where. */
  readonly detail: string;
  /** The provider's change id (Route 53), when there is one. */
  readonly changeId?: string;
  /** PENDING or INSYNC when the provider reports propagation. */
  readonly status?: string;
}

/**
 * Points DNS records at the values of the active link. Implementations: Route 53 record swap, the data plane's
 * (which moves nothing: Route 53 answers by the probe regions' health), and the local runtime's embedded DNS server. Errors that may pass on a retry are
 * TransientError; any other error is permanent.
 */
export interface DnsRouter {
  /** Makes the record answer the action's values: an UPSERT of the desired state, so applying twice is harmless. */
  apply(action: DnsAction): Promise<DnsApplyResult>;
  /**
   * The values the record answers now (null: no such record), for reconciliation; undefined when this router
   * cannot read them back (reconciliation then re-applies the desired state).
   */
  read(record: DnsRecordRef): Promise<{ values: string[]; ttl: number } | null | undefined>;
}
