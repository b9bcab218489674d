import type { SiteState } from '../domain/model.ts';
import { VersionConflictError, type StateStore } from '../ports/state-store.ts';

/**
 * Drops applied actions from a site's outbox with a conditional write, retrying on conflicts. Ids no longer in the
 * outbox are ignored, so completing an action twice is harmless. Returns the state as committed.
 */
export async function completeActions(
  deps: { readonly store: StateStore },
  input: { readonly site: string; readonly ids: readonly string[]; readonly maxAttempts?: number },
): Promise<SiteState | null> {
  const ids = new Set(input.ids);
  for (let attempt = 0; attempt < (input.maxAttempts ?? 20); attempt++) {
    const state = await deps.store.load(input.site);
    if (!state || !state.outbox.some((a) => ids.has(a.id))) return state;
    const next = { ...state, version: state.version + 1, outbox: state.outbox.filter((a) => !ids.has(a.id)) };
    try {
      await deps.store.save(next, state.version);
      return next;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
    }
  }
  throw new VersionConflictError(input.site, null);
}
