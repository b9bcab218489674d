import { generateKeyPairSync } from 'node:crypto';
import { nonce, signCommand } from '../../shared/contracts/agent-signing.ts';
import type { AgentCommandAction } from '../../shared/domain/model.ts';
import type { NewCommand } from '../../shared/ports/command-store.ts';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

const key = generateKeyPairSync('ed25519').privateKey;

/** An agent-command action as the decider makes it. */
export function testAction(site: string, seq: number, overrides: Partial<AgentCommandAction> = {}): AgentCommandAction {
  return {
    kind: 'agent-command',
    id: `${site}:${seq}:1`,
    site,
    seq,
    at: T0,
    command: 'switch-wan',
    link: 'lte',
    expiresAt: T0 + 300_000,
    ...overrides,
  };
}

/** A new command for the store, signed with a throwaway key. */
export function newCommand(site: string, seq: number, overrides: Partial<AgentCommandAction> = {}): NewCommand {
  const action = testAction(site, seq, overrides);
  const command = signCommand(
    {
      id: action.id,
      site,
      action: action.command,
      args: { link: action.link },
      issuedAt: new Date(action.at).toISOString(),
      expiresAt: new Date(action.expiresAt).toISOString(),
      nonce: nonce(),
    },
    key,
  );
  return { site, id: action.id, action, command, createdAt: action.at };
}
