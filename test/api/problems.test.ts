import { describe, expect, it } from 'vitest';
import { toProblem, RETRY_AFTER_SECONDS } from '../../functions/shared/problems.ts';
import { HttpProblem } from '../../shared/api/problem.ts';
import { FailoverError } from '../../shared/errors.ts';
import { BadCursorError, StoreUnavailableError } from '../../shared/ports/state-store.ts';
import { UnknownSiteError } from '../../shared/usecases/decide-site.ts';
import { HookReplayError, InvalidSubscriptionError } from '../../shared/usecases/webhooks/errors.ts';

describe('toProblem, the one error mapping', () => {
  it.each<[string, unknown, number, string]>([
    ['a throttled store', new StoreUnavailableError('slow down'), 503, 'unavailable'],
    ['an unreadable secret', new FailoverError('SECRET_UNAVAILABLE', 'no secret'), 503, 'unavailable'],
    ['an unknown site', new UnknownSiteError('nowhere'), 404, 'unknown-site'],
    ['a bad cursor', new BadCursorError('malformed cursor'), 400, 'bad-cursor'],
    ['a replayed hook', new HookReplayError('jira', 'm1'), 409, 'hook-replayed'],
    ['an invalid subscription', new InvalidSubscriptionError(['url: not https']), 400, 'invalid-request'],
    ['anything else', new Error('boom'), 500, 'internal-error'],
  ])('%s', (_what, error, status, code) => {
    const problem = toProblem(error);
    expect(problem).toMatchObject({ status, problemCode: code });
    expect(problem.headers['retry-after']).toBe(status === 503 ? String(RETRY_AFTER_SECONDS) : undefined);
  });

  it('keeps an HttpProblem as it is', () => {
    const problem = new HttpProblem(418, 'short and stout');
    expect(toProblem(problem)).toBe(problem);
  });
});
