import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.ts';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** Every `` `failover WORD [WORD]` `` and `node bin/failover.js WORD [WORD]` the README names, as its words. */
function namedCommands(): string[][] {
  const found = new Set<string>();
  for (const m of README.matchAll(/(?:node bin\/failover\.js|`failover)((?: [a-z][a-z-]*(?:\\?\|[a-z]+)*){1,2})/g)) {
    const words = m[1]!.trim().split(' ');
    // `demo break|heal` names two commands; a second word that is an argument (a fault, a file) is not one.
    for (const second of words[1] ? words[1].split(/\\?\|/) : [undefined])
      found.add([words[0]!, ...(second ? [second] : [])].join(' '));
  }
  return [...found].sort().map((c) => c.split(' '));
}

describe('the README', () => {
  it('names only commands that exist, in the form that runs on a fresh clone', async () => {
    const commands = namedCommands();
    expect(commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['check', 'local', 'demo break', 'agent']));
    expect(README).not.toMatch(/npx failover [a-z]/);
    const help = new Map<string, string>();
    const helpOf = async (path: string[]) => {
      const key = path.join(' ');
      if (!help.has(key)) help.set(key, (await runCli([...path, '--help'])).stdout);
      return help.get(key)!;
    };
    const top = await helpOf([]);
    for (const [first, second] of commands) {
      expect(top, `failover ${first}`).toMatch(new RegExp(`^  ${first}\\b`, 'm'));
      if (!second) continue;
      const sub = await helpOf([first!]);
      // Either a subcommand of it, or an argument of a command without subcommands (`failover check TARGET`).
      if (/^Commands:/m.test(sub))
        expect(sub, `failover ${first} ${second}`).toMatch(new RegExp(`^  ${second}\\b`, 'm'));
    }
  });
});
