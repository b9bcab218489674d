import type { AlertAction } from './model.ts';

/**
 * The stable id of one alert, the key a channel deduplicates on: the outbox action's id (`<site>:<seq>:<n>`) and the
 * time of its transition. The action id alone repeats when a local runtime starts again with an in-memory state
 * (sequence numbers start over) while its alert file is kept; with the time it names one alert only.
 */
export function alertIdOf(alert: Pick<AlertAction, 'id' | 'at'>): string {
  return `${alert.id}@${new Date(alert.at).toISOString()}`;
}
