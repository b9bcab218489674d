import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { MAX_QUEUED_OBSERVATIONS, Outbox } from '../../shared/agent/outbox.ts';
import type { AgentMessage } from '../../shared/contracts/agent.ts';

async function dir(): Promise<string> {
  const base = join(inject('scratchDir'), 'outbox');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, 'state-'));
}

const ack = (id: string): AgentMessage => ({
  v: 1,
  type: 'ack',
  ack: { commandId: id, site: 'hq', status: 'succeeded', exitCode: 0, finishedAt: '2026-05-01T12:00:00.000Z' },
});
const observations = (roundId: string): AgentMessage => ({
  v: 1,
  type: 'observations',
  batches: [
    { v: 1, site: 'hq', vantage: 'site:hq/fiber', roundId, startedAt: roundId, control: null, observations: [] },
  ],
});

describe('agent outbox', () => {
  it('keeps messages in order across a reopen and removes only what was delivered', async () => {
    const d = await dir();
    const outbox = await Outbox.open(d);
    await outbox.push(ack('a'));
    await outbox.push(observations('2026-05-01T12:00:00.000Z'));
    await outbox.push(ack('b'));
    await outbox.remove(outbox.peek(1));
    const reopened = await Outbox.open(d);
    expect(reopened.peek(10).map((e) => e.message.type)).toEqual(['observations', 'ack']);
    await reopened.push(ack('c'));
    expect(reopened.peek(10).map((e) => (e.message.type === 'ack' ? e.message.ack.commandId : 'obs'))).toEqual([
      'obs',
      'b',
      'c',
    ]);
  });

  it('drops the oldest observations when full, never acks', async () => {
    const outbox = await Outbox.open(await dir());
    await outbox.push(ack('first'));
    let dropped = 0;
    for (let i = 0; i < MAX_QUEUED_OBSERVATIONS + 5; i++)
      dropped += await outbox.push(observations(new Date(Date.UTC(2026, 4, 1, 0, i)).toISOString()));
    expect(dropped).toBe(5);
    expect(outbox.size).toBe(MAX_QUEUED_OBSERVATIONS + 1);
    const [head, oldest] = outbox.peek(2);
    expect(head!.message.type).toBe('ack');
    expect(oldest!.message.type === 'observations' && oldest!.message.batches[0]!.roundId).toBe(
      '2026-05-01T00:05:00.000Z',
    );
  });
});
