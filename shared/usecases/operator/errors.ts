import { FailoverError } from '../../errors.ts';

/** One thing wrong with an operator's request, by the name of its field (`until`, `timezone`, `start`, `end`). */
export interface RequestIssue {
  readonly field: string;
  readonly message: string;
}

/** An operator's request breaks a rule before anything is decided; nothing changed. */
export class InvalidOperatorRequestError extends FailoverError {
  constructor(readonly issues: readonly RequestIssue[]) {
    super('OPERATOR_REQUEST_INVALID', issues.map((i) => `${i.field}: ${i.message}`).join('; '));
    this.name = 'InvalidOperatorRequestError';
  }
}

/** No maintenance window with this id (at this site, when one was named). */
export class UnknownWindowError extends FailoverError {
  constructor(
    readonly id: string,
    site?: string,
  ) {
    super('MAINTENANCE_WINDOW_UNKNOWN', `no maintenance window "${id}"${site ? ` at site ${site}` : ''}`);
    this.name = 'UnknownWindowError';
  }
}

/** The window is defined in sites.yaml: only an edit there removes it. */
export class ConfiguredWindowError extends FailoverError {
  constructor(id: string, site: string) {
    super('MAINTENANCE_WINDOW_CONFIGURED', `window ${id} is defined in sites.yaml (site ${site}); remove it there`);
    this.name = 'ConfiguredWindowError';
  }
}

/** A change ticket's window was closed: the ticket cannot open it again. */
export class ClosedWindowError extends FailoverError {
  constructor(ticket: string) {
    super('MAINTENANCE_WINDOW_CLOSED', `the window of ticket ${ticket} was closed; use another ticket`);
    this.name = 'ClosedWindowError';
  }
}
