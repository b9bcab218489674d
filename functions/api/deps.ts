import type { FailoverConfig } from '../../shared/config/model.ts';
import type { ApiKeyStore } from '../../shared/ports/api-key-store.ts';
import type { HistoryStore } from '../../shared/ports/history-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { apiMaintenanceWindows, type MaintenanceStore } from '../../shared/ports/maintenance-store.ts';
import type { Notifier } from '../../shared/ports/notifier.ts';
import type { StateStore } from '../../shared/ports/state-store.ts';
import type { DecideSiteDeps, DecideSiteOutput } from '../../shared/usecases/decide-site.ts';
import type { HookDeps, WebhookApiDeps } from './webhook-deps.ts';

/** Where the API logs what callers are not told (the errors behind a 500). Powertools' Logger fits. */
export interface ApiLog {
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Everything the API's handlers need; built once per process (module scope in Lambda, at start locally). */
export interface ApiDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly apiKeys: ApiKeyStore;
  /** The API key pepper, loaded once (cachedPepper). */
  readonly pepper: () => Promise<Buffer>;
  readonly maintenance: MaintenanceStore;
  /** Check history, uptime and the status pages; without it those routes answer 503. */
  readonly history?: HistoryStore;
  /** The webhook subscription routes; without it they answer 503. */
  readonly webhooks?: WebhookApiDeps;
  /** The inbound hook route; without it it answers 404 for every source. */
  readonly hooks?: HookDeps;
  /**
   * Told after a command or maintenance change wrote a site's state. Locally: dispatch its actions now; in the
   * cloud the table's stream starts the dispatcher, so nothing is needed.
   */
  readonly onDecision?: (output: DecideSiteOutput) => Promise<void> | void;
  /** Sends the one alert of an operator's release of the mass-failover brake; without it the release is recorded only. */
  readonly notifier?: Notifier;
  /** @default console.error */
  readonly log?: ApiLog;
  /** Larger bodies get 413. @default 256 KiB */
  readonly maxBodyBytes?: number;
}

/** decideSite's dependencies as the API uses them: API maintenance windows included. */
export function decideDeps(deps: ApiDeps): DecideSiteDeps {
  return {
    config: deps.config,
    store: deps.store,
    clock: deps.clock,
    maintenance: apiMaintenanceWindows(deps.maintenance, deps.clock),
  };
}
