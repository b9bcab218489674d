import type { FailoverConfig } from '../config/model.ts';
import { admit, type Admission, type AdmissionRequest } from '../domain/brake.ts';
import { TransientError } from '../errors.ts';
import { FleetBrakeConflictError, type StateStore } from '../ports/state-store.ts';

/** Too many deciders changed the fleet item at once: a transient failure, so that the site's batch returns soon. */
export class FleetBrakeContentionError extends TransientError {
  constructor(attempts: number) {
    super(`the fleet brake item kept changing under ${attempts} attempts`, undefined, 'FLEET_BRAKE_CONTENTION');
    this.name = 'FleetBrakeContentionError';
  }
}

export interface AdmitFailoverDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  /** Attempts at the conditional write before giving up; default 50. */
  readonly maxAttempts?: number;
}

/**
 * Asks the mass-failover brake whether a site may fail over automatically: reads the fleet item, applies the rule
 * (`admit`), and writes it back with one conditional write when it changed. Racing deciders re-read and decide again,
 * so the window never admits more than its limit; a lost race waits a few jittered milliseconds first. A throttled
 * fleet item throws StoreUnavailableError, and endless lost races FleetBrakeContentionError: both transient.
 */
export async function admitFailover(deps: AdmitFailoverDeps, request: AdmissionRequest): Promise<Admission> {
  const maxAttempts = deps.maxAttempts ?? 50;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await deps.store.loadFleetBrake();
    const out = admit(current?.brake ?? null, request, deps.config.brake, deps.config.sites.length);
    if (!out.changed) return out;
    try {
      await deps.store.saveFleetBrake(out.fleet, current?.version ?? null);
      return out;
    } catch (error) {
      if (!(error instanceof FleetBrakeConflictError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
    }
  }
  throw new FleetBrakeContentionError(maxAttempts);
}
