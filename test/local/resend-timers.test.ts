import { describe, expect, it } from 'vitest';
import { ResendTimers } from '../../local/resend-timers.ts';

describe('ResendTimers (the local clock of agent command resends)', () => {
  it('keeps the earliest time per site, fires once, and lets a later time be set afterwards', async () => {
    const fired: { site: string; at: number }[] = [];
    let notify: () => void = () => undefined;
    const timers = new ResendTimers({
      resend: async (site) => {
        fired.push({ site, at: Date.now() });
        notify();
      },
      now: () => Date.now(),
      onError: (error) => {
        throw error;
      },
    });
    const firedOnce = new Promise<void>((resolve) => (notify = resolve));
    const start = Date.now();
    timers.at('hq', start + 60_000);
    timers.at('hq', start + 50); // earlier: replaces the first
    timers.at('hq', start + 30_000); // later: ignored while the earlier one is set
    await firedOnce;
    expect(fired).toHaveLength(1);
    expect(fired[0]!.site).toBe('hq');
    expect(fired[0]!.at).toBeGreaterThanOrEqual(start + 50);
    const again = new Promise<void>((resolve) => (notify = resolve));
    timers.at('hq', Date.now() + 10);
    await again;
    expect(fired).toHaveLength(2);
    await timers.close();
  });

  it('reports a failed resend and sets nothing after close', async () => {
    const errors: unknown[] = [];
    let notify: () => void = () => undefined;
    const reported = new Promise<void>((resolve) => (notify = resolve));
    const timers = new ResendTimers({
      resend: async () => {
        throw new Error('store down');
      },
      now: () => Date.now(),
      onError: (error) => {
        errors.push(error);
        notify();
      },
    });
    timers.at('hq', Date.now());
    await reported;
    expect(String(errors[0])).toContain('store down');
    await timers.close();
    let ran = false;
    const closed = new ResendTimers({
      resend: async () => void (ran = true),
      now: () => Date.now(),
      onError: () => {},
    });
    await closed.close();
    closed.at('hq', Date.now());
    expect(ran).toBe(false);
  });
});
