import type { SiteConfig } from '../../shared/config/model.ts';
import { HttpProblem } from '../../shared/api/problem.ts';
import { commandResult, siteSummary, type AnyWindow } from '../../shared/api/views.ts';
import type { Rejection } from '../../shared/domain/model.ts';
import type { CommandResult } from '../../shared/contracts/api.ts';
import type { DecideSiteOutput } from '../../shared/usecases/decide-site.ts';
import { commandSite, type OperatorDeps, type OperatorRequest } from '../../shared/usecases/operator/command-site.ts';
import { decideDeps, type ApiDeps } from './deps.ts';

/** The configured site `id`; 404 when there is none. */
export function siteOr404(deps: ApiDeps, id: string): SiteConfig {
  const site = deps.config.sites.find((s) => s.id === id);
  if (!site) throw new HttpProblem(404, `no site "${id}"`, { code: 'unknown-site' });
  return site;
}

/** The configured site named in a query or body field; 400 naming the field when there is none. */
export function knownSite(deps: ApiDeps, id: string, field: string): SiteConfig {
  const site = deps.config.sites.find((s) => s.id === id);
  if (!site) {
    throw new HttpProblem(400, `${field}: no site "${id}"`, {
      code: 'unknown-site',
      errors: [{ path: field, message: `no site "${id}"` }],
    });
  }
  return site;
}

/** A site's maintenance windows that have not ended at `now`: those of sites.yaml, then those made through the API. */
export async function windowsOf(deps: ApiDeps, site: SiteConfig, now: number): Promise<AnyWindow[]> {
  const configured = site.maintenance
    .filter((w) => w.endMs > now)
    .map((window): AnyWindow => ({ source: 'config', site: site.id, window }));
  const stored = (await deps.maintenance.listForSite(site.id, now)).map((window): AnyWindow => ({
    source: 'api',
    window,
  }));
  return [...configured, ...stored].sort((a, b) => a.window.startMs - b.window.startMs);
}

const PROBLEM_CODES: Record<Rejection['code'], string> = {
  rejected: 'command-rejected',
  'override-conflict': 'override-conflict',
  conflict: 'command-conflict',
};

/** The operator use cases' dependencies as the API uses them. */
export function operatorDeps(deps: ApiDeps): OperatorDeps {
  return {
    decide: decideDeps(deps),
    maintenance: deps.maintenance,
    onDecided: async (_site, out) => {
      await deps.onDecision?.(out);
    },
  };
}

/**
 * Runs an operator's request on `site` and renders the outcome (renderDecision): 400 naming the field when the
 * request breaks a rule, 409 with the reason when the engine refused the command.
 */
export async function commandNow(deps: ApiDeps, site: SiteConfig, request: OperatorRequest): Promise<CommandResult> {
  return renderDecision(deps, site, await commandSite(operatorDeps(deps), site.id, request));
}

/**
 * The site after a decision, with its transitions, or 409 when a command was refused: by the engine
 * (`command-rejected`, `override-conflict`) or because the site moved after the request read it
 * (`command-conflict`), with the site as it is now in `current`.
 */
export async function renderDecision(deps: ApiDeps, site: SiteConfig, out: DecideSiteOutput): Promise<CommandResult> {
  const rejected = out.rejected[0];
  const windows = out.state.maintenance ? await windowsOf(deps, site, deps.clock.now()) : [];
  if (rejected)
    throw new HttpProblem(409, rejected.reason, {
      code: PROBLEM_CODES[rejected.code],
      current: siteSummary(site, out.state, windows),
    });
  return commandResult(site, out.state, out.transitions, windows);
}
