import { MAX_FAILOVER_HOLD_MS, type OperatorCommand } from '../../domain/model.ts';
import { type LinkRole } from '../../contracts/vocabulary.ts';
import type { MaintenanceStore } from '../../ports/maintenance-store.ts';
import { decideSite, type DecideSiteDeps, type DecideSiteOutput } from '../decide-site.ts';
import { InvalidOperatorRequestError } from './errors.ts';

/** What the operator use cases need: the API's routes and the inbound hooks build the same. */
export interface OperatorDeps {
  /** The decider's dependencies, with `maintenance` reading the MaintenanceStore. */
  readonly decide: DecideSiteDeps;
  readonly maintenance: MaintenanceStore;
  /** Told after a decision wrote the site's state, e.g. for the local runtime to dispatch its actions at once. */
  readonly onDecided?: (site: string, out: DecideSiteOutput) => void | Promise<void>;
}

/** An operator's command as it arrives at an edge: `until` is an ISO date-time, checked here. */
export type OperatorRequest =
  | { type: 'override'; pin: LinkRole; reason: string; by: string; until?: string | undefined }
  | { type: 'clear-override'; reason: string; by: string }
  | { type: 'failover'; reason: string; by: string; until?: string | undefined }
  | { type: 'failback'; reason: string; by: string }
  | { type: 'acknowledge'; by: string };

/**
 * Pins or unpins a site, fails it over or back, or acknowledges its incident: checks the request
 * (InvalidOperatorRequestError: `until` in the future, a failover held at most MAX_FAILOVER_HOLD_MS), then decides
 * the site with the command. A command the engine refuses comes back in `rejected`, with nothing written.
 */
export async function commandSite(
  deps: OperatorDeps,
  site: string,
  request: OperatorRequest,
): Promise<DecideSiteOutput> {
  return decideAndTell(deps, site, [commandOf(deps, request)]);
}

/** Decides `site` with `commands` (none: a re-evaluation after a maintenance change) and tells onDecided. */
export async function decideAndTell(
  deps: OperatorDeps,
  site: string,
  commands: readonly OperatorCommand[],
): Promise<DecideSiteOutput> {
  const out = await decideSite(deps.decide, { site, commands });
  if (out.written) await deps.onDecided?.(site, out);
  return out;
}

function commandOf(deps: OperatorDeps, request: OperatorRequest): OperatorCommand {
  switch (request.type) {
    case 'override':
    case 'failover': {
      const { until: given, ...command } = request;
      const until = untilOf(deps, given, request.type === 'failover' ? MAX_FAILOVER_HOLD_MS : undefined);
      return { ...command, ...(until !== undefined ? { until } : {}) };
    }
    default:
      return request;
  }
}

/** `until` as epoch ms: in the future, and at most `maxMs` ahead when there is a bound. */
function untilOf(deps: OperatorDeps, until: string | undefined, maxMs: number | undefined): number | undefined {
  if (until === undefined) return undefined;
  const at = Date.parse(until);
  const now = deps.decide.clock.now();
  const problem = Number.isNaN(at)
    ? 'expected a date-time such as 2026-12-01T22:00:00Z'
    : at <= now
      ? 'must be in the future'
      : maxMs !== undefined && at > now + maxMs
        ? `must be at most ${maxMs / 86_400_000} days ahead`
        : undefined;
  if (problem) throw new InvalidOperatorRequestError([{ field: 'until', message: problem }]);
  return at;
}
