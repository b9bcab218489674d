import { startAgent } from '../../shared/agent/agent.ts';
import { loadAgentConfig } from '../../shared/agent/config.ts';
import { writePrivateKeyFile } from '../../shared/agent/keys.ts';
import { createLogger } from '../../shared/agent/log.ts';
import { generateAgentKeys } from '../../shared/contracts/agent-signing.ts';
import { paint } from '../output.ts';
import { packageVersion } from '../version.ts';

export interface AgentRunOptions {
  readonly config: string;
  readonly jsonLogs?: boolean;
  readonly debug?: boolean;
}

/** `failover agent [run] --config agent.yaml`: runs the site agent until SIGINT or SIGTERM, then exits 0. */
export async function agentRunCommand(opts: AgentRunOptions): Promise<number> {
  const config = await loadAgentConfig(opts.config);
  const log = createLogger({ json: opts.jsonLogs ?? false, debug: opts.debug ?? false });
  const agent = await startAgent(config, { log, version: packageVersion() });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.log('info', 'signal', `${signal}: stopping`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
  await agent.stop();
  return 0;
}

export interface KeygenOptions {
  readonly out?: string;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** `failover agent keygen`: a new Ed25519 key pair; the public key for sites.yaml, the private key to a 0600 file. */
export async function agentKeygenCommand(opts: KeygenOptions): Promise<number> {
  const { publicKey, privateKeyPem } = generateAgentKeys();
  if (opts.out) await writePrivateKeyFile(opts.out, privateKeyPem, opts.force ?? false);
  if (opts.json) {
    console.log(JSON.stringify({ publicKey, ...(opts.out ? { privateKeyFile: opts.out } : { privateKeyPem }) }));
    return 0;
  }
  console.log(publicKey);
  const hint = (text: string) => console.error(paint('dim', text, process.stderr));
  hint("^ the public key: put it in sites.yaml as the site's agent.publicKey");
  if (opts.out) {
    hint(`private key written to ${opts.out} (mode 0600): point agent.yaml's privateKeyFile at it`);
  } else {
    console.log(privateKeyPem.trimEnd());
    hint(
      "^ the private key: save it on the site's edge box as the file agent.yaml's privateKeyFile names, readable by the agent only (chmod 600), or run again with --out FILE",
    );
  }
  return 0;
}
