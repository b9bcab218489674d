import type { SiteConfig } from '../../shared/config/model.ts';
import type { OperatorCommand } from '../../shared/domain/model.ts';
import { HttpProblem } from '../../shared/api/problem.ts';
import { commandResult, siteSummary, type AnyWindow } from '../../shared/api/views.ts';
import type { Rejection } from '../../shared/domain/model.ts';
import type { CommandResult } from '../../shared/contracts/api.ts';
import { decideSite } from '../../shared/usecases/decide-site.ts';
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

/**
 * Decides `site` with `commands` (none: only re-evaluates, e.g. after a maintenance change), tells onDecision when
 * the state was written, and answers 409 with the reason when a command was refused: by the engine
 * (`command-rejected`, `override-conflict`) or because the site moved after the request read it
 * (`command-conflict`), with the site as it is now in `current`.
 */
export async function decideNow(
  deps: ApiDeps,
  site: SiteConfig,
  commands: readonly OperatorCommand[] = [],
): Promise<CommandResult> {
  const out = await decideSite(decideDeps(deps), { site: site.id, commands });
  if (out.written) await deps.onDecision?.(out);
  const rejected = out.rejected[0];
  const windows = out.state.maintenance ? await windowsOf(deps, site, deps.clock.now()) : [];
  if (rejected)
    throw new HttpProblem(409, rejected.reason, {
      code: PROBLEM_CODES[rejected.code],
      current: siteSummary(site, out.state, windows),
    });
  return commandResult(site, out.state, out.transitions, windows);
}
