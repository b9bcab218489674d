import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConsoleNotifier } from '../../shared/adapters/local/console-notifier.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime.ts';
import { demoConfigOnFreePorts } from '../support/demo-config.ts';

/** Reads server-sent events from `res` until `enough` says so; the events, parsed. */
async function readUntil(
  res: Response,
  enough: (events: { event: string; data: Record<string, unknown> }[]) => boolean,
): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const event = block.find((l) => l.startsWith('event: '))?.slice(7);
      const data = block.find((l) => l.startsWith('data: '))?.slice(6);
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
  await reader.cancel();
  return events;
}

describe('GET /v1/events (the local runtime tells the dashboard what changed)', () => {
  let runtime: LocalRuntime;
  let url: string;
  let key: string;

  beforeAll(async () => {
    const { config } = await demoConfigOnFreePorts({ latencyBudgetMs: 2000 });
    const stamp = `${process.pid}-${Date.now()}`;
    runtime = await startLocalRuntime({
      config,
      clock: systemClock,
      onRound: () => undefined,
      onError: () => undefined,
      control: {
        dnsPort: 0,
        apiPort: 0,
        secretsDir: join(inject('scratchDir'), `events-secrets-${stamp}`),
        notifier: new ConsoleNotifier({
          jsonlPath: join(inject('scratchDir'), `events-${stamp}.jsonl`),
          out: () => undefined,
        }),
        onTransition: () => undefined,
        onDispatch: () => undefined,
      },
    });
    url = `${runtime.control!.api.url}/v1/events`;
    key = runtime.demoApiKey!.key;
  });
  afterAll(() => runtime?.stop());

  it('refuses a request without a valid key with a problem, as every read route does', async () => {
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    const wrong = await fetch(url, { headers: { authorization: 'Bearer fo_0000000000000000_00' } });
    expect(wrong.status).toBe(401);
    expect(runtime.events.listeners).toBe(0);
  });

  it('streams a state event per decision that wrote the site, and lets go of a client that leaves', async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const events = await readUntil(res, (e) => e.length >= 2);
    expect(events.slice(0, 2).map((e) => [e.event, e.data.site])).toEqual([
      ['state', 'demo'],
      ['state', 'demo'],
    ]);
    await expect.poll(() => runtime.events.listeners, { timeout: 10_000 }).toBe(0);
  }, 60_000);

  it('streams the transition of a break with its kind, mode and link', async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    const broken = await fetch(`${runtime.control!.api.url}/v1/demo/faults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fault: 'primary' }),
    });
    expect(broken.status).toBe(200);
    const events = await readUntil(res, (e) => e.some((x) => x.event === 'transition'));
    expect(events.find((e) => e.event === 'transition')?.data).toMatchObject({
      type: 'transition',
      site: 'demo',
      kind: 'failover',
      to: 'BACKUP_ACTIVE',
      toLink: 'lte',
    });
  }, 60_000);
});
