import { HttpProblem, internalProblem } from '../../shared/api/problem.ts';
import { FailoverError, TransientError } from '../../shared/errors.ts';
import { BadCursorError } from '../../shared/ports/state-store.ts';
import { AgentAuthError } from '../../shared/usecases/agent/deps.ts';
import { ContentionError, UnknownSiteError } from '../../shared/usecases/decide-site.ts';
import {
  ClosedWindowError,
  ConfiguredWindowError,
  InvalidOperatorRequestError,
  UnknownWindowError,
} from '../../shared/usecases/operator/errors.ts';
import { InvalidSubscriptionError } from '../../shared/usecases/webhooks/errors.ts';

/** Seconds every 503 asks the client to wait before it tries again (docs/api.md, "Errors"). */
export const RETRY_AFTER_SECONDS = 2;

/** The HTTP status of each error code of the webhook use cases; codes not listed are server errors. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_INVALID: 400,
  WEBHOOK_DISABLED: 409,
  HOOK_UNKNOWN_SOURCE: 404,
  HOOK_BAD_SIGNATURE: 401,
  HOOK_STALE: 401,
  HOOK_REPLAYED: 409,
  HOOK_BAD_PAYLOAD: 422,
  HOOK_NOT_ALLOWED: 403,
  HOOK_REJECTED: 409,
};

const unavailable = (detail: string, cause: unknown) =>
  new HttpProblem(503, detail, {
    code: 'unavailable',
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    cause,
  });

/**
 * The one place an error becomes an HTTP problem, for the API, the webhook routes and the agent's HTTP routes:
 * HttpProblem as it is, known domain errors by class or code, passing trouble 503 with Retry-After, anything else a
 * bare 500 (the cause kept for the log, never shown).
 */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof UnknownSiteError) return new HttpProblem(404, error.message, { code: 'unknown-site' });
  if (error instanceof BadCursorError) {
    return new HttpProblem(400, `bad cursor: ${error.message}`, {
      code: 'bad-cursor',
      errors: [{ path: 'query.cursor', message: error.message }],
    });
  }
  if (error instanceof AgentAuthError) {
    return new HttpProblem(401, 'agent authentication refused', { code: 'agent-auth-refused', cause: error });
  }
  if (error instanceof InvalidOperatorRequestError) {
    const errors = error.issues.map((i) => ({ path: `body.${i.field}`, message: i.message }));
    const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return new HttpProblem(400, detail, { code: 'invalid-request', errors, cause: error });
  }
  if (error instanceof UnknownWindowError) return new HttpProblem(404, error.message, { code: 'unknown-window' });
  if (error instanceof ConfiguredWindowError) return new HttpProblem(409, error.message, { code: 'configured-window' });
  if (error instanceof ClosedWindowError) return new HttpProblem(409, error.message, { code: 'window-closed' });
  if (error instanceof InvalidSubscriptionError) {
    const errors = error.problems.map((p) => {
      const i = p.indexOf(': ');
      return i === -1 ? { path: 'body', message: p } : { path: `body.${p.slice(0, i)}`, message: p.slice(i + 2) };
    });
    return new HttpProblem(400, error.problems.join('; '), { code: 'invalid-request', errors, cause: error });
  }
  if (error instanceof FailoverError && error.code === 'SECRET_UNAVAILABLE') {
    return unavailable('a secret this request needs cannot be read now', error);
  }
  if (error instanceof ContentionError || error instanceof TransientError) {
    return unavailable('the service is busy or briefly unavailable; try again shortly', error);
  }
  const status = error instanceof FailoverError ? STATUS_OF_CODE[error.code] : undefined;
  if (error instanceof FailoverError && status !== undefined) {
    return new HttpProblem(status, error.message, { code: error.code.toLowerCase().replace(/_/g, '-'), cause: error });
  }
  return internalProblem(error);
}
