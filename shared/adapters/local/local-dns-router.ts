import type { DnsAction } from '../../domain/model.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';
import type { DnsServer } from './dns-server.ts';

/**
 * The local runtime's DnsRouter: sets the records of the embedded DNS server (dns-server.ts), whatever the record's
 * strategy, so that `dig @127.0.0.1 -p <port>` shows a failover at once. Invalid records raise DnsRecordError
 * (permanent); nothing here is transient.
 */
export class LocalDnsRouter implements DnsRouter {
  readonly #server: Pick<DnsServer, 'host' | 'port' | 'setRecord' | 'getRecord'>;

  constructor(server: Pick<DnsServer, 'host' | 'port' | 'setRecord' | 'getRecord'>) {
    this.#server = server;
  }

  async apply(action: DnsAction): Promise<DnsApplyResult> {
    this.#server.setRecord(action.name, action.type, action.ttl, action.values);
    const to = `${action.values.join(', ')} (link ${action.link}, TTL ${action.ttl} s)`;
    return {
      detail: `${action.name} ${action.type} -> ${to} on the local DNS server ${this.#server.host}:${this.#server.port}`,
      status: 'INSYNC',
    };
  }

  async read(record: DnsRecordRef): Promise<{ values: string[]; ttl: number } | null> {
    return this.#server.getRecord(record.name, record.type);
  }
}
