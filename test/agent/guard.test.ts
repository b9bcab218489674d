import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { SeenStore, guardCommand, type GuardOptions } from '../../shared/agent/guard.ts';
import { nonce, signCommand } from '../../shared/contracts/agent-signing.ts';
import type { CommandBody } from '../../shared/contracts/agent.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const NOW = Date.parse('2026-05-01T12:00:00Z');

async function stateDir(): Promise<string> {
  const base = join(inject('scratchDir'), 'guard');
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, 'state-'));
}

const body = (fields: Partial<CommandBody> = {}): CommandBody => ({
  id: `cmd-${nonce(4)}`,
  site: 'hq',
  action: 'switch-wan',
  args: { link: 'lte' },
  issuedAt: new Date(NOW - 1000).toISOString(),
  expiresAt: new Date(NOW + 60_000).toISOString(),
  nonce: nonce(),
  ...fields,
});

async function options(dir: string, now = NOW): Promise<GuardOptions> {
  return {
    site: 'hq',
    publicKey,
    actions: new Set(['switch-wan', 'restore-wan']),
    seen: await SeenStore.open(dir, now),
    now,
  };
}

describe('command guard', () => {
  it.each([
    ['a good command', body(), undefined],
    ['issued 20 s ahead (within the clock skew)', body({ issuedAt: new Date(NOW + 20_000).toISOString() }), undefined],
    ['another site', body({ site: 'branch' }), 'wrong-site'],
    ['expired', body({ expiresAt: new Date(NOW - 1).toISOString() }), 'expired'],
    ['issued 31 s ahead', body({ issuedAt: new Date(NOW + 31_000).toISOString() }), 'expired'],
    ['an unknown action', body({ action: 'reboot' }), 'unknown-action'],
  ] as const)('%s', async (_name, b, reason) => {
    const verdict = await guardCommand(signCommand(b, privateKey), await options(await stateDir()));
    if (reason === undefined) expect(verdict).toMatchObject({ ok: true, command: { id: b.id } });
    else expect(verdict).toMatchObject({ ok: false, reason, commandId: b.id });
  });

  it('refuses a bad signature: another key, or a field changed after signing', async () => {
    const o = await options(await stateDir());
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(await guardCommand(signCommand(body(), other), o)).toMatchObject({ ok: false, reason: 'bad-signature' });
    const tampered = { ...signCommand(body(), privateKey), args: { link: 'fiber' } };
    expect(await guardCommand(tampered, o)).toMatchObject({ ok: false, reason: 'bad-signature' });
    // A forged command is not recorded: the real one with the same id still runs.
    const real = body();
    await guardCommand(signCommand(real, other), o);
    expect(await guardCommand(signCommand(real, privateKey), o)).toMatchObject({ ok: true });
  });

  it('refuses malformed commands, keeping the id when there is one', async () => {
    const o = await options(await stateDir());
    expect(await guardCommand({ id: 'x1', site: 'hq' }, o)).toMatchObject({
      ok: false,
      reason: 'malformed',
      commandId: 'x1',
    });
    expect(await guardCommand('switch now', o)).toMatchObject({ ok: false, reason: 'malformed', commandId: undefined });
  });

  it('refuses a replayed nonce, also after the store is reopened; a known id with a fresh nonce is a new issue', async () => {
    const dir = await stateDir();
    const b = body();
    const first = await options(dir);
    expect(await guardCommand(signCommand(b, privateKey), first)).toMatchObject({ ok: true });
    // Sent again before it finished (or by an agent that died while it ran): nothing to answer with but "unknown".
    expect(await guardCommand(signCommand(b, privateKey), first)).toMatchObject({
      ok: false,
      reason: 'replayed',
      repeat: { ack: undefined },
      detail: expect.stringMatching(/whether its action finished is unknown/),
    });
    const sameNonce = signCommand(body({ nonce: b.nonce }), privateKey);
    const reused = await guardCommand(sameNonce, first);
    expect(reused).toMatchObject({ ok: false, reason: 'replayed' });
    expect(reused).not.toHaveProperty('repeat');
    // A control plane that lost its store (a local runtime restarted without --data-dir) re-uses the id.
    const reissued = signCommand(body({ id: b.id }), privateKey);
    expect(await guardCommand(reissued, first)).toMatchObject({ ok: true });

    const reopened = await options(dir);
    expect(await guardCommand(signCommand(b, privateKey), reopened)).toMatchObject({ ok: false, reason: 'replayed' });
    expect(reopened.seen.size).toBe(2);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('answers a resend of a finished command with its ack, kept across a restart (output shortened)', async () => {
    const dir = await stateDir();
    const b = body();
    const o = await options(dir);
    expect(await guardCommand(signCommand(b, privateKey), o)).toMatchObject({ ok: true });
    const ack = {
      commandId: b.id,
      site: 'hq',
      status: 'succeeded' as const,
      exitCode: 0,
      output: `${'x'.repeat(3000)}switched`,
      startedAt: new Date(NOW).toISOString(),
      finishedAt: new Date(NOW + 50).toISOString(),
    };
    await o.seen.complete(b.nonce, ack);
    const kept = { ...ack, output: ack.output.slice(-1024) };
    expect(await guardCommand(signCommand(b, privateKey), o)).toMatchObject({
      ok: false,
      reason: 'replayed',
      commandId: b.id,
      repeat: { ack: kept },
    });
    const reopened = await options(dir);
    expect(await guardCommand(signCommand(b, privateKey), reopened)).toMatchObject({ repeat: { ack: kept } });
    // A forged copy is refused for its signature, before any memory of the real one is used.
    const forged = signCommand(b, generateKeyPairSync('ed25519').privateKey);
    expect(await guardCommand(forged, reopened)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('prunes ids a day after their expiry', async () => {
    const dir = await stateDir();
    const o = await options(dir);
    await guardCommand(signCommand(body(), privateKey), o);
    expect((await SeenStore.open(dir, NOW + 3_600_000)).size).toBe(1);
    expect((await SeenStore.open(dir, NOW + 60_000 + 86_400_001)).size).toBe(0);
  });

  it('moves a corrupt store aside and says so', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, 'seen-commands.json'), '{"v":1,"entr');
    const messages: string[] = [];
    const store = await SeenStore.open(dir, NOW, (m) => messages.push(m));
    expect(store.size).toBe(0);
    expect(messages[0]).toMatch(/seen-commands.json is unreadable .* moved to .*corrupt-/);
    expect((await readdir(dir)).some((f) => f.startsWith('seen-commands.json.corrupt-'))).toBe(true);
    await store.record('a', 'n', NOW + 1000, NOW);
    expect(JSON.parse(await readFile(join(dir, 'seen-commands.json'), 'utf8'))).toEqual({
      v: 1,
      entries: [{ id: 'a', nonce: 'n', expiresAt: NOW + 1000 }],
    });
  });
});
