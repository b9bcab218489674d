import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AgentLogger, LogLevel } from '../../shared/agent/log.ts';
import { generateAgentKeys } from '../../shared/contracts/agent-signing.ts';
import type { FakeControlPlane } from './fake-control-plane.ts';

/** Where an agent connects and the key its commands are signed with: a fake control plane or a real runtime. */
export type ControlPlaneAddress = Pick<FakeControlPlane, 'wsUrl' | 'publicKey'>;

/** A site agent's files in a scratch directory: its key, its state directory, a switch script and its record. */
export interface AgentFixture {
  readonly dir: string;
  readonly keyFile: string;
  /** The agent's public key, for the fake control plane's `sites`. */
  readonly publicKey: string;
  readonly stateDir: string;
  /** Every run of the switch script appends `<link> <fromLink> <commandId>` here. */
  readonly recordFile: string;
  /** The switch script: prints a line, records its arguments, exits with $SWITCH_EXIT (default 0). */
  readonly switchScript: string;
  /** Writes an executable script into the fixture's directory; returns its path. */
  script(name: string, body: string): Promise<string>;
  /** Lines the switch script recorded so far. */
  records(): Promise<string[]>;
  /** Writes agent.yaml for `cp` with `overrides` merged in (objects deeply, other values replaced); returns its path. */
  writeConfig(cp: ControlPlaneAddress, overrides?: Record<string, unknown>): Promise<string>;
  /** The YAML text of that configuration. */
  configText(cp: ControlPlaneAddress, overrides?: Record<string, unknown>): string;
}

/** A fresh fixture under `base`. */
export async function agentFixture(base: string): Promise<AgentFixture> {
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'agent-'));
  const keys = generateAgentKeys();
  const keyFile = join(dir, 'agent.key');
  await writeFile(keyFile, keys.privateKeyPem, { mode: 0o600 });
  const stateDir = join(dir, 'state');
  const recordFile = join(dir, 'switches.log');
  const script = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };
  const switchScript = await script(
    'switch-wan',
    'echo "switching to $1 from $2"\necho "$1 $2 $FAILOVER_COMMAND_ID" >> "$3"\nexit "${SWITCH_EXIT:-0}"',
  );
  const configText = (cp: ControlPlaneAddress, overrides: Record<string, unknown> = {}) =>
    stringify(
      merge(
        {
          version: 1,
          site: 'hq',
          controlPlane: {
            url: cp.wsUrl,
            publicKey: cp.publicKey,
            transport: 'websocket',
            pollIntervalSeconds: 0.2,
            heartbeatSeconds: 0.5,
            reconnect: { minSeconds: 0.05, maxSeconds: 0.4 },
          },
          privateKeyFile: keyFile,
          stateDir,
          links: [
            { id: 'fiber', sourceAddress: '127.0.0.1' },
            { id: 'lte', sourceAddress: '127.0.0.2' },
          ],
          actions: {
            'switch-wan': { command: switchScript, args: ['{link}', '{fromLink}', recordFile], timeoutSeconds: 5 },
            'restore-wan': { command: switchScript, args: ['{link}', '{fromLink}', recordFile], timeoutSeconds: 5 },
          },
        },
        overrides,
      ),
    );
  return {
    dir,
    keyFile,
    publicKey: keys.publicKey,
    stateDir,
    recordFile,
    switchScript,
    script,
    configText,
    async records() {
      try {
        return (await readFile(recordFile, 'utf8')).split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    async writeConfig(cp, overrides = {}) {
      const file = join(dir, 'agent.yaml');
      await writeFile(file, configText(cp, overrides));
      return file;
    },
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

function merge(base: Json, overrides: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const current = out[k];
    out[k] = isObject(current) && isObject(v) ? merge(current, v) : v;
  }
  return out;
}

/** An agent logger that keeps every entry; `FAILOVER_TEST_LOGS=1` also prints them. */
export function testLogger(): AgentLogger & {
  readonly entries: { level: LogLevel; event: string; message: string; fields: Record<string, unknown> }[];
  events(event: string): { message: string; fields: Record<string, unknown> }[];
} {
  const entries: { level: LogLevel; event: string; message: string; fields: Record<string, unknown> }[] = [];
  return {
    entries,
    log(level, event, message, fields = {}) {
      entries.push({ level, event, message, fields });
      if (process.env.FAILOVER_TEST_LOGS) console.log(`${level} ${event}: ${message}`);
    },
    events: (event) => entries.filter((e) => e.event === event),
  };
}
