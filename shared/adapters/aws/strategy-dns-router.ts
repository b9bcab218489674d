import type { DnsAction } from '../../domain/model.ts';
import { FailoverError } from '../../errors.ts';
import type { DnsApplyResult, DnsRecordRef, DnsRouter } from '../../ports/dns-router.ts';

/** One router per DNS strategy of the configuration; an action of a strategy without one is refused. */
export type DnsRoutersByStrategy = Readonly<Partial<Record<DnsAction['strategy'], DnsRouter>>>;

/**
 * Sends each action (and each read) to the router of its record's strategy: record-swap to Route53DnsRouter,
 * health-check-gated to DataPlaneDnsRouter (which moves nothing: Route 53 answers those by health).
 */
export class StrategyDnsRouter implements DnsRouter {
  readonly #routers: DnsRoutersByStrategy;

  constructor(routers: DnsRoutersByStrategy) {
    this.#routers = routers;
  }

  async apply(action: DnsAction): Promise<DnsApplyResult> {
    return this.#router(action.strategy, action.name).apply(action);
  }

  async read(record: DnsRecordRef): Promise<{ values: string[]; ttl: number } | null | undefined> {
    return this.#router(record.strategy, record.name).read(record);
  }

  #router(strategy: string, name: string): DnsRouter {
    const router = Object.hasOwn(this.#routers, strategy)
      ? this.#routers[strategy as DnsAction['strategy']]
      : undefined;
    if (!router) throw new FailoverError('DNS_STRATEGY_UNKNOWN', `no DNS router for strategy "${strategy}" of ${name}`);
    return router;
  }
}
