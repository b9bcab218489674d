import { FailoverError } from '../../errors.ts';

/** No subscription, or no delivery of it, with that id. */
export class WebhookNotFoundError extends FailoverError {
  constructor(what: string) {
    super('WEBHOOK_NOT_FOUND', `${what} not found`);
    this.name = 'WebhookNotFoundError';
  }
}

/** A subscription request that cannot be accepted: `problems` lists every reason. */
export class InvalidSubscriptionError extends FailoverError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('WEBHOOK_INVALID', `invalid subscription: ${problems.join('; ')}`);
    this.name = 'InvalidSubscriptionError';
    this.problems = problems;
  }
}

/** The subscription is disabled (the receiver answered 410, or an operator disabled it): enable it first. */
export class SubscriptionDisabledError extends FailoverError {
  constructor(id: string, reason: string | null) {
    super('WEBHOOK_DISABLED', `subscription ${id} is disabled${reason ? `: ${reason}` : ''}`);
    this.name = 'SubscriptionDisabledError';
  }
}

/** POST /v1/hooks/{source} for a source sites.yaml does not list. */
export class UnknownHookSourceError extends FailoverError {
  constructor(source: string) {
    super('HOOK_UNKNOWN_SOURCE', `no inbound source "${source}" is configured`);
    this.name = 'UnknownHookSourceError';
  }
}

/** The request's signature is missing, malformed or wrong. Nothing was changed. */
export class HookSignatureError extends FailoverError {
  constructor(message: string) {
    super('HOOK_BAD_SIGNATURE', message);
    this.name = 'HookSignatureError';
  }
}

/** The signed timestamp is too far from now (more than the source's tolerance). Nothing was changed. */
export class HookTimestampError extends FailoverError {
  constructor(message: string) {
    super('HOOK_STALE', message);
    this.name = 'HookTimestampError';
  }
}

/** The message id was seen before: a replay. Nothing was changed. */
export class HookReplayError extends FailoverError {
  constructor(source: string, id: string) {
    super('HOOK_REPLAYED', `message ${id.slice(0, 80)} from ${source} was already received`);
    this.name = 'HookReplayError';
  }
}

/** The signed body does not say what to do (not JSON, unknown action, a field missing). Nothing was changed. */
export class HookPayloadError extends FailoverError {
  constructor(message: string) {
    super('HOOK_BAD_PAYLOAD', message);
    this.name = 'HookPayloadError';
  }
}

/** The source may not take this action, or not on this site (sites.yaml `integrations.inbound`). */
export class HookForbiddenError extends FailoverError {
  constructor(message: string) {
    super('HOOK_NOT_ALLOWED', message);
    this.name = 'HookForbiddenError';
  }
}

/** The decider refused the command (already on backup, no open incident...). Nothing was changed. */
export class HookRejectedError extends FailoverError {
  constructor(message: string) {
    super('HOOK_REJECTED', message);
    this.name = 'HookRejectedError';
  }
}
