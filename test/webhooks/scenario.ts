import { expect } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import type { ObservationBatch, Outcome } from '../../shared/contracts/observation.ts';
import { decide } from '../../shared/domain/decide.ts';
import type { SiteState, WebhookAction } from '../../shared/domain/model.ts';
import { twoLinkRound } from '../support/observations.ts';
import { twoLinkConfigYaml } from '../support/two-link-site.ts';

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A one-site configuration (site `store-12`, fiber primary, lte backup), plus `extra` YAML at the top level. */
export function webhookConfig(extra = ''): FailoverConfig {
  const text =
    twoLinkConfigYaml({
      regions: REGIONS,
      policy: 'failureThreshold: 2, recoveryThreshold: 2, holdDownSeconds: 0, remindEveryMinutes: 30',
      sites: [
        { id: 'store-12', name: 'Store 12' },
        { id: 'store-13', fiber: '203.0.113.11', lte: '198.51.100.21' },
      ],
    }) + extra;
  const { config, diagnostics } = parseConfig(text);
  expect(diagnostics).toEqual([]);
  return config!;
}

/** One round's batches from every region, fiber as given, lte up. */
export function round(site: string, n: number, fiber: Outcome): ObservationBatch[] {
  return twoLinkRound({ site, regions: REGIONS, at: T0 + n * 60_000, fiber });
}

/** The fiber outcome of each round of a failover and failback: up, down (failover), up again (failback). */
export const FAILOVER_AND_BACK: readonly Outcome[] = ['up', 'up', 'down', 'down', 'up', 'up'];

/**
 * Runs the real decision engine over `outcomes` for store-12 and returns the webhook actions it asked for, in
 * order, with the final state.
 */
export function webhookActions(
  config: FailoverConfig,
  outcomes: readonly Outcome[] = FAILOVER_AND_BACK,
): { actions: WebhookAction[]; state: SiteState } {
  const site = config.sites[0]!;
  let state: SiteState | null = null;
  const actions: WebhookAction[] = [];
  outcomes.forEach((fiber, n) => {
    const out = decide({
      site,
      regions: config.regions.probe,
      state,
      batches: round(site.id, n + 1, fiber),
      now: T0 + (n + 1) * 60_000 + 5_000,
    });
    state = out.state;
    actions.push(...out.actions.filter((a): a is WebhookAction => a.kind === 'webhook'));
  });
  return { actions, state: state! };
}
