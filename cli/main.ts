import { Command, InvalidArgumentError, Option } from 'commander';
import { addAgentCommands } from './agent-commands.ts';
import { runProgram } from './run-program.ts';
import { packageVersion } from './version.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('expected a percentage (0-100)');
  return n;
}

const program = new Command('failover')
  .description('Failover-first monitoring: multi-region probes, quorum decisions, DNS and WAN failover.')
  .version(packageVersion() ?? 'unknown', '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('check')
  .description('Run one probe now, like curl for health. Exit 0 when up, 1 when down or degraded, 2 on a bad argument.')
  .argument(
    '<target>',
    'http(s)://..., tcp://host:port, tls://host[:port], dns://server[:port]/name?type=A&expect=..., sip:host[:port];transport=udp|tcp|tls, voip://host:port',
  )
  .option('--json', 'print one JSON object')
  .option('--timeout <ms>', 'deadline of the probe in milliseconds', positiveInt, 5000)
  .option('--ca-file <file>', "PEM file of extra CA certificates to trust besides the system's (https, tls, sips)")
  .action(async (target: string, opts: { json?: boolean; timeout: number; caFile?: string }) => {
    const { checkCommand } = await import('./commands/check.ts');
    process.exitCode = await checkCommand(target, opts);
  });

program
  .command('validate')
  .description('Validate a sites.yaml: every problem with its path and line:column. Exit 0 when valid, 1 otherwise.')
  .argument('<file>', 'the configuration file')
  .action(async (file: string) => {
    const { validateCommand } = await import('./commands/validate.ts');
    process.exitCode = await validateCommand(file);
  });

program
  .command('schema')
  .description("Print the JSON Schema of sites.yaml (for editors' YAML support).")
  .action(async () => {
    const { schemaCommand } = await import('./commands/schema.ts');
    schemaCommand();
  });

program
  .command('probe')
  .description('Run one round of every check in a configuration and show the results. Exit 1 when any is not up.')
  .requiredOption('-c, --config <file>', 'the configuration file')
  .option('--region <name>', 'label the vantage as this probe region', 'local')
  .option('--json', 'print JSON lines: one observation per line, then the round summary')
  .action(async (opts: { config: string; region: string; json?: boolean }) => {
    const { probeCommand } = await import('./commands/probe.ts');
    process.exitCode = await probeCommand(opts);
  });

program
  .command('echo-responder')
  .description('Answer the voip probe: echo UDP datagrams back to their sender.')
  .option('--port <n>', 'UDP port', port, 7100)
  .option('--host <address>', 'address to listen on', '0.0.0.0')
  .addOption(new Option('--loss <pct>', 'drop this share of datagrams (testing)').argParser(percent).default(0))
  .addOption(new Option('--delay <ms>', 'delay each echo (testing)').argParser(port).default(0))
  .action(async (opts: { port: number; host: string; loss: number; delay: number }) => {
    const { echoResponderCommand } = await import('./commands/echo-responder.ts');
    await echoResponderCommand(opts);
  });

program
  .command('local')
  .description(
    'Run the system on this machine: probe workers for every configured region, the decider, the dispatcher, an embedded DNS server, the HTTP API and the agent endpoint, on loopback; with demo targets, a demo agent and fault switches (`failover demo`).',
  )
  .requiredOption('-c, --config <file>', 'the configuration file')
  .option('--dns-port <n>', 'port of the embedded DNS server (UDP and TCP; 0 picks a free one)', port, 5353)
  .option('--api-port <n>', 'port of the HTTP API and the agent endpoint (0 picks a free one)', port, 8080)
  .option('--data-dir <dir>', 'keep the state on disk here, so that it survives a restart (default: in memory)')
  .option('--alerts <file>', 'JSONL file of every alert (default: <data-dir or .failover>/alerts.jsonl)')
  .option('--rounds <n>', 'stop after this many rounds per region (default: run until interrupted)', positiveInt)
  .option('--json-logs', 'print JSON lines instead of the live view')
  .action(
    async (opts: {
      config: string;
      dnsPort: number;
      apiPort: number;
      dataDir?: string;
      alerts?: string;
      rounds?: number;
      jsonLogs?: boolean;
    }) => {
      const { localCommand } = await import('./commands/local.ts');
      process.exitCode = await localCommand(opts);
    },
  );

program
  .command('simulate')
  .description(
    'Replay a scenario on a virtual clock through the decision engine and a local DynamoDB. Exit 0 when every expectation is met, 1 when one is not, 2 for a bad scenario.',
  )
  .argument('<scenario>', 'the scenario file (see docs/scenarios.md)')
  .option('--json', 'print one JSON object')
  .action(async (file: string, opts: { json?: boolean }) => {
    const { simulateCommand } = await import('./commands/simulate.ts');
    process.exitCode = await simulateCommand(file, opts);
  });

addAgentCommands(
  program
    .command('agent')
    .description("The on-site agent: runs the control plane's WAN switch commands and the site's inside-out checks."),
);

const apiKey = program
  .command('api-key')
  .description('API keys of the HTTP API: create (the key is printed once), list, revoke.');
const keyTarget = (command: Command) =>
  command
    .option('--data-dir <dir>', "the local runtime's data directory (keys in <dir>/api-keys)")
    .option('--table <name>', 'the deployed state table (keys hashed with the pepper in Secrets Manager)')
    .option('--region <region>', 'AWS region of --table (default: the SDK default)')
    .option('--pepper-secret <id>', 'Secrets Manager secret of the pepper (default failover/api-key-pepper)');
keyTarget(
  apiKey
    .command('create')
    .description('Create a key and print it once (stdout); only its keyed hash is stored.')
    .requiredOption('--name <name>', 'who holds it; operator commands record it as "by"')
    .addOption(
      new Option('--scope <scope>', 'read: GET routes only; write: everything')
        .choices(['read', 'write'])
        .makeOptionMandatory(),
    )
    .option('--json', 'print one JSON object (with the key)'),
).action(
  async (opts: {
    name: string;
    scope: 'read' | 'write';
    json?: boolean;
    dataDir?: string;
    table?: string;
    region?: string;
    pepperSecret?: string;
  }) => {
    const { apiKeyCreateCommand } = await import('./commands/api-key.ts');
    process.exitCode = await apiKeyCreateCommand(opts);
  },
);
keyTarget(
  apiKey.command('list').description('List keys (never their secrets).').option('--json', 'print JSON lines'),
).action(async (opts: { json?: boolean; dataDir?: string; table?: string; region?: string }) => {
  const { apiKeyListCommand } = await import('./commands/api-key.ts');
  process.exitCode = await apiKeyListCommand(opts);
});
keyTarget(
  apiKey.command('revoke').description('Revoke a key for good.').argument('<id>', 'the key id (fo_<id>_...)'),
).action(async (id: string, opts: { dataDir?: string; table?: string; region?: string }) => {
  const { apiKeyRevokeCommand } = await import('./commands/api-key.ts');
  process.exitCode = await apiKeyRevokeCommand(id, opts);
});

const brake = program
  .command('brake')
  .description("The mass-failover brake through the HTTP API: its state, and an operator's release.");
const brakeTarget = (command: Command) =>
  command
    .option('--api <url>', "the API's base URL (the stack's ApiUrl output)", 'http://127.0.0.1:8080')
    .option('--key-file <file>', 'a file holding the API key (default: the FAILOVER_API_KEY environment variable)')
    .option('--json', "print the API's JSON answer");
type BrakeOpts = { api: string; keyFile?: string; json?: boolean };
brakeTarget(
  brake.command('status').description('The window, the engagement in force and the latest release. Exit 0.'),
).action(async (opts: BrakeOpts) => {
  const { brakeStatusCommand } = await import('./commands/brake.ts');
  process.exitCode = await brakeStatusCommand(opts);
});
brakeTarget(
  brake
    .command('release')
    .description(
      'Release the engagement in force (a write key): every automatic failover goes ahead for one window. Exit 0 when released, 1 when nothing was engaged.',
    )
    .requiredOption('--reason <text>', 'why: recorded with your key name and sent in the alert'),
).action(async (opts: BrakeOpts & { reason: string }) => {
  const { brakeReleaseCommand } = await import('./commands/brake.ts');
  process.exitCode = await brakeReleaseCommand(opts);
});

const demo = program
  .command('demo')
  .description(
    'Break and heal the demo of a running `failover local` (npm start) through its API: demo targets, probe regions, voice loss.',
  );
const demoTarget = (command: Command) =>
  command
    .option('--api-port <n>', "the runtime's --api-port", port, 8080)
    .option('--data-dir <dir>', "the runtime's --data-dir, holding demo-api-key", '.failover')
    .option('--json', "print the API's JSON answer");
type DemoOpts = { apiPort: number; dataDir: string; json?: boolean };
demoTarget(
  demo
    .command('break')
    .description('Inject a fault: a demo target (primary, backup, ...), region:NAME (cut off), voip-loss:PCT.')
    .argument('<fault>', 'primary | backup | <demo target id> | region:NAME | voip-loss:PCT'),
).action(async (fault: string, opts: DemoOpts) => {
  const { demoBreakCommand } = await import('./commands/demo.ts');
  process.exitCode = await demoBreakCommand(fault, opts);
});
demoTarget(
  demo
    .command('heal')
    .description('Heal a fault injected with `demo break`, or every one with `all`.')
    .argument('<fault>', 'a fault as given to `demo break` (voip-loss alone heals any loss), or all'),
).action(async (fault: string, opts: DemoOpts) => {
  const { demoHealCommand } = await import('./commands/demo.ts');
  process.exitCode = await demoHealCommand(fault, opts);
});
demoTarget(demo.command('status').description('List the faults in force and the ones that can be injected.')).action(
  async (opts: DemoOpts) => {
    const { demoStatusCommand } = await import('./commands/demo.ts');
    process.exitCode = await demoStatusCommand(opts);
  },
);

program
  .command('cost')
  .description(
    'Print the monthly AWS cost of a configuration, line by line, with every assumption and unit price, and what the same checks would cost as Route 53 health checks or Synthetics canaries.',
  )
  .requiredOption('-c, --config <file>', 'the configuration file')
  .option('--measure', 'time the real probe rounds of the configuration from this machine instead of assuming')
  .option('--json', 'print one JSON object')
  .action(async (opts: { config: string; measure?: boolean; json?: boolean }) => {
    const { costCommand } = await import('./commands/cost.ts');
    process.exitCode = await costCommand(opts);
  });

await runProgram(program);
