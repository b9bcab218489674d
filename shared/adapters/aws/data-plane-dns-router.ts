import type { DnsAction } from '../../domain/model.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';

/**
 * The dispatcher's side of a health-check-gated record: nothing to move. Route 53 answers its PRIMARY or SECONDARY
 * failover record by the probe regions' health checks (docs/dns.md), so the control plane's decision has no DNS
 * effect on it; a second, control-plane path to the same answer could only disagree with the first. The action is
 * completed with a line that says so, for the audit trail.
 */
export class DataPlaneDnsRouter implements DnsRouter {
  async apply(action: DnsAction): Promise<DnsApplyResult> {
    return {
      detail: `${action.name} ${action.type} is answered by Route 53 from the probe regions' health checks (data plane); the control plane's choice of link ${action.link} does not move it`,
    };
  }

  /** Nothing to read back: the answer is Route 53's, by health; the reconciler leaves these records alone. */
  async read(_record: DnsRecordRef): Promise<undefined> {
    return undefined;
  }
}
