import type { BrakeRelease } from '../domain/brake.ts';
import type { Action, OperatorCommand, Transition } from '../domain/model.ts';
import type { BrakeReleaseCommand } from './scenario.ts';

/** A transition as the simulation saw it: who caused it, and, for a failover, whether the ground truth justified it. */
export interface SimTransition {
  readonly transition: Transition;
  /** Milliseconds from the start of the scenario. */
  readonly offsetMs: number;
  /** `operator`: the direct result of a command in the timeline; `automatic`: the engine's own decision. */
  readonly trigger: 'automatic' | 'operator';
  /** Failovers only: made when no quorum of healthy regions saw the primary failing (see docs/scenarios.md). */
  readonly falseFailover?: boolean;
  /** Failovers only: seconds from the start of the fault episode it answered; null for a false or manual one. */
  readonly detectionSeconds?: number | null;
}

/** An effect the instant dispatcher applied (every action but history, which decideSite writes itself). */
export interface SimEffect {
  readonly offsetMs: number;
  readonly action: Exclude<Action, { kind: 'history' }>;
}

/** A command the engine refused (a brake release: nothing was engaged). */
export interface SimRejection {
  readonly offsetMs: number;
  readonly command: OperatorCommand | BrakeReleaseCommand;
  readonly reason: string;
}

/** An operator's release of the mass-failover brake, as the fleet item recorded it. */
export interface SimRelease {
  readonly offsetMs: number;
  readonly release: BrakeRelease;
}
