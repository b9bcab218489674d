import type { ObservationBatch } from '../../contracts/observation.ts';
import { historyDeltas } from '../../domain/history.ts';
import type { SiteState } from '../../domain/model.ts';
import type { HistoryStore } from '../../ports/history-store.ts';

/**
 * Adds what one decision of `site` applied to its 5-minute history rows: one write per bucket the batches started
 * in (one, nearly always). Called after the state was committed, never before: history is not on the failover path.
 */
export async function recordHistory(
  history: HistoryStore,
  input: {
    site: string;
    batches: readonly ObservationBatch[];
    previous: SiteState | null;
    decided: SiteState;
  },
): Promise<number> {
  const deltas = historyDeltas(input.batches, input.previous, input.decided);
  for (const delta of deltas) await history.add(input.site, delta);
  return deltas.length;
}
