import type { SiteState } from '../domain/model.ts';
import type { StateStore } from '../ports/state-store.ts';

/** The store with its writes counted: what the run cost in DynamoDB requests. A measurement, not a stand-in. */
export class CountingStateStore implements StateStore {
  reads = 0;
  stateWrites = 0;
  historyWrites = 0;
  otherWrites = 0;

  constructor(private readonly inner: StateStore) {}

  load(site: string): Promise<SiteState | null> {
    this.reads++;
    return this.inner.load(site);
  }

  save(state: SiteState, expectedVersion: number | null): Promise<void> {
    this.stateWrites++;
    return this.inner.save(state, expectedVersion);
  }

  putHistory(records: Parameters<StateStore['putHistory']>[0]): Promise<void> {
    this.historyWrites += records.length;
    return this.inner.putHistory(records);
  }

  markApplied(site: string, actionId: string, days?: number): Promise<void> {
    this.otherWrites++;
    return this.inner.markApplied(site, actionId, days);
  }

  wasApplied(site: string, actionId: string): Promise<boolean> {
    this.reads++;
    return this.inner.wasApplied(site, actionId);
  }

  listTransitions(...args: Parameters<StateStore['listTransitions']>): ReturnType<StateStore['listTransitions']> {
    return this.inner.listTransitions(...args);
  }

  getIncident(id: string): ReturnType<StateStore['getIncident']> {
    return this.inner.getIncident(id);
  }

  loadFleetBrake(): ReturnType<StateStore['loadFleetBrake']> {
    this.reads++;
    return this.inner.loadFleetBrake();
  }

  saveFleetBrake(...args: Parameters<StateStore['saveFleetBrake']>): Promise<void> {
    this.otherWrites++;
    return this.inner.saveFleetBrake(...args);
  }

  listIncidents(query: Parameters<StateStore['listIncidents']>[0]): ReturnType<StateStore['listIncidents']> {
    return this.inner.listIncidents(query);
  }
}
