import { createPublicKey } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startAgent, type RunningAgent } from '../shared/agent/agent.ts';
import { parseAgentConfig } from '../shared/agent/config.ts';
import type { AgentLogger } from '../shared/agent/log.ts';
import { privateKeyFromPem, rawPublicKey } from '../shared/contracts/agent-signing.ts';
import type { FailoverConfig, SiteConfig } from '../shared/config/model.ts';
import { FailoverError } from '../shared/errors.ts';
import { packageRoot } from '../shared/package-root.ts';

/** The demo agent's key pair, published in the repository: demo only (see the file's header). */
export const DEMO_AGENT_KEY_FILE = join(packageRoot(), 'examples/demo-agent.key');
/** The demo agent's "WAN switch": appends `switched to <link> ...` to a log file and prints it. */
export const DEMO_SWITCH_SCRIPT = join(packageRoot(), 'examples/demo-switch.sh');
/** The demo switch script's log, in the secrets directory. */
export const DEMO_SWITCH_LOG = 'demo-switches.log';

/** The demo agent could not be set up (its key, its configuration). */
export class DemoAgentError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEMO_AGENT', message, options);
    this.name = 'DemoAgentError';
  }
}

/** The demo key pair's public half (base64 of the 32 raw bytes), as sites.yaml names it. */
export async function demoAgentPublicKey(): Promise<string> {
  return rawPublicKey(createPublicKey(privateKeyFromPem(await demoAgentKeyPem())));
}

async function demoAgentKeyPem(): Promise<string> {
  try {
    return await readFile(DEMO_AGENT_KEY_FILE, 'utf8');
  } catch (error) {
    throw new DemoAgentError(`cannot read the demo agent's key ${DEMO_AGENT_KEY_FILE}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The sites of a configuration with demo targets whose agent key is the demo key: they get a demo agent. */
export async function demoAgentSites(config: FailoverConfig): Promise<SiteConfig[]> {
  if (config.local.demoTargets.length === 0) return [];
  const key = await demoAgentPublicKey();
  return config.sites.filter((s) => s.agent?.publicKey === key);
}

export interface DemoAgentOptions {
  readonly site: SiteConfig;
  /** The local API's base URL (`http://127.0.0.1:<port>`); the agent connects to its `/v1/agent/ws`. */
  readonly apiUrl: string;
  /** The control plane's command signing key (public, base64). */
  readonly controlPlaneKey: string;
  /** The key copy (mode 0600) and the switch log go here. */
  readonly secretsDir: string;
  /** The agent's state: seen command ids, queued acks, the active link. */
  readonly stateDir: string;
  readonly log: AgentLogger;
}

/** A running demo agent and the file its switch script appends to. */
export interface DemoAgent extends RunningAgent {
  readonly site: string;
  readonly switchLog: string;
}

/**
 * Starts the real site agent (shared/agent) in this process for a demo site: the demo key (copied into the secrets
 * directory with mode 0600, since git keeps no file modes), a WebSocket to the local API, and switch-wan and
 * restore-wan actions that run examples/demo-switch.sh, which changes nothing but its log.
 */
export async function startDemoAgent(options: DemoAgentOptions): Promise<DemoAgent> {
  const { site } = options;
  const keyFile = join(options.secretsDir, 'demo-agent.key');
  const switchLog = join(options.secretsDir, DEMO_SWITCH_LOG);
  await mkdir(options.secretsDir, { recursive: true, mode: 0o700 });
  const handle = await open(keyFile, 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(await demoAgentKeyPem());
  } finally {
    await handle.close();
  }
  const action = { command: DEMO_SWITCH_SCRIPT, args: ['{link}', '{fromLink}', switchLog], timeoutSeconds: 10 };
  const text = stringify({
    version: 1,
    site: site.id,
    controlPlane: {
      url: `${options.apiUrl.replace(/^http/, 'ws')}/v1/agent/ws`,
      publicKey: options.controlPlaneKey,
      transport: 'websocket',
      heartbeatSeconds: 5,
      reconnect: { minSeconds: 0.2, maxSeconds: 2 },
    },
    privateKeyFile: keyFile,
    stateDir: options.stateDir,
    links: site.links.map((l) => ({
      id: l.id,
      ...(l.interface ? { interface: l.interface } : {}),
      sourceAddress: l.sourceAddress ?? '127.0.0.1',
    })),
    actions: { 'switch-wan': action, 'restore-wan': action },
  });
  const { config, diagnostics } = parseAgentConfig(text);
  if (!config)
    throw new DemoAgentError(
      `the demo agent's configuration for site ${site.id} is not valid: ${diagnostics.map((d) => d.message).join('; ')}`,
    );
  const agent = await startAgent(config, { log: options.log, version: 'demo' });
  return { ...agent, site: site.id, switchLog };
}
