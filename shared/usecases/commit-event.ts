import type { EventOutput } from '../domain/decide.ts';
import type { SiteState } from '../domain/model.ts';
import { VersionConflictError, type StateStore } from '../ports/state-store.ts';
import { completeActions } from './complete-actions.ts';

/**
 * Commits an event recorded outside a decision (an action given up, DNS drift) with the usual conditional write,
 * rebuilding it on the latest state after a lost race, then writes its history records and clears them from the
 * outbox. `build` returns null when, on the latest state, there is nothing to record any more.
 */
export async function commitEvent(
  deps: { readonly store: StateStore },
  site: string,
  build: (state: SiteState) => EventOutput | null,
): Promise<EventOutput | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const state = await deps.store.load(site);
    if (!state) return null;
    const out = build(state);
    if (!out || out.transitions.length === 0) return null;
    try {
      await deps.store.save({ ...out.state, version: state.version + 1 }, state.version);
    } catch (error) {
      if (error instanceof VersionConflictError) continue;
      throw error;
    }
    const history = out.actions.flatMap((a) => (a.kind === 'history' ? [a] : []));
    await deps.store.putHistory(history.map((a) => a.record));
    await completeActions(deps, { site, ids: history.map((a) => a.id) });
    return out;
  }
  throw new VersionConflictError(site, null);
}
