import { Command } from 'commander';
import { addAgentCommands } from './agent-commands.ts';
import { runProgram } from './run-program.ts';
import { packageVersion } from './version.ts';

// The entry of the single-file agent (dist/failover-agent.mjs): `failover agent` without the rest of the CLI.
const program = new Command('failover-agent')
  .description(
    "The failover site agent: runs the control plane's WAN switch commands and the site's inside-out checks.",
  )
  .version(packageVersion() ?? 'unknown', '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
addAgentCommands(program);
await runProgram(program);
