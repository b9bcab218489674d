/**
 * Who may dispatch a site right now, when two control regions both run a dispatcher on one strongly consistent
 * table: each reads every write of the table's stream, and only the holder of the site's lease applies its actions.
 */
export interface DispatchLease {
  /**
   * Takes the site's lease for `holder` until `untilMs`, when it is free, expired (before `nowMs`) or already
   * `holder`'s; false when another holds it.
   */
  acquire(site: string, holder: string, nowMs: number, untilMs: number): Promise<boolean>;
  /** Gives the lease up, when `holder` still has it (an expired lease taken over by another stays theirs). */
  release(site: string, holder: string): Promise<void>;
}
