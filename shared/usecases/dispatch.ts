import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverConfig } from '../config/model.ts';
import { recordFailures, type ActionFailure } from '../domain/decide.ts';
import type { Action } from '../domain/model.ts';
import { TransientError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { DnsRouter } from '../ports/dns-router.ts';
import type { Notifier } from '../ports/notifier.ts';
import type { StateStore } from '../ports/state-store.ts';
import { commitEvent } from './commit-event.ts';
import { completeActions } from './complete-actions.ts';
import { UnknownSiteError } from './decide-site.ts';

/** Exponential backoff with full jitter: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/**
 * DNS gets more patience: Route 53 answers PriorRequestNotComplete while an earlier change to the zone propagates,
 * which can take tens of seconds when many sites fail over in one zone.
 */
export const DNS_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Applies one action; the result's detail goes to the log. */
export type ActionHandler<A extends Action = Action> = (action: A) => Promise<{ readonly detail: string }>;

export interface DispatchDeps {
  readonly config: FailoverConfig;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly dns?: DnsRouter;
  readonly notifier?: Notifier;
  /** The agent channel (a later issue); without one, agent commands are reported and dropped. */
  readonly agentCommands?: ActionHandler<Extract<Action, { kind: 'agent-command' }>>;
  /** Webhook delivery (a later issue); without one, webhook events have no subscriber to go to. */
  readonly webhooks?: ActionHandler<Extract<Action, { kind: 'webhook' }>>;
  /**
   * Action kinds this dispatcher leaves in the outbox for another one: the standby control region has no agent
   * channel and no webhook queue, so the primary's dispatcher applies those (docs/architecture.md, "Control regions").
   */
  readonly leave?: ReadonlySet<Action['kind']>;
  /** The retry policy of every lane; default DNS_RETRY for DNS and DEFAULT_RETRY for the others. */
  readonly retry?: RetryPolicy;
  /** Waits between retries; injectable so that tests need not wait. */
  readonly wait?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly log?: (event: DispatchEvent) => void;
}

export type DispatchEvent =
  | { readonly type: 'applied'; readonly action: Action; readonly detail: string; readonly attempts: number }
  | { readonly type: 'skipped'; readonly action: Action; readonly reason: string }
  | {
      readonly type: 'retry';
      readonly action: Action;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: string;
    }
  | { readonly type: 'dead-letter'; readonly action: Action; readonly error: string; readonly attempts: number };

export interface DispatchOutput {
  readonly applied: readonly Action[];
  readonly skipped: readonly Action[];
  readonly failed: readonly ActionFailure[];
}

/** Runs `fn`, retrying a TransientError with exponential backoff and full jitter; other errors are final at once. */
export async function withRetry<T>(
  fn: () => Promise<T>,
  options: {
    readonly policy?: RetryPolicy;
    readonly wait?: (ms: number) => Promise<void>;
    readonly random?: () => number;
    readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  } = {},
): Promise<{ value: T; attempts: number }> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const wait = options.wait ?? ((ms: number) => sleep(ms));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(), attempts: attempt };
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= policy.attempts)
        throw Object.assign(asError(error), { attempts: attempt });
      const delayMs = Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
      options.onRetry?.(attempt, delayMs, error);
      await wait(delayMs);
    }
  }
}

/**
 * Applies the actions waiting in a site's outbox, then clears them with a conditional write. Actions run in lanes:
 * each DNS record, alerts, agent commands and webhooks are separate lanes that proceed in parallel, each in outbox
 * order, so an SNS outage never holds back a DNS failover. An action that keeps failing is given up after the retry
 * policy and recorded as an `action-failed` transition with a critical alert. Every effect is idempotent (DNS UPSERT,
 * alerts remembered as sent, command and webhook ids), so a dispatcher that dies before clearing its work is harmless
 * to run again.
 */
export async function dispatchSite(deps: DispatchDeps, input: { readonly site: string }): Promise<DispatchOutput> {
  const site = deps.config.sites.find((s) => s.id === input.site);
  if (!site) throw new UnknownSiteError(input.site);
  const state = await deps.store.load(site.id);
  const pending = state?.outbox.filter((a) => a.kind !== 'history' && !deps.leave?.has(a.kind)) ?? [];
  const applied: Action[] = [];
  const skipped: Action[] = [];
  const failed: ActionFailure[] = [];
  if (pending.length === 0) return { applied, skipped, failed };

  const lanes = new Map<string, Action[]>();
  for (const action of pending) {
    const lane = action.kind === 'dns' ? `dns:${action.name}|${action.type}` : action.kind;
    lanes.set(lane, [...(lanes.get(lane) ?? []), action]);
  }
  await Promise.all(
    [...lanes.values()].map(async (actions) => {
      const done: string[] = [];
      for (const action of actions) {
        const outcome = await apply(deps, action);
        if (outcome.type === 'applied') applied.push(action);
        else if (outcome.type === 'skipped') skipped.push(action);
        else failed.push({ action, error: outcome.error, attempts: outcome.attempts });
        deps.log?.(outcome);
        done.push(action.id);
      }
      // Each lane clears its own work as soon as it is done, so a slow lane does not keep the others pending.
      await completeActions(deps, { site: site.id, ids: done });
    }),
  );
  if (failed.length > 0) {
    const regions = deps.config.regions.probe;
    await commitEvent(deps, site.id, (state) =>
      recordFailures({ site, regions, state, failures: failed, now: deps.clock.now() }),
    );
  }
  return { applied, skipped, failed };
}

type Outcome = Extract<DispatchEvent, { type: 'applied' | 'skipped' | 'dead-letter' }>;

async function apply(deps: DispatchDeps, action: Action): Promise<Outcome> {
  const handler = handlerFor(deps, action);
  if (typeof handler === 'string') return { type: 'skipped', action, reason: handler };
  const needsMemory = action.kind === 'alert';
  if (needsMemory && (await deps.store.wasApplied(action.site, action.id)))
    return { type: 'skipped', action, reason: 'already applied by an earlier dispatcher' };
  try {
    const policy = deps.retry ?? (action.kind === 'dns' ? DNS_RETRY : DEFAULT_RETRY);
    const { value, attempts } = await withRetry(() => handler(action), {
      policy,
      ...(deps.wait ? { wait: deps.wait } : {}),
      ...(deps.random ? { random: deps.random } : {}),
      onRetry: (attempt, delayMs, error) =>
        deps.log?.({ type: 'retry', action, attempt, delayMs, error: asError(error).message }),
    });
    if (needsMemory) await deps.store.markApplied(action.site, action.id);
    return { type: 'applied', action, detail: value.detail, attempts };
  } catch (error) {
    const attempts = (error as { attempts?: number }).attempts ?? 1;
    return { type: 'dead-letter', action, error: asError(error).message, attempts };
  }
}

/** The handler of an action, or why there is none. */
function handlerFor(deps: DispatchDeps, action: Action): ActionHandler | string {
  const now = deps.clock.now();
  switch (action.kind) {
    case 'dns':
      return deps.dns ? (a) => deps.dns!.apply(a as typeof action) : 'no DNS router configured';
    case 'alert':
      if (action.suppressed) return 'suppressed (maintenance or override): recorded only';
      if (action.severity === 'info') return 'info alerts are recorded only';
      return deps.notifier ? (a) => deps.notifier!.notify(a as typeof action) : 'no notifier configured';
    case 'agent-command':
      if (now > action.expiresAt) return `expired at ${new Date(action.expiresAt).toISOString()}`;
      return deps.agentCommands ? (a) => deps.agentCommands!(a as typeof action) : 'no agent channel configured';
    case 'webhook':
      return deps.webhooks ? (a) => deps.webhooks!(a as typeof action) : 'no webhook subscribers';
    case 'history':
      return 'history is written by the decider';
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
