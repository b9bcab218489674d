import type { Command } from 'commander';

/**
 * The agent's commands, `run` (the default) and `keygen`, under `parent`: `failover agent` in the CLI and the
 * program itself in the single-file bundle (`failover-agent`, built by `npm run build:agent`).
 */
export function addAgentCommands(parent: Command): Command {
  parent
    .command('run', { isDefault: true })
    .description('Run the agent until SIGINT/SIGTERM (the default command: `--config agent.yaml` alone runs it).')
    .requiredOption('-c, --config <file>', 'the agent configuration (agent.yaml)')
    .option('--json-logs', 'print JSON lines instead of readable log lines')
    .option('--debug', 'also log every observation round and autonomy test')
    .action(async (opts: { config: string; jsonLogs?: boolean; debug?: boolean }) => {
      const { agentRunCommand } = await import('./commands/agent.ts');
      process.exitCode = await agentRunCommand(opts);
    });
  parent
    .command('keygen')
    .description("Print a new Ed25519 key pair: the public key for sites.yaml, the private key for the agent's box.")
    .option('--out <file>', 'write the private key (PEM) to this file, mode 0600 (a missing folder is made, mode 0700)')
    .option('--force', 'replace the --out file if it exists')
    .option('--json', 'print one JSON object')
    .action(async (opts: { out?: string; force?: boolean; json?: boolean }) => {
      const { agentKeygenCommand } = await import('./commands/agent.ts');
      process.exitCode = await agentKeygenCommand(opts);
    });
  return parent;
}
